// Package bench measures the hot paths of tripwire: what a policy costs a
// closed circuit on every finished call.
package bench

import (
	"context"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/window"
)

// start is the clock of every benchmark; each call finishes a microsecond
// after the previous one, so the time windows roll over their buckets as
// they would under load.
var start = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// policies are the built-in policies with realistic arguments.
var policies = []struct {
	name string
	make func() policy.Policy
}{
	{"consecutive", func() policy.Policy { return policy.Consecutive(5) }},
	{"window", func() policy.Policy { return policy.Window(5, time.Minute) }},
	{"rate", func() policy.Policy { return policy.Rate(0.5, 20, time.Minute) }},
	{"lastn", func() policy.Policy { return policy.LastN(0.5, 20, 100) }},
	{"slow", func() policy.Policy { return policy.Slow(time.Second, 0.5, 20, time.Minute) }},
	{"any", func() policy.Policy {
		return policy.Any(policy.Consecutive(5), policy.Rate(0.5, 20, time.Minute))
	}},
	{"all", func() policy.Policy {
		return policy.All(policy.Rate(0.5, 20, time.Minute), policy.Window(50, time.Minute))
	}},
}

var outcomes = []struct {
	name   string
	failed bool
}{{"success", false}, {"failure", true}}

// BenchmarkPolicyRecord is the cost of Record on one goroutine: the price
// of a policy on every call of a closed circuit.
func BenchmarkPolicyRecord(b *testing.B) {
	for _, p := range policies {
		for _, o := range outcomes {
			b.Run("policy="+p.name+"/outcome="+o.name, func(b *testing.B) {
				pol := p.make()
				c := policy.Call{Failed: o.failed, At: start}.WithDuration(time.Millisecond)
				b.ReportAllocs()
				for b.Loop() {
					c.At = c.At.Add(time.Microsecond)
					pol.Record(c)
				}
			})
		}
	}
}

// BenchmarkPolicyReset is the cost of a policy's Reset, which a breaker
// calls each time its circuit closes: a time-window policy takes a new
// window (its B/op is the window's size), so that a closed success needs
// no Record fence (docs/performance.md).
func BenchmarkPolicyReset(b *testing.B) {
	for _, p := range policies {
		b.Run("policy="+p.name, func(b *testing.B) {
			pol := p.make()
			pol.Record(policy.Call{At: start}.WithDuration(time.Millisecond))
			b.ReportAllocs()
			for b.Loop() {
				pol.Reset()
			}
		})
	}
}

// BenchmarkPolicyRecordParallel is the twin of BenchmarkPolicyRecord with
// every core recording into one policy, as concurrent calls through one
// breaker do: it shows contention on the policy's shared words.
func BenchmarkPolicyRecordParallel(b *testing.B) {
	for _, p := range policies {
		for _, o := range outcomes {
			b.Run("policy="+p.name+"/outcome="+o.name, func(b *testing.B) {
				pol := p.make()
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					c := policy.Call{Failed: o.failed, At: start}.WithDuration(time.Millisecond)
					for pb.Next() {
						c.At = c.At.Add(time.Microsecond)
						pol.Record(c)
					}
				})
			})
		}
	}
}

// clockOnly is a policy that asks for the time of each call and does
// nothing with it: through a breaker it costs what the clock read and the
// breaker's path for time-needing policies cost, the floor under every
// time-window policy.
type clockOnly struct{}

func (clockOnly) Record(policy.Call) bool { return false }
func (clockOnly) Reset()                  {}
func (clockOnly) Bind(b *policy.Binding) error {
	b.Need(policy.NeedTime)
	return nil
}

// executed are the policies measured through breaker.Execute: the floors
// (no clock read; one clock read and nothing else) and the time windows.
var executed = []struct {
	name string
	make func() policy.Policy
}{
	{"consecutive", func() policy.Policy { return policy.Consecutive(5) }},
	{"clock-only", func() policy.Policy { return clockOnly{} }},
	{"window", func() policy.Policy { return policy.Window(5, time.Minute) }},
	{"rate", func() policy.Policy { return policy.Rate(0.5, 20, time.Minute) }},
	{"slow", func() policy.Policy { return policy.Slow(time.Second, 0.5, 20, time.Minute) }},
}

func newBreakerWith(b *testing.B, p policy.Policy) *breaker.Breaker[int] {
	br, err := breaker.New(breaker.Config[int]{Policy: p})
	if err != nil {
		b.Fatal(err)
	}
	return br
}

