package breaker_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// A snapshot for a dashboard: the state, the trips and, with CountCalls,
// the calls by outcome.
func ExampleBreaker_Metrics() {
	b, _ := breaker.New(breaker.Config[string]{
		Name:       "payments",
		Policy:     policy.Consecutive(2),
		CountCalls: true,
	})
	pay := func(err error) {
		b.Execute(context.Background(), func(context.Context) (string, error) { return "", err })
	}
	pay(nil)
	pay(errors.New("declined"))
	pay(errors.New("declined")) // the second failure in a row opens the circuit
	pay(nil)                    // rejected

	m := b.Metrics()
	fmt.Println(m.Name, m.State, "trips:", m.Trips)
	fmt.Println("successes:", m.Successes, "failures:", m.Failures, "ignored:", m.Ignored, "rejected:", m.Rejected)
	// Output:
	// payments open trips: 1
	// successes: 1 failures: 2 ignored: 0 rejected: 1
}
