package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// Try a quicker policy on live traffic before trusting it: a shadow
// candidate decides on the same calls, rejects none, and reports what it
// would have done.
func ExampleConfig_shadows() {
	b, _ := breaker.New(breaker.Config[string]{
		Name:   "payments",
		Policy: policy.Consecutive(5),
		Shadows: []breaker.Shadow{{
			Name:     "quick",
			Settings: breaker.Settings{Policy: policy.Consecutive(2), OpenTimeout: 30 * time.Second},
		}},
		OnTransition: func(t breaker.Transition) {
			if t.Shadow {
				fmt.Printf("shadow %s: %v > %v: %s\n", t.Candidate, t.From, t.To, t.Evidence)
			}
		},
	})
	for range 3 {
		_, err := b.Execute(context.Background(), func(context.Context) (string, error) { return "", errors.New("declined") })
		fmt.Println("call:", err)
	}
	fmt.Println("live:", b.State())
	for _, s := range b.Shadows() {
		fmt.Printf("%s (%s): %v, trips %d, would have rejected %d of %d calls\n", s.Name, s.Settings, s.State, s.Trips, s.WouldReject, s.Calls)
	}
	// Output:
	// call: declined
	// shadow quick: closed > open: consecutive: 2 failures in a row (threshold 2); last failure: declined
	// call: declined
	// call: declined
	// live: closed
	// quick (consecutive(2)@open=30s,probes=3): open, trips 1, would have rejected 1 of 3 calls
}

// A whole breaker in shadow: it decides and reports, but every call runs.
func ExampleConfig_shadowOnly() {
	b, _ := breaker.New(breaker.Config[string]{
		Name:       "search",
		Policy:     policy.Consecutive(2),
		ShadowOnly: true,
	})
	ran := 0
	for range 4 {
		b.Execute(context.Background(), func(context.Context) (string, error) {
			ran++
			return "", errors.New("timeout")
		})
	}
	m := b.Metrics()
	fmt.Println("ran:", ran, "state:", m.State, "shadow-only:", m.ShadowOnly, "would have rejected:", m.WouldReject)
	// Output:
	// ran: 4 state: open shadow-only: true would have rejected: 2
}
