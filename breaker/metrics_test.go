package breaker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// counts is the part of Metrics that counts calls.
type counts struct{ ok, failed, ignored, rejected uint64 }

func countsOf(m breaker.Metrics) counts {
	return counts{m.Successes, m.Failures, m.Ignored, m.Rejected}
}

func TestMetricsWithoutCountCalls(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newRig(t, cs, breaker.Config[int]{Name: "db", OpenTimeout: time.Second})
		built := r.clk.Now()
		r.exec(nil)
		r.exec(errDependency)
		m := r.b.Metrics()
		want := breaker.Metrics{Name: "db", State: breaker.Closed, Since: built}
		if m != want {
			t.Fatalf("Metrics() = %+v, want %+v", m, want)
		}
		r.clk.Add(time.Second)
		r.b.Trip()
		m = r.b.Metrics()
		if m.State != breaker.Open || !m.Since.Equal(r.clk.Now()) || !m.Until.Equal(r.clk.Now().Add(time.Second)) || m.ManualOpens != 1 || m.Trips != 0 {
			t.Fatalf("after Trip: %+v", m)
		}
		if m.Counted || countsOf(m) != (counts{}) {
			t.Fatalf("calls counted without CountCalls: %+v", m)
		}
	})
}

func TestMetricsCountCalls(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newRig(t, cs, breaker.Config[int]{CountCalls: true, OpenTimeout: time.Second, HalfOpenProbes: 2})
		want := counts{}
		check := func(step string) {
			t.Helper()
			m := r.b.Metrics()
			if !m.Counted || countsOf(m) != want {
				t.Fatalf("%s: counts = %+v (counted %v), want %+v", step, countsOf(m), m.Counted, want)
			}
		}
		check("new")

		r.exec(nil)
		r.exec(nil)
		want.ok += 2
		check("two successes")

		r.exec(errDependency)
		want.failed++
		check("a failure")

		ctx, cancel := context.WithCancel(context.Background())
		r.b.Execute(ctx, func(context.Context) (int, error) { cancel(); return 0, ctx.Err() })
		want.ignored++
		check("a canceled call")

		r.b.Execute(ctx, func(context.Context) (int, error) { return 0, nil })
		check("a call whose context was done before it started")

		p, _ := r.b.Allow()
		p.Done(0, errDependency)
		p.Done(0, nil) // a second Done counts for nothing
		want.failed++
		check("a permit")

		func() {
			defer func() { recover() }()
			r.b.Execute(context.Background(), func(context.Context) (int, error) { panic("boom") })
		}()
		want.failed++
		check("a panic")

		r.b.Trip()
		wantRejected(t, r.exec(nil))
		_, err := r.b.Allow()
		wantRejected(t, err)
		want.rejected += 2
		check("open")

		r.clk.Add(time.Second)
		p1, _ := r.b.Allow()
		p2, _ := r.b.Allow()
		wantRejected(t, r.exec(nil))
		want.rejected++
		check("half-open, every slot in use")
		if m := r.b.Metrics(); m.State != breaker.HalfOpen || m.ProbesInFlight != 2 || m.ProbesSucceeded != 0 {
			t.Fatalf("half-open with two probes: %+v", m)
		}
		p1.Done(0, nil)
		if m := r.b.Metrics(); m.ProbesInFlight != 1 || m.ProbesSucceeded != 1 {
			t.Fatalf("one probe back: %+v", m)
		}
		r.b.Reset()
		p2.Done(0, errDependency) // late: not heeded, but counted
		want.ok++
		want.failed++
		check("late results")
		if m := r.b.Metrics(); m.State != breaker.Closed || m.ProbesInFlight != 0 {
			t.Fatalf("after Reset: %+v", m)
		}
	})
}

// With the real clock, a breaker that does not count rejects calls on a
// fast path without a hook; a counting breaker must count every rejection.
func TestMetricsCountsRejectionsOnTheRealClock(t *testing.T) {
	b, err := breaker.New(breaker.Config[int]{CountCalls: true})
	if err != nil {
		t.Fatal(err)
	}
	b.Trip()
	for range 3 {
		wantRejected(t, func() error {
			_, err := b.Execute(context.Background(), func(context.Context) (int, error) { return 0, nil })
			return err
		}())
	}
	if m := b.Metrics(); m.Rejected != 3 {
		t.Fatalf("Rejected = %d, want 3", m.Rejected)
	}
}

// Metrics reports an expired open circuit as half-open, as State does, but
// leaves the circuit alone: no transition, no callback.
func TestMetricsHasNoEffect(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newRig(t, cs, breaker.Config[int]{OpenTimeout: time.Second})
		r.b.Trip()
		opened := r.clk.Now()
		r.clk.Add(time.Second)
		m := r.b.Metrics()
		if m.State != breaker.HalfOpen || !m.Since.Equal(opened.Add(time.Second)) || !m.Until.IsZero() {
			t.Fatalf("Metrics() after the timeout = %+v", m)
		}
		r.wantLog("closed>open")
		r.wantState(breaker.HalfOpen) // State does move it
		r.wantLog("closed>open", "open>half-open")
		if m2 := r.b.Metrics(); m2.State != m.State || !m2.Since.Equal(m.Since) {
			t.Fatalf("Metrics() after State() = %+v, want %+v", m2, m)
		}
	})
}

func TestMetricsConcurrentCounts(t *testing.T) {
	b, err := breaker.New(breaker.Config[int]{CountCalls: true})
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, calls = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				var err error
				if (g+i)%10 == 0 {
					err = errDependency
				}
				b.Execute(context.Background(), func(context.Context) (int, error) { return 0, err })
				_ = b.Metrics()
			}
		}()
	}
	wg.Wait()
	m := b.Metrics()
	if got := m.Successes + m.Failures + m.Rejected; got != goroutines*calls {
		t.Fatalf("counted %d calls (%+v), want %d", got, countsOf(m), goroutines*calls)
	}
}

// A counting breaker takes the shortcuts that one without CountCalls
// takes (a closed success with nothing to record, a rejection under a
// word whose error is at hand), and each shortcut counts its call:
// through Execute, Allow and a View alike.
func TestMetricsCountsOnEveryShortcut(t *testing.T) {
	b, err := breaker.New(breaker.Config[int]{CountCalls: true})
	if err != nil {
		t.Fatal(err)
	}
	v := breaker.View[string](b, nil)
	ok := func(context.Context) (int, error) { return 1, nil }
	for range 3 {
		if _, err := b.Execute(context.Background(), ok); err != nil {
			t.Fatal(err)
		}
		p, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		p.Done(1, nil)
		p.Done(1, nil) // a second report counts nothing
		if _, err := v.Execute(context.Background(), func(context.Context) (string, error) { return "", nil }); err != nil {
			t.Fatal(err)
		}
	}
	b.Trip()
	for range 4 {
		_, err := b.Execute(context.Background(), ok)
		wantRejected(t, err)
		_, err = b.Allow()
		wantRejected(t, err)
		_, err = v.Execute(context.Background(), func(context.Context) (string, error) { return "", nil })
		wantRejected(t, err)
	}
	if got, want := countsOf(b.Metrics()), (counts{ok: 9, rejected: 12}); got != want {
		t.Fatalf("counts = %+v, want %+v", got, want)
	}
}
