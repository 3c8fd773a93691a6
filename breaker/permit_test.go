package breaker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// Release gives a half-open probe slot back, so that an "is a call let
// through?" check (issue 15's `if _, err := b.Allow(); err == nil`) does
// not hold the circuit half-open.
func TestReleaseFreesProbeSlot(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{OpenTimeout: time.Second, HalfOpenProbes: 1, CountCalls: true})
		b.Execute(context.Background(), fail)
		clk.Add(time.Second)
		for i := range 3 {
			p, err := b.Allow()
			if err != nil {
				t.Fatalf("check %d: %v: the released slot was not freed", i, err)
			}
			p.Release()
		}
		m := b.Metrics()
		if m.State != breaker.HalfOpen || m.ProbesInFlight != 0 || m.ProbesSucceeded != 0 {
			t.Fatalf("after releases: %v, %d in flight, %d succeeded", m.State, m.ProbesInFlight, m.ProbesSucceeded)
		}
		if m.Ignored != 3 || m.Failures != 1 || m.Successes != 0 {
			t.Fatalf("counted %d ignored, %d failures, %d successes; want 3 released permits ignored", m.Ignored, m.Failures, m.Successes)
		}
	})
}

// A second report, Done or Release, on the permit or on a copy, is a
// no-op, in the closed state (the policy would count a call twice) and in
// half-open (a slot would be freed twice).
func TestPermitSecondReportIsNoOp(t *testing.T) {
	reports := map[string]func(breaker.Permit[int]){
		"done-failure": func(p breaker.Permit[int]) { p.Done(0, errDependency) },
		"done-success": func(p breaker.Permit[int]) { p.Done(1, nil) },
		"release":      func(p breaker.Permit[int]) { p.Release() },
	}
	for first, report1 := range reports {
		for second, report2 := range reports {
			t.Run("first="+first+"/then="+second, func(t *testing.T) {
				// Closed: Consecutive(2) trips on a second failure.
				b, _ := newAt(t, epochs.Today, breaker.Config[int]{Policy: policy.Consecutive(2), CountCalls: true})
				p, err := b.Allow()
				if err != nil {
					t.Fatal(err)
				}
				report1(p)
				report2(p)
				q := p
				report2(q)
				if b.State() != breaker.Closed {
					t.Fatal("a second report of one permit counted: the circuit opened")
				}
				if m := b.Metrics(); m.Successes+m.Failures+m.Ignored != 1 {
					t.Fatalf("one permit counted %d times", m.Successes+m.Failures+m.Ignored)
				}

				// Half-open with two slots: a second report must neither
				// free another probe's slot nor count a second success.
				b, clk := newAt(t, epochs.Y2038, breaker.Config[int]{OpenTimeout: time.Second, HalfOpenProbes: 2})
				b.Execute(context.Background(), fail)
				clk.Add(time.Second)
				p1, err1 := b.Allow()
				p2, err2 := b.Allow()
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if first == "done-failure" {
					report1(p1)
					report2(p1)
					if m := b.Metrics(); m.State != breaker.Open || m.Trips != 1 || m.Reopens != 1 {
						t.Fatalf("after a failed probe reported twice: %v, %d trips, %d reopens", m.State, m.Trips, m.Reopens)
					}
					return
				}
				report1(p1)
				report2(p1)
				report2(p1)
				m := b.Metrics()
				if m.ProbesInFlight != 1 {
					t.Fatalf("%d probes in flight after one of two was reported twice, want 1", m.ProbesInFlight)
				}
				p3, err := b.Allow() // the slot p1 freed, once
				if err != nil {
					t.Fatalf("the slot of a reported probe is not free: %v", err)
				}
				if _, err := b.Allow(); err == nil {
					t.Fatal("three probes admitted with two slots")
				}
				p2.Release()
				p3.Release()
			})
		}
	}
}

// A permit's token is reused once it is reported. A stale copy reported
// again must not report the permit that now holds the token.
func TestPermitStaleCopyDoesNotReportSuccessor(t *testing.T) {
	b, _ := newAt(t, epochs.Today, breaker.Config[int]{Policy: policy.Consecutive(2), CountCalls: true})
	for range 100 {
		p, _ := b.Allow()
		p.Done(1, nil)
		next, _ := b.Allow()
		p.Done(0, errDependency) // stale: must not report next
		p.Release()
		next.Done(1, nil)
	}
	if m := b.Metrics(); m.Successes != 200 || m.Failures != 0 || m.Ignored != 0 {
		t.Fatalf("counted %d successes, %d failures, %d ignored; want 200 successes", m.Successes, m.Failures, m.Ignored)
	}
}

// Reports of one permit from many goroutines at once: exactly one counts.
// Run under -race.
func TestPermitConcurrentReports(t *testing.T) {
	b, clk := newAt(t, epochs.Today, breaker.Config[int]{Policy: policy.Consecutive(1000), CountCalls: true, OpenTimeout: time.Second, HalfOpenProbes: 3})
	const permits, reporters = 200, 4
	var wg sync.WaitGroup
	for range permits {
		p, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		for i := range reporters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch i % 3 {
				case 0:
					p.Done(1, nil)
				case 1:
					p.Done(0, errDependency)
				default:
					p.Release()
				}
			}()
		}
	}
	wg.Wait()
	m := b.Metrics()
	if n := m.Successes + m.Failures + m.Ignored; n != permits {
		t.Fatalf("%d permits counted %d times", permits, n)
	}

	// Half-open: racing reports of probes never free more slots than
	// were taken.
	b.Trip()
	clk.Add(time.Second)
	for range 50 {
		var ps []breaker.Permit[int]
		for {
			p, err := b.Allow()
			if err != nil {
				break
			}
			ps = append(ps, p)
		}
		if len(ps) > 3 {
			t.Fatalf("%d probes admitted with 3 slots", len(ps))
		}
		for _, p := range ps {
			for range reporters {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p.Release()
				}()
			}
		}
		wg.Wait()
		if m := b.Metrics(); m.State != breaker.HalfOpen || m.ProbesInFlight != 0 {
			t.Fatalf("after racing releases: %v with %d in flight", m.State, m.ProbesInFlight)
		}
	}
}

func TestZeroPermitReportsNothing(t *testing.T) {
	var p breaker.Permit[int]
	p.Done(0, errDependency)
	p.Release()
}

// Issue 12: the two-step form allocates nothing, closed or half-open.
func TestAllowDoneDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop tokens, which then allocate")
	}
	b, clk := newAt(t, epochs.Today, breaker.Config[int]{Policy: policy.Consecutive(1 << 30), OpenTimeout: time.Second})
	tests := []struct {
		name string
		call func()
	}{
		{"state=closed/outcome=success", func() { p, _ := b.Allow(); p.Done(1, nil) }},
		{"state=closed/outcome=failure", func() { p, _ := b.Allow(); p.Done(0, errDependency) }},
		{"state=closed/outcome=released", func() { p, _ := b.Allow(); p.Release() }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(1000, tt.call); n != 0 {
			t.Errorf("%s: %v allocations per Allow and report", tt.name, n)
		}
	}
	b.Trip()
	if n := testing.AllocsPerRun(1000, func() { b.Allow() }); n != 0 {
		t.Errorf("state=open: %v allocations per rejected Allow", n)
	}
	clk.Add(time.Second)
	if n := testing.AllocsPerRun(1000, func() { p, _ := b.Allow(); p.Release() }); n != 0 {
		t.Errorf("state=half-open/outcome=released: %v allocations per Allow and Release", n)
	}
}
