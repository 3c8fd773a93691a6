package group_test

import (
	"fmt"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/policy"
)

// Get hands out a key's breaker, creating it on first use, for what
// Group.Execute does not cover: the two-step form, Trip or Reset by an
// operator, or a look at its Metrics.
func ExampleGroup_Get() {
	tenants, err := group.New(group.Config[string, int]{
		New: func(tenant string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(3)}
		},
	})
	if err != nil {
		panic(err)
	}
	b, err := tenants.Get("acme")
	if err != nil {
		panic(err) // group.ErrFull, or the key's Config is invalid
	}
	b.ForceOpen() // maintenance on acme's backend

	again, _ := tenants.Get("acme")
	fmt.Println(again == b, again.Name(), again.State(), again.Metrics().Mode)
	_, err = again.Allow()
	fmt.Println(err != nil)
	// Output:
	// true acme open forced-open
	// true
}
