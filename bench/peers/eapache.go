package peers

import (
	"context"
	"math"

	"github.com/eapache/go-resiliency/breaker"
)

// Eapache is eapache/go-resiliency/breaker.
//
// Configuration: New(5, 3, 60 s): opens at 5 errors, closes after 3
// consecutive successes in half-open.
//
// Differences: it never resets its error count on success. It opens at 5
// errors seen without an error-free gap of the timeout, and that one timeout
// is also how long it stays open, so with 60 s open, 5 errors in any minute
// trip it, however many successes lie between. ClosedFailure (one call in
// ten fails) would trip it after 50 calls; for that scenario alone it gets an
// error threshold of math.MaxInt, which measures the cost of its failure path
// without the trip. Half-open admits any number of calls at once, not 3. Each
// trip starts a goroutine that sleeps out the timeout. The success path
// reads one atomic and takes no lock; failures take a mutex and read the
// clock twice. Run takes func() error, so the result value is dropped. There
// is no call to trip it by hand: Trip fails calls.
type Eapache struct {
	b *breaker.Breaker
}

// NewEapache returns a closed Eapache for sc.
func NewEapache(sc Scenario) *Eapache {
	failures := Failures
	if sc == ClosedFailure {
		failures = math.MaxInt
	}
	return &Eapache{b: breaker.New(failures, Probes, OpenFor)}
}

// Run calls t through Run.
func (a *Eapache) Run(_ context.Context, t *Target) (int, error) {
	return 0, a.b.Run(t.Err)
}

// Trip fails calls until the circuit opens.
func (a *Eapache) Trip() error { return tripByFailing(a) }

// Closed reports whether the breaker is closed.
func (a *Eapache) Closed() bool { return a.b.GetState() == breaker.Closed }
