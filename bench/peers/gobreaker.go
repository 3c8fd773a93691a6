package peers

import (
	"context"

	"github.com/sony/gobreaker/v2"
)

// Gobreaker is sony/gobreaker/v2.
//
// Configuration: MaxRequests 3 (probes; as many successes close it),
// Timeout 60 s, ReadyToTrip at ConsecutiveFailures >= 5 (its default trips
// at more than 5). Interval 0: the counts are never cleared while closed.
// For RateClosedSuccess (and RateCountedClosedSuccess: it always counts)
// it uses its rolling window instead: Interval RateWindow split into
// buckets of RateBucket (BucketPeriod), tripping when at least RateMinCalls
// requests were counted and at least RateRatio of them failed; for
// WindowClosedSuccess, when Failures of them failed.
//
// Differences: it takes func() (T, error), without a context, and reads the
// clock (time.Now) under a mutex twice per call, in every state. Execute
// has no way to tell it a failure is to be ignored other than IsExcluded.
// There is no call to trip it by hand: Trip fails calls.
type Gobreaker struct {
	cb *gobreaker.CircuitBreaker[int]
}

// NewGobreaker returns a closed Gobreaker for sc.
func NewGobreaker(sc Scenario) *Gobreaker {
	st := gobreaker.Settings{
		Name:        "peers",
		MaxRequests: Probes,
		Timeout:     OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= Failures },
	}
	if sc.Windowed() {
		st.Interval = RateWindow
		st.BucketPeriod = RateBucket
		st.ReadyToTrip = func(c gobreaker.Counts) bool {
			return c.Requests >= RateMinCalls && float64(c.TotalFailures) >= RateRatio*float64(c.Requests)
		}
	}
	if sc == WindowClosedSuccess {
		st.ReadyToTrip = func(c gobreaker.Counts) bool { return c.TotalFailures >= Failures }
	}
	return &Gobreaker{cb: gobreaker.NewCircuitBreaker[int](st)}
}

// Run calls t through Execute.
func (a *Gobreaker) Run(_ context.Context, t *Target) (int, error) {
	return a.cb.Execute(t.Plain)
}

// Trip fails calls until the circuit opens.
func (a *Gobreaker) Trip() error { return tripByFailing(a) }

// Closed reports whether the breaker is closed.
func (a *Gobreaker) Closed() bool { return a.cb.State() == gobreaker.StateClosed }