// BenchmarkPolicyExecute is a successful call through Execute on a closed
// circuit with the real clock: what a policy costs a caller, clock read
// included. clock-only is the floor of the time-window policies.
func BenchmarkPolicyExecute(b *testing.B) {
	ctx := context.Background()
	for _, p := range executed {
		b.Run("policy="+p.name, func(b *testing.B) {
			br := newBreakerWith(b, p.make())
			b.ReportAllocs()
			for b.Loop() {
				br.Execute(ctx, ok)
			}
		})
	}
}

// BenchmarkPolicyExecuteParallel is its twin on every core.
func BenchmarkPolicyExecuteParallel(b *testing.B) {
	ctx := context.Background()
	for _, p := range executed {
		b.Run("policy="+p.name, func(b *testing.B) {
			br := newBreakerWith(b, p.make())
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					br.Execute(ctx, ok)
				}
			})
		})
	}
}

// countingClock counts its reads; each one is a microsecond later.
type countingClock struct {
	reads int
}

func (c *countingClock) Now() time.Time {
	c.reads++
	return start.Add(time.Duration(c.reads) * time.Microsecond)
}

// TestClosedSuccessReadsTheClock pins what the benchmarks above rely on: a
// closed success reads the clock once for a policy that needs the time of
// the call, twice for one that also needs its duration, and never for one
// that needs neither.
func TestClosedSuccessReadsTheClock(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     policy.Policy
		reads int
	}{
		{"consecutive", policy.Consecutive(5), 0},
		{"lastn", policy.LastN(0.5, 20, 100), 0},
		{"window", policy.Window(5, time.Minute), 1},
		{"rate", policy.Rate(0.5, 20, time.Minute), 1},
		{"any", policy.Any(policy.Consecutive(5), policy.Rate(0.5, 20, time.Minute)), 1},
		{"slow", policy.Slow(time.Second, 0.5, 20, time.Minute), 2},
	} {
		clock := &countingClock{}
		br, err := breaker.New(breaker.Config[int]{Policy: tc.p, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		const calls = 10
		before := clock.reads
		for range calls {
			if _, err := br.Execute(context.Background(), ok); err != nil {
				t.Fatal(err)
			}
		}
		if got := clock.reads - before; got != calls*tc.reads {
			t.Errorf("policy=%s: %d clock reads for %d calls, want %d each", tc.name, got, calls, tc.reads)
		}
	}
}

// windows are the two windows, recording a mix of outcomes. Each run
// makes a fresh one: a window kept from an earlier run (another -count, or
// the sequential twin before the parallel one) has its head past start,
// and would time every call as a late one, counted into that head.
var windows = []struct {
	name string
	make func() func(now time.Time, failed bool) window.Counts
}{
	{"time", func() func(time.Time, bool) window.Counts {
		w := window.NewTime(time.Minute)
		return func(now time.Time, failed bool) window.Counts {
			w.Record(now, window.Mark(failed, false))
			return w.Sum(now)
		}
	}},
	{"time-recordsum", func() func(time.Time, bool) window.Counts {
		w := window.NewTime(time.Minute)
		return func(now time.Time, failed bool) window.Counts {
			return w.RecordSum(now, window.Mark(failed, false))
		}
	}},
	{"last", func() func(time.Time, bool) window.Counts {
		w := window.NewLast(100)
		return func(_ time.Time, failed bool) window.Counts {
			w.Record(window.Mark(failed, false))
			return w.Sum()
		}
	}},
}

// BenchmarkWindowRecordSum is the cost of recording a call and summing
// the window, which is what a ratio policy does on every call.
func BenchmarkWindowRecordSum(b *testing.B) {
	for _, w := range windows {
		b.Run("window="+w.name, func(b *testing.B) {
			record, now := w.make(), start
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				now = now.Add(time.Microsecond)
				record(now, i%8 == 0)
			}
		})
	}
}

// BenchmarkWindowRecordSumParallel is its twin on every core.
func BenchmarkWindowRecordSumParallel(b *testing.B) {
	for _, w := range windows {
		b.Run("window="+w.name, func(b *testing.B) {
			record := w.make()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				now := start
				for i := 0; pb.Next(); i++ {
					now = now.Add(time.Microsecond)
					record(now, i%8 == 0)
				}
			})
		})
	}
}
