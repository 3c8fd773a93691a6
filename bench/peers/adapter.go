package peers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Scenario is what a benchmark measures. Adapters are built for one, because
// a few libraries need a different configuration to run it at all.
type Scenario uint8

const (
	// ClosedSuccess: every call succeeds.
	ClosedSuccess Scenario = iota
	// ClosedFailure: every 10th call fails; the circuit must never trip.
	ClosedFailure
	// Open: the circuit is tripped first; every call must be rejected
	// without running.
	Open
	// RateClosedSuccess: every call succeeds, under a failure-rate policy
	// over a rolling time window instead of consecutive failures.
	RateClosedSuccess
	// RateCountedClosedSuccess: RateClosedSuccess with the calls counted
	// for metrics, as a production service exports them (gobreaker
	// always counts).
	RateCountedClosedSuccess
	// WindowClosedSuccess: every call succeeds, under a policy that trips
	// at Failures failures within a rolling RateWindow.
	WindowClosedSuccess
)

// Windowed reports whether sc needs a rolling time window, which only some
// libraries have.
func (sc Scenario) Windowed() bool {
	return sc == RateClosedSuccess || sc == RateCountedClosedSuccess || sc == WindowClosedSuccess
}

// The common configuration every adapter follows as far as its library
// allows.
const (
	// Failures is how many consecutive failures trip a circuit.
	Failures = 5
	// OpenFor is how long a tripped circuit stays open.
	OpenFor = 60 * time.Second
	// Probes is how many half-open probes are let through, and how many
	// successes among them close the circuit.
	Probes = 3

	// The rate policy of RateClosedSuccess: trip when at least RateMinCalls
	// calls finished within the trailing RateWindow and at least RateRatio
	// of them failed. RateBucket is the width of one bucket of gobreaker's
	// rolling window.
	RateRatio    = 0.5
	RateMinCalls = 20
	RateWindow   = 10 * time.Second
	RateBucket   = time.Second
)

// ErrRejected is returned by adapters whose library rejects a call without
// an error value of its own (handy's Allow returns a bool).
var ErrRejected = errors.New("peers: rejected")

// Adapter is one library's breaker, configured as the package doc says.
// The generated benchmarks build the concrete types and make the library
// call that Run makes, written out; the interface serves the adapter test
// and the benchmarks' end-of-run checks.
type Adapter interface {
	// Run calls t through the breaker and returns its result, or the
	// library's rejection error without running t.
	Run(ctx context.Context, t *Target) (int, error)
	// Trip opens the circuit: through the library's own call where it has
	// one, else by failing calls until it opens. It returns an error when
	// the circuit does not open.
	Trip() error
	// Closed reports whether the circuit is closed (passes every call).
	Closed() bool
}

// tripLimit bounds tripByFailing. Rate-based breakers need as many failures
// as they saw successes, and hystrix-go counts them late; a breaker that
// trips stops the loop long before.
const tripLimit = 100_000

// tripByFailing fails calls through a until it reports itself no longer
// closed, for libraries that cannot be tripped by hand. It gives up after
// tripLimit calls.
func tripByFailing(a Adapter) error {
	ctx := context.Background()
	for range tripLimit {
		if !a.Closed() {
			return nil
		}
		a.Run(ctx, Fail)
	}
	if !a.Closed() {
		return nil
	}
	return fmt.Errorf("peers: %T still closed after %d failures", a, tripLimit)
}
