// Package bench measures the hot paths of tripwire: what a policy costs a
// closed circuit on every finished call.
package bench

import (
	"testing"
	"time"

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
				c := policy.Call{Failed: o.failed, At: start, Duration: time.Millisecond}
				b.ReportAllocs()
				for b.Loop() {
					c.At = c.At.Add(time.Microsecond)
					pol.Record(c)
				}
			})
		}
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
					c := policy.Call{Failed: o.failed, At: start, Duration: time.Millisecond}
					for pb.Next() {
						c.At = c.At.Add(time.Microsecond)
						pol.Record(c)
					}
				})
			})
		}
	}
}

// windows are the two windows, recording a mix of outcomes.
var windows = []struct {
	name   string
	record func(now time.Time, failed bool) window.Counts
}{
	{"time", func() func(time.Time, bool) window.Counts {
		w := window.NewTime(time.Minute)
		return func(now time.Time, failed bool) window.Counts {
			w.Record(now, failed, false)
			return w.Sum(now)
		}
	}()},
	{"last", func() func(time.Time, bool) window.Counts {
		w := window.NewLast(100)
		return func(_ time.Time, failed bool) window.Counts {
			w.Record(failed, false)
			return w.Sum()
		}
	}()},
}

// BenchmarkWindowRecordSum is the cost of recording a call and summing
// the window, which is what a ratio policy does on every call.
func BenchmarkWindowRecordSum(b *testing.B) {
	for _, w := range windows {
		b.Run("window="+w.name, func(b *testing.B) {
			now := start
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				now = now.Add(time.Microsecond)
				w.record(now, i%8 == 0)
			}
		})
	}
}

// BenchmarkWindowRecordSumParallel is its twin on every core.
func BenchmarkWindowRecordSumParallel(b *testing.B) {
	for _, w := range windows {
		b.Run("window="+w.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				now := start
				for i := 0; pb.Next(); i++ {
					now = now.Add(time.Microsecond)
					w.record(now, i%8 == 0)
				}
			})
		})
	}
}
