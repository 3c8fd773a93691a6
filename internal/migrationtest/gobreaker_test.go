package migrationtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// The claims of docs/migrating-from-gobreaker.md about tripwire.

// The zero Config trips on the fifth failure in a row (gobreaker's zero
// Settings on the sixth); policy.Consecutive(6) is gobreaker's default.
func TestGobreakerZeroConfigTripsOnFifthFailure(t *testing.T) {
	for _, tt := range []struct {
		policy policy.Policy
		trips  int
	}{{nil, 5}, {policy.Consecutive(6), 6}} {
		b, err := breaker.New(breaker.Config[int]{Policy: tt.policy})
		if err != nil {
			t.Fatal(err)
		}
		for range tt.trips - 1 {
			run(b, fail)
		}
		wantState(t, b, breaker.Closed)
		run(b, fail)
		wantState(t, b, breaker.Open)
	}
}

// HalfOpenProbes bounds the probes in flight: a probe that finished frees
// its slot for another (gobreaker's MaxRequests bounds the probes admitted
// in the whole half-open period). The default is 3 probes, and that many
// successes close the circuit (gobreaker: 1).
func TestGobreakerHalfOpenProbesCountsProbesInFlight(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{})
		tripAndWait(t, b, clk, breaker.DefaultOpenTimeout)
		if breaker.DefaultHalfOpenProbes != 3 {
			t.Fatalf("DefaultHalfOpenProbes = %d", breaker.DefaultHalfOpenProbes)
		}
		p1, p2, p3 := allow(t, b), allow(t, b), allow(t, b)
		if oe := rejection(t, b); oe.State() != breaker.HalfOpen {
			t.Fatalf("rejection with every slot taken says %v", oe.State())
		}
		p1.Done(1, nil)
		wantState(t, b, breaker.HalfOpen)
		p4 := allow(t, b) // the finished probe's slot
		p2.Done(1, nil)
		p3.Done(1, nil)
		wantState(t, b, breaker.Closed) // three successes
		p4.Done(0, errDown)             // a probe of a period that is over changes nothing
		wantState(t, b, breaker.Closed)
	})
}

// Window and Rate slide: a call counts for the trailing span, whatever
// boundary of a fixed window it would cross (gobreaker's Interval without
// BucketPeriod clears every count at the end of each interval).
func TestGobreakerWindowsSlide(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		for name, p := range map[string]policy.Policy{
			"window": policy.Window(2, 10*time.Second),
			"rate":   policy.Rate(0.5, 2, 10*time.Second),
		} {
			b, clk := newAt(t, start, breaker.Config[int]{Policy: p})
			clk.Add(9 * time.Second)
			run(b, fail)
			clk.Add(2 * time.Second) // 11s: a fixed 10s window would have cleared
			run(b, fail)
			if b.State() != breaker.Open {
				t.Fatalf("%s: two failures 2s apart, across 10s, did not trip a 10s window", name)
			}
		}
	})
}

// A call that ends with context.Canceled while its caller's context is done
// is Ignored: the caller gave up, the dependency did nothing wrong
// (gobreaker counts it a failure unless IsExcluded says otherwise). The
// same error while the caller still waits is a failure.
func TestGobreakerCallerCancellationIsIgnored(t *testing.T) {
	b, err := breaker.New(breaker.Config[int]{Policy: policy.Consecutive(1)})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		ctx, cancel := context.WithCancel(context.Background())
		b.Execute(ctx, func(ctx context.Context) (int, error) {
			cancel()
			return 0, ctx.Err()
		})
	}
	wantState(t, b, breaker.Closed)
	b.Execute(context.Background(), func(context.Context) (int, error) { return 0, context.Canceled })
	wantState(t, b, breaker.Open)
}

