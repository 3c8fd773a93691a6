package fleet_test

import (
	"context"
	"fmt"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
)

// Two instances of a service share the circuit "payments" through one
// store (here in memory; in production fleet/redisfleet). An operator
// forces it open on one instance; the other adopts it at its next sync
// (or at once, from the store's event).
func Example() {
	store := fleet.NewMemory(nil)
	ctx := context.Background()
	var instances []*fleet.Coordinator
	var breakers []*breaker.Breaker[string]
	for _, name := range []string{"a", "b"} {
		b, _ := breaker.New(breaker.Config[string]{Name: "payments"})
		co, err := fleet.New(fleet.Config{Store: store, Instance: name})
		if err != nil {
			panic(err)
		}
		defer co.Close()
		if _, err := co.Attach(b); err != nil {
			panic(err)
		}
		instances, breakers = append(instances, co), append(breakers, b)
	}

	if err := instances[0].ForceOpen(ctx, "payments"); err != nil {
		panic(err)
	}
	_ = instances[1].Sync(ctx)
	m := breakers[1].Metrics()
	fmt.Println("b:", m.State, m.Mode)

	_ = instances[0].Clear(ctx, "payments")
	_ = instances[1].Sync(ctx)
	m = breakers[1].Metrics()
	fmt.Println("b:", m.State, m.Mode)
	// Output:
	// b: open forced-open
	// b: closed none
}
