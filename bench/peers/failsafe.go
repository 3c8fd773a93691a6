package peers

import (
	"context"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
)

// Failsafe is failsafe-go's circuit breaker, called through its executor
// (failsafe.With(cb).Get), the way its documentation shows.
//
// Configuration: WithFailureThreshold(5) (5 failures among the last 5
// executions, which is 5 in a row), WithDelay(60 s), WithSuccessThreshold(3)
// (3 probes admitted, 3 successes close it).
//
// Differences: Get takes func() (R, error); the executor is built once with
// the background context, and each call builds an execution (it allocates).
// Every permit and every record takes a mutex, and while open each rejection
// reads the clock.
type Failsafe struct {
	cb   circuitbreaker.CircuitBreaker[int]
	exec failsafe.Executor[int]
}

// NewFailsafe returns a closed Failsafe.
func NewFailsafe(Scenario) *Failsafe {
	cb := circuitbreaker.NewBuilder[int]().
		WithFailureThreshold(Failures).
		WithDelay(OpenFor).
		WithSuccessThreshold(Probes).
		Build()
	return &Failsafe{cb: cb, exec: failsafe.With[int](cb)}
}

// Run calls t through the executor's Get.
func (a *Failsafe) Run(_ context.Context, t *Target) (int, error) {
	return a.exec.Get(t.Plain)
}

// Trip opens the circuit with CircuitBreaker.Open.
func (a *Failsafe) Trip() error {
	a.cb.Open()
	return nil
}

// Closed reports whether the breaker is closed.
func (a *Failsafe) Closed() bool { return a.cb.IsClosed() }
