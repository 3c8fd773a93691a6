package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// An operator takes a dependency out of service: every call is rejected,
// whatever time passes, until Reset.
func ExampleBreaker_ForceOpen() {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, time.December, 1, 9, 0, 0, 0, time.UTC)) // a real date: a mock starts in 1970
	b, _ := breaker.New(breaker.Config[string]{Name: "payments", Clock: clk})

	b.ForceOpen()
	clk.Add(24 * time.Hour)
	_, err := b.Execute(context.Background(), func(context.Context) (string, error) { return "paid", nil })
	var oe *breaker.OpenError
	errors.As(err, &oe)
	fmt.Println(b.State(), b.Metrics().Mode, oe.Forced())

	b.Reset()
	fmt.Println(b.State(), b.Metrics().Mode)
	// Output:
	// open forced-open true
	// closed none
}

// During an incident the breaker is taken out of the way: every call runs
// and nothing trips it, while the calls are still counted.
func ExampleBreaker_Disable() {
	b, _ := breaker.New(breaker.Config[string]{Policy: policy.Consecutive(1), CountCalls: true})
	b.Disable()
	for range 3 {
		b.Execute(context.Background(), func(context.Context) (string, error) { return "", errors.New("timeout") })
	}
	m := b.Metrics()
	fmt.Println(m.State, m.Mode, "failures:", m.Failures, "trips:", m.Trips)
	// Output:
	// closed disabled failures: 3 trips: 0
}

// An upstream said how long to stay away: open for exactly that long, then
// probe as usual. The Backoff is not stepped.
func ExampleBreaker_TripFor() {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, time.December, 1, 9, 0, 0, 0, time.UTC))
	b, _ := breaker.New(breaker.Config[string]{Clock: clk})

	b.TripFor(90 * time.Second)
	clk.Add(89 * time.Second)
	fmt.Println(b.State())
	clk.Add(time.Second)
	fmt.Println(b.State())
	// Output:
	// open
	// half-open
}

// One successful probe at a time, three in a row to close: a dependency
// must answer three times before it gets all the traffic back.
func ExampleConfig_closeAfter() {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, time.December, 1, 9, 0, 0, 0, time.UTC))
	b, _ := breaker.New(breaker.Config[string]{
		Policy:         policy.Consecutive(1),
		OpenTimeout:    time.Second,
		HalfOpenProbes: 1,
		CloseAfter:     3,
		Clock:          clk,
	})
	b.Trip()
	clk.Add(time.Second)
	for range 3 {
		p, _ := b.Allow()
		_, second := b.Allow()
		fmt.Println(b.State(), "second probe rejected:", errors.Is(second, breaker.ErrOpen))
		p.Done("ok", nil)
	}
	fmt.Println(b.State())
	// Output:
	// half-open second probe rejected: true
	// half-open second probe rejected: true
	// half-open second probe rejected: true
	// closed
}

// A listener learns why each transition happened; a coordinator skips the
// ones it caused itself (CauseExternal), so that it never echoes them.
func ExampleBreaker_Subscribe() {
	b, _ := breaker.New(breaker.Config[string]{Name: "search", Policy: policy.Consecutive(1)})
	cancel := b.Subscribe(func(t breaker.Transition) {
		if t.Cause == breaker.CauseExternal {
			return // adopted from the fleet: nothing to share
		}
		fmt.Println(t.Name, t.From, ">", t.To, "because of", t.Cause)
	})
	defer cancel()

	b.Execute(context.Background(), func(context.Context) (string, error) { return "", errors.New("down") })
	b.Adopt(breaker.Adoption{Kind: breaker.AdoptClose})
	b.Trip()
	// Output:
	// search closed > open because of policy
	// search closed > open because of manual
}
