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

// Try a candidate on a running breaker, without a deploy: added, then
// given again alike with another (kept, with what it counted), then
// removed. Each change is noted with who and why, and moves nothing.
func ExampleBreaker_ReconfigureShadows() {
	b, _ := breaker.New(breaker.Config[string]{Name: "payments", Policy: policy.Consecutive(5)})
	quick := func() breaker.Shadow {
		return breaker.Shadow{Name: "quick", Settings: breaker.Settings{Policy: policy.Consecutive(2), Text: "consecutive(2)"}}
	}
	fail := func() {
		b.Execute(context.Background(), func(context.Context) (string, error) { return "", errors.New("declined") })
	}
	if err := b.ReconfigureShadows([]breaker.Shadow{quick()}, "alice", "would 2 be enough?"); err != nil {
		fmt.Println(err)
	}
	fail()
	fail()
	slow := breaker.Shadow{Name: "slow", Settings: breaker.Settings{Policy: policy.Consecutive(10), Text: "consecutive(10)"}}
	b.ReconfigureShadows([]breaker.Shadow{quick(), slow}, "alice", "and 10?")
	fmt.Println(b.SettingsLine())
	for _, s := range b.Shadows() {
		fmt.Printf("%s: %v, trips %d, calls %d\n", s.Name, s.State, s.Trips, s.Calls)
	}
	b.ReconfigureShadows(nil, "bob", "done")
	for _, t := range b.Transitions() {
		fmt.Println(t.Evidence)
	}
	fmt.Println("live:", b.State())
	// Output:
	// consecutive(5)@open=1m,probes=3 shadow consecutive(2) shadow consecutive(10)
	// quick: open, trips 1, calls 2
	// slow: closed, trips 0, calls 0
	// reconfigure shadows by alice: would 2 be enough?; none → shadow consecutive(2); started "quick"
	// reconfigure shadows by alice: and 10?; shadow consecutive(2) → shadow consecutive(2) shadow consecutive(10); kept "quick"; started "slow"
	// reconfigure shadows by bob: done; shadow consecutive(2) shadow consecutive(10) → none; removed "quick", "slow"
	// live: closed
}
