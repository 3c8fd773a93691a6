package breaker_test

import (
	"math"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// Regression tests for faults of the state machine, each named after its
// fault.

// TestBackoffOverflow: float64(math.MaxInt64) rounds up to 2^63, and
// converting the capped period back to a Duration wrapped to the most
// negative one, so a circuit tripped with the longest period was half-open
// at once.
func TestBackoffOverflow(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		for _, bo := range []*breaker.Backoff{
			{Max: math.MaxInt64},
			{Max: math.MaxInt64, Factor: 1e300},
			{Max: math.MaxInt64, Jitter: 0.5, Rand: func() float64 { return 0 }},
		} {
			r := newRig(t, cs, breaker.Config[int]{OpenTimeout: math.MaxInt64, Backoff: bo})
			for range 3 {
				r.b.Trip()
				r.wantState(breaker.Open)
				r.clk.Add(time.Hour)
				r.wantState(breaker.Open)
				// A failed probe is the next period of a row: TripFor
				// brings the circuit to half-open without stepping.
				r.b.TripFor(0)
				r.wantState(breaker.HalfOpen)
			}
		}
	})
}

// TestProbeTimeoutDefaultFreesHungProbe: without a ProbeTimeout, a probe
// that never reported (a hung call, a lost permit) held its slot for good,
// and the circuit stayed half-open, rejecting every call. The default is now
// the open period; NoProbeTimeout keeps the old behaviour for those who ask.
func TestProbeTimeoutDefaultFreesHungProbe(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newRig(t, cs, breaker.Config[int]{OpenTimeout: time.Minute, HalfOpenProbes: 1})
		r.b.Trip()
		r.clk.Add(time.Minute)
		hung := allow(t, r)
		r.clk.Add(time.Minute - time.Nanosecond)
		wantAllowRejected(t, r)
		r.clk.Add(time.Nanosecond)
		if err := r.exec(nil); err != nil {
			t.Fatalf("a hung probe still holds the only slot after the open period: %v", err)
		}
		r.wantState(breaker.Closed)
		hung.Done(0, errDependency) // forgotten
		r.wantState(breaker.Closed)

		off := newRig(t, cs, breaker.Config[int]{OpenTimeout: time.Minute, HalfOpenProbes: 1, ProbeTimeout: breaker.NoProbeTimeout})
		off.b.Trip()
		off.clk.Add(time.Minute)
		_ = allow(t, off)
		off.clk.Add(time.Hour)
		wantAllowRejected(t, off)
	})
}

// TestHalfOpenSinceHasOneValue: Metrics().Since of a half-open period was
// the end of the open period until a call noticed it, and the time of that
// call afterwards, so an exporter's since gauge jumped. Both are now the
// end of the open period, and so is the At of the transition.
func TestHalfOpenSinceHasOneValue(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		var at time.Time
		r := newRig(t, cs, breaker.Config[int]{
			OpenTimeout:    time.Second,
			HalfOpenProbes: 2,
			OnTransition: func(tr breaker.Transition) {
				if tr.To == breaker.HalfOpen {
					at = tr.At
				}
			},
		})
		r.b.Trip()
		end := r.clk.Now().Add(time.Second)
		r.clk.Add(5 * time.Second)
		before := r.b.Metrics() // reports half-open without moving the circuit
		p := allow(t, r)        // moves it, 4s after the period ended
		after := r.b.Metrics()
		if before.State != breaker.HalfOpen || after.State != breaker.HalfOpen {
			t.Fatalf("states %v, %v; want half-open", before.State, after.State)
		}
		if !before.Since.Equal(end) || !after.Since.Equal(end) || !at.Equal(end) {
			t.Fatalf("half-open since %v before a call, %v after, transition at %v; want %v for all", before.Since, after.Since, at, end)
		}
		p.Done(0, nil)
	})
}
