package breaker_test

import (
	"context"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// During a latency spike, a slow-call policy judges the half-open probes
// too: a probe that succeeds slowly opens the circuit again, instead of
// closing it for the next slow calls to trip. Once the dependency is fast
// again, a fast probe closes it.
func ExampleConfig_slowProbes() {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, time.December, 1, 9, 0, 0, 0, time.UTC)) // start at a real date: a mock starts in 1970
	b, err := breaker.New(breaker.Config[string]{
		Policy:         policy.Any(policy.Consecutive(5), policy.Slow(time.Second, 0.5, 4, time.Minute)),
		OpenTimeout:    10 * time.Second,
		HalfOpenProbes: 1,
		Clock:          clk,
		OnStateChange: func(_ string, from, to breaker.State) {
			fmt.Printf("  %v -> %v\n", from, to)
		},
	})
	if err != nil {
		panic(err)
	}
	call := func(took time.Duration) {
		fmt.Printf("call taking %v\n", took)
		_, err := b.Execute(context.Background(), func(context.Context) (string, error) {
			clk.Add(took) // the dependency answers, successfully, after took
			return "ok", nil
		})
		if err != nil {
			fmt.Println("  rejected")
		}
	}
	for range 4 {
		call(2 * time.Second) // four slow successes trip the circuit
	}
	call(2 * time.Second)
	clk.Add(10 * time.Second)
	call(2 * time.Second) // a slow probe: open again
	clk.Add(10 * time.Second)
	call(50 * time.Millisecond) // a fast probe closes it
	// Output:
	// call taking 2s
	// call taking 2s
	// call taking 2s
	// call taking 2s
	//   closed -> open
	// call taking 2s
	//   rejected
	// call taking 2s
	//   open -> half-open
	//   half-open -> open
	// call taking 50ms
	//   open -> half-open
	//   half-open -> closed
}
