package group_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/policy"
)

// One breaker per host: the failing host's circuit opens, the other's
// stays closed.
func ExampleGroup() {
	hosts, err := group.New(group.Config[string, string]{
		New: func(host string) breaker.Config[string] {
			// A fresh policy for every breaker.
			return breaker.Config[string]{Policy: policy.Consecutive(2)}
		},
	})
	if err != nil {
		panic(err)
	}
	fetch := func(host string) {
		_, err := hosts.Execute(context.Background(), host, func(context.Context) (string, error) {
			if host == "flaky.example" {
				return "", errors.New("timeout")
			}
			return "ok", nil
		})
		if errors.Is(err, breaker.ErrOpen) {
			err = errors.New("circuit open, not called")
		}
		fmt.Printf("%s: %v\n", host, err)
	}
	for range 3 {
		fetch("flaky.example")
	}
	fetch("steady.example")

	for _, host := range []string{"flaky.example", "steady.example"} {
		b, _ := hosts.Get(host)
		fmt.Println(b.Name(), b.State())
	}
	// Output:
	// flaky.example: timeout
	// flaky.example: timeout
	// flaky.example: circuit open, not called
	// steady.example: <nil>
	// flaky.example open
	// steady.example closed
}

// Hand every breaker of a group to something that watches breakers (a
// fleet coordinator, an exporter, a log), and take it back when the group
// forgets it.
func ExampleConfig_OnCreate() {
	watched := map[string]*breaker.Breaker[string]{}
	hosts, err := group.New(group.Config[string, string]{
		New: func(string) breaker.Config[string] {
			return breaker.Config[string]{Policy: policy.Consecutive(3)}
		},
		MaxBreakers: 1,
		OnCreate: func(host string, b *breaker.Breaker[string]) {
			watched[host] = b
			fmt.Println("watching", host)
		},
		OnEvict: func(host string, b *breaker.Breaker[string]) {
			delete(watched, host)
			fmt.Println("forgetting", host)
		},
	})
	if err != nil {
		panic(err)
	}
	hosts.Get("a.example")
	hosts.Get("a.example") // the same breaker: not created again
	hosts.Get("b.example") // full: a.example, closed, makes room
	fmt.Println(len(watched), "watched")
	// Output:
	// watching a.example
	// forgetting a.example
	// watching b.example
	// 1 watched
}
