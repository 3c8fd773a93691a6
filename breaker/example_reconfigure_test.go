package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// A running breaker takes a higher threshold without losing its streak of
// failures, and says so in the transition's evidence.
func ExampleBreaker_Reconfigure() {
	b, _ := breaker.New(breaker.Config[string]{
		Name:   "payments",
		Policy: policy.Consecutive(3),
		Clock:  epochs.Mock(epochs.Today),
		OnTransition: func(t breaker.Transition) {
			fmt.Println(t.From, "→", t.To, "|", t.Evidence.Text)
		},
	})
	down := func(context.Context) (string, error) { return "", errors.New("503") }
	for range 2 {
		_, _ = b.Execute(context.Background(), down)
	}
	_ = b.Reconfigure(breaker.Settings{Policy: policy.Consecutive(5), OpenTimeout: 30 * time.Second}, "alice", "a flaky night")
	for range 3 {
		_, _ = b.Execute(context.Background(), down) // the fifth in a row trips it
	}
	// Output:
	// closed → closed | reconfigure by alice: a flaky night; consecutive(3)@open=1m,probes=3 → consecutive(5)@open=30s,probes=3; counts carried over
	// closed → open | consecutive: 5 failures in a row (threshold 5); last failure: 503
}
