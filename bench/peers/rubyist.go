package peers

import (
	"context"

	"github.com/cenk/backoff"
	circuit "github.com/rubyist/circuitbreaker"
)

// Rubyist is rubyist/circuitbreaker.
//
// Configuration: ConsecutiveTripFunc(5) and a constant back-off of 60 s (its
// default is an exponential back-off from 500 ms), called with no per-call
// timeout (Call(fn, 0) runs fn on the caller's goroutine).
//
// Differences: half-open lets one probe through and closes on its first
// success (not 3). Each success takes two mutexes (the back-off's, resetting
// it, and the rolling window's, which reads the clock); each failure reads
// the clock too. Call takes func() error, so the result value is dropped.
type Rubyist struct {
	cb *circuit.Breaker
}

// NewRubyist returns a closed Rubyist.
func NewRubyist(Scenario) *Rubyist {
	return &Rubyist{cb: circuit.NewBreakerWithOptions(&circuit.Options{
		BackOff:    backoff.NewConstantBackOff(OpenFor),
		ShouldTrip: circuit.ConsecutiveTripFunc(Failures),
	})}
}

// Run calls t through Call, without a timeout.
func (a *Rubyist) Run(_ context.Context, t *Target) (int, error) {
	return 0, a.cb.Call(t.Err, 0)
}

// Trip opens the circuit with Breaker.Trip.
func (a *Rubyist) Trip() error {
	a.cb.Trip()
	return nil
}

// Closed reports whether the breaker is closed.
func (a *Rubyist) Closed() bool { return !a.cb.Tripped() }
