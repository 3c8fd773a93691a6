package migrationtest

import (
	"context"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// The claims of docs/migrating-from-failsafe-go.md about tripwire.

// The defaults: 5 failures in a row open the circuit for 60s, then 3
// probes run at once and 3 successes close it (failsafe-go: 1 failure, a
// minute, 1 probe, 1 success).
func TestFailsafeDefaults(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{})
		for range 4 {
			run(b, fail)
		}
		wantState(t, b, breaker.Closed)
		run(b, fail)
		wantState(t, b, breaker.Open)
		if d := rejection(t, b).RetryAfter(clk.Now()); d != time.Minute {
			t.Fatalf("open for %v, want a minute", d)
		}
		clk.Add(time.Minute)
		permits := []breaker.Permit[int]{allow(t, b), allow(t, b), allow(t, b)}
		rejection(t, b)
		for i, p := range permits {
			wantState(t, b, breaker.HalfOpen)
			p.Done(1, nil)
			if i < 2 {
				wantState(t, b, breaker.HalfOpen)
			}
		}
		wantState(t, b, breaker.Closed)
	})
}

// Any failed probe opens the circuit again, and it closes only once
// HalfOpenProbes probes have succeeded (failsafe-go without a success
// threshold judges probes by the failure threshold: with
// WithFailureThreshold(5), one success closes and five failures reopen).
func TestFailsafeAnyFailedProbeReopens(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{Policy: policy.Consecutive(5), HalfOpenProbes: 5, OpenTimeout: time.Second})
		tripAndWait(t, b, clk, time.Second)
		p1, p2 := allow(t, b), allow(t, b)
		p1.Done(1, nil)
		wantState(t, b, breaker.HalfOpen) // one success does not close it
		p2.Done(0, errDown)
		wantState(t, b, breaker.Open) // one failure reopens it
	})
}

// policy.LastN(ratio, minCalls, n) judges the last n calls from the
// minCalls-th on: LastN(0.5, 10, 10) is failsafe-go's
// WithFailureThresholdRatio(5, 10) once ten calls were made, but does not
// trip on the 5 failures of the first 5 calls, which failsafe-go does.
func TestFailsafeLastNJudgesFromMinCalls(t *testing.T) {
	b, err := breaker.New(breaker.Config[int]{Policy: policy.LastN(0.5, 10, 10)})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		run(b, fail)
	}
	wantState(t, b, breaker.Closed)
	for range 4 {
		run(b, succeed)
	}
	wantState(t, b, breaker.Closed)
	run(b, succeed) // the 10th call: 5 of the last 10 failed
	wantState(t, b, breaker.Open)
}

// policy.Window(n, over) is WithFailureThresholdPeriod(n, over): n failures
// within the trailing over, however many successes between; policy.Rate
// is WithFailureRateThreshold.
func TestFailsafeWindowAndRate(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{Policy: policy.Window(3, time.Minute)})
		for range 2 {
			run(b, fail)
			for range 20 {
				run(b, succeed)
			}
			clk.Add(20 * time.Second)
		}
		run(b, fail) // the third failure, 40s after the first
		wantState(t, b, breaker.Open)

		b, _ = newAt(t, start, breaker.Config[int]{Policy: policy.Rate(0.5, 10, time.Minute)})
		for range 4 {
			run(b, fail)
			run(b, succeed)
		}
		run(b, fail)
		wantState(t, b, breaker.Closed) // 9 calls: too few to judge
		run(b, succeed)
		wantState(t, b, breaker.Open) // 10 calls, half failed
	})
}

// Backoff's Jitter only shortens an open period, by up to its fraction
// (failsafe-go's WithJitterFactor lengthens or shortens it).
func TestFailsafeJitterOnlyShortens(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		for _, u := range []float64{0, 0.5, 0.999} {
			b, clk := newAt(t, start, breaker.Config[int]{
				OpenTimeout: 10 * time.Second,
				Backoff:     &breaker.Backoff{Max: 10 * time.Second, Jitter: 0.2, Rand: func() float64 { return u }},
			})
			b.Trip()
			d := rejection(t, b).RetryAfter(clk.Now())
			if d > 10*time.Second || d < 8*time.Second {
				t.Fatalf("rand %v: open for %v, want 8s to 10s", u, d)
			}
		}
	})
}

// A panicking call is a failure, and its probe slot is freed (failsafe-go
// records nothing for a panic, and a half-open permit taken by it is never
// given back).
func TestFailsafePanicIsAFailure(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{Policy: policy.Consecutive(1), HalfOpenProbes: 1, OpenTimeout: time.Second})
		panics := func(context.Context) (int, error) { panic("boom") }
		catch := func() {
			defer func() { recover() }()
			run(b, panics)
		}
		catch()
		wantState(t, b, breaker.Open)
		clk.Add(time.Second)
		catch() // the probe panics: a failed probe
		wantState(t, b, breaker.Open)
		clk.Add(2 * time.Second)
		allow(t, b).Done(1, nil) // the slot was freed
		wantState(t, b, breaker.Closed)
	})
}

// Execute with a context that is already done returns its error without
// calling fn, and a call its caller canceled counts for nothing
// (failsafe-go runs fn, and counts the cancellation as a failure).
func TestFailsafeDoneContext(t *testing.T) {
	b, err := breaker.New(breaker.Config[int]{Policy: policy.Consecutive(1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if _, err := b.Execute(ctx, func(context.Context) (int, error) { ran = true; return 0, nil }); ran || err != context.Canceled {
		t.Fatalf("done context: fn ran %v, err %v", ran, err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	b.Execute(ctx, func(ctx context.Context) (int, error) { cancel(); return 0, ctx.Err() })
	wantState(t, b, breaker.Closed)
}

// With CountCalls, Metrics counts calls since the breaker was built, across
// states (failsafe-go's Metrics count the current state's executions).
func TestFailsafeMetricsCountSinceBuilt(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{Policy: policy.Consecutive(2), CountCalls: true, OpenTimeout: time.Second, HalfOpenProbes: 1})
		run(b, succeed)
		run(b, fail)
		run(b, fail)
		run(b, succeed) // rejected
		clk.Add(time.Second)
		run(b, succeed) // the probe closes it
		m := b.Metrics()
		if m.State != breaker.Closed || m.Successes != 2 || m.Failures != 2 || m.Rejected != 1 {
			t.Fatalf("Metrics = %+v, want closed, 2 successes, 2 failures, 1 rejected", m)
		}
	})
}

// WithRandomDelay(min, max) is Backoff{Factor: 1, Max: max, Jitter: 1 -
// min/max} with OpenTimeout max: every open period is drawn between min and
// max.
func TestFailsafeRandomDelay(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		for _, u := range []float64{0, 0.5, 0.999} {
			b, clk := newAt(t, start, breaker.Config[int]{
				OpenTimeout: 20 * time.Second,
				Backoff:     &breaker.Backoff{Factor: 1, Max: 20 * time.Second, Jitter: 1 - 5.0/20, Rand: func() float64 { return u }},
			})
			for range 3 { // Factor 1: every period in a row draws from the same range
				b.Trip()
				d := rejection(t, b).RetryAfter(clk.Now())
				if d > 20*time.Second || d < 5*time.Second {
					t.Fatalf("rand %v: open for %v, want 5s to 20s", u, d)
				}
				clk.Add(d)
				allow(t, b).Done(0, errDown) // a failed probe: the next trip in a row
			}
		}
	})
}
