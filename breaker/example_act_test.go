package breaker_test

import (
	"fmt"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// An operator's tool acts with who and why: the transition's evidence
// says so, in the log, the console and the history.
func ExampleBreaker_Act() {
	b, _ := breaker.New(breaker.Config[string]{
		Name: "inventory",
		OnTransition: func(t breaker.Transition) {
			fmt.Printf("%s → %s: %s\n", t.From, t.To, t.Evidence)
		},
	})
	_ = b.Act(breaker.Action{Kind: breaker.ActTripFor, For: 10 * time.Minute, Who: "deploy-bot", Why: "schema migration"})
	_ = b.Act(breaker.Action{Kind: breaker.ActReset, Who: "deploy-bot", Why: "migration done"})
	fmt.Println(len(b.Transitions()), "transitions kept")
	// Output:
	// closed → open: manual trip-for 10m0s by deploy-bot: schema migration
	// open → closed: manual reset by deploy-bot: migration done
	// 2 transitions kept
}