// Classify maps gobreaker's IsSuccessful and IsExcluded: an error it calls
// Ignored counts for nothing, neither success nor failure, so it does not
// break a run of failures either.
func TestGobreakerClassifyIgnored(t *testing.T) {
	errNotFound := errors.New("not found")
	pol := &counting{Policy: policy.Consecutive(2)}
	b, err := breaker.New(breaker.Config[int]{
		Policy: pol,
		Classify: func(_ int, err error) breaker.Outcome {
			switch {
			case err == nil:
				return breaker.Success
			case errors.Is(err, errNotFound):
				return breaker.Ignored
			}
			return breaker.Failure
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	run(b, fail)
	run(b, func(context.Context) (int, error) { return 0, errNotFound })
	if pol.records.Load() != 1 {
		t.Fatalf("the policy recorded %d calls, want 1: an ignored call reaches it", pol.records.Load())
	}
	wantState(t, b, breaker.Closed)
	run(b, fail)
	wantState(t, b, breaker.Open)
}

// OnStateChange runs after the transition with no lock held, so it may call
// the breaker (gobreaker calls it under its mutex: a callback that calls
// back deadlocks).
func TestGobreakerOnStateChangeMayCallTheBreaker(t *testing.T) {
	var b *breaker.Breaker[int]
	var seen []breaker.State
	b, err := breaker.New(breaker.Config[int]{
		Policy: policy.Consecutive(1),
		OnStateChange: func(_ string, _, to breaker.State) {
			seen = append(seen, b.State(), b.Metrics().State)
			if to == breaker.Open {
				b.Reset() // a transition of its own, from within the callback
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	run(b, fail)
	if len(seen) != 4 || seen[0] != breaker.Open || seen[3] != breaker.Closed {
		t.Fatalf("the callbacks saw %v, want open twice, then closed twice", seen)
	}
	wantState(t, b, breaker.Closed)
}

// One error for every rejection: errors.Is(err, breaker.ErrOpen), open or
// half-open with every probe slot taken (gobreaker: ErrOpenState and
// ErrTooManyRequests); OpenError.State says which.
func TestGobreakerOneRejectionError(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{OpenTimeout: time.Second, HalfOpenProbes: 1})
		b.Trip()
		if oe := rejection(t, b); oe.State() != breaker.Open || oe.RetryAfter(clk.Now()) != time.Second {
			t.Fatalf("open: rejection says %v, retry after %v", oe.State(), oe.RetryAfter(clk.Now()))
		}
		clk.Add(time.Second)
		allow(t, b)
		if oe := rejection(t, b); oe.State() != breaker.HalfOpen {
			t.Fatalf("half-open, slot taken: rejection says %v", oe.State())
		}
	})
}

// The circuit is half-open as soon as OpenTimeout has passed, to the
// nanosecond (gobreaker: once the time is after the open period's end).
func TestGobreakerHalfOpenAtOpenTimeout(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{OpenTimeout: time.Second})
		b.Trip()
		clk.Add(time.Second - time.Nanosecond)
		wantState(t, b, breaker.Open)
		clk.Add(time.Nanosecond)
		wantState(t, b, breaker.HalfOpen)
	})
}

// A panicking call counts as a failure and the panic goes on up with its
// own value, as in gobreaker.
func TestGobreakerPanicIsAFailure(t *testing.T) {
	b, err := breaker.New(breaker.Config[int]{Policy: policy.Consecutive(1)})
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if v := recover(); v != errDown {
				t.Fatalf("recovered %v, want the call's own panic", v)
			}
		}()
		run(b, func(context.Context) (int, error) { panic(errDown) })
	}()
	wantState(t, b, breaker.Open)
}

// The two-step form: Allow, then Permit.Done with the call's result and
// error, classified as Execute's are (gobreaker's TwoStepCircuitBreaker
// takes done(err)).
func TestGobreakerTwoStep(t *testing.T) {
	b, err := breaker.New(breaker.Config[int]{
		Policy: policy.Consecutive(1),
		Classify: func(status int, err error) breaker.Outcome {
			if err != nil || status >= 500 {
				return breaker.Failure
			}
			return breaker.Success
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	allow(t, b).Done(200, nil)
	wantState(t, b, breaker.Closed)
	allow(t, b).Done(503, nil)
	wantState(t, b, breaker.Open)
}

// policy.When ports a ReadyToTrip in one line: it judges the counts of a
// trailing window and the current streaks. It is asked after every call,
// successes included, so a predicate over the share of failures can trip
// on a success (gobreaker asks ReadyToTrip after failures only).
func TestGobreakerWhenPortsReadyToTrip(t *testing.T) {
	epochs.Run(t, epochs.For(time.Minute/16), func(t *testing.T, start time.Time) {
		b, _ := newAt(t, start, breaker.Config[int]{
			Policy: policy.When(time.Minute, func(c policy.Counts) bool { return c.ConsecutiveFailures > 5 }),
		})
		for range 5 {
			run(b, fail)
		}
		wantState(t, b, breaker.Closed)
		run(b, fail)
		wantState(t, b, breaker.Open)

		b, _ = newAt(t, start, breaker.Config[int]{
			Policy: policy.When(time.Minute, func(c policy.Counts) bool { return c.Calls >= 3 && c.Failures*2 >= c.Calls }),
		})
		run(b, fail)
		run(b, fail)
		wantState(t, b, breaker.Closed)
		run(b, succeed) // 2 failures of 3 calls
		wantState(t, b, breaker.Open)
	})
}

// Probes that hold every slot and never report are forgotten after
// ProbeTimeout, by default OpenTimeout, and new probes let in (gobreaker's
// half-open state has no deadline: its admitted probes hold it until they
// return). breaker.NoProbeTimeout turns that off.
func TestGobreakerHungProbesAreReclaimed(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{OpenTimeout: time.Second, HalfOpenProbes: 1})
		tripAndWait(t, b, clk, time.Second)
		hung := allow(t, b)
		clk.Add(time.Second - time.Nanosecond)
		rejection(t, b)
		clk.Add(time.Nanosecond)
		allow(t, b).Done(1, nil) // a new probe, in the hung one's slot
		wantState(t, b, breaker.Closed)
		hung.Done(0, errDown) // forgotten: changes nothing
		wantState(t, b, breaker.Closed)

		b, clk = newAt(t, start, breaker.Config[int]{OpenTimeout: time.Second, HalfOpenProbes: 1, ProbeTimeout: breaker.NoProbeTimeout})
		tripAndWait(t, b, clk, time.Second)
		allow(t, b)
		clk.Add(time.Hour)
		rejection(t, b)
	})
}
