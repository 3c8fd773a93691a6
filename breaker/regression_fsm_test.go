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
