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

// An OpenError says which circuit rejected the call, in which state, and
// when to come back. Its methods read what the breaker built once for the
// open period; nothing a caller does to it changes later rejections.
func ExampleOpenError() {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	b, _ := breaker.New(breaker.Config[int]{
		Name: "search", Policy: policy.Consecutive(1), OpenTimeout: 30 * time.Second, Clock: clk,
	})
	ctx := context.Background()
	b.Execute(ctx, func(context.Context) (int, error) { return 0, errors.New("timeout") })

	_, err := b.Execute(ctx, func(context.Context) (int, error) { return 1, nil })
	var oe *breaker.OpenError
	if errors.As(err, &oe) {
		fmt.Println(oe)
		fmt.Println(oe.Name(), oe.State(), "until", oe.Until().Format(time.Kitchen), "forced:", oe.Forced())
		fmt.Println("retry after", oe.RetryAfter(clk.Now()))
	}
	// Output:
	// breaker: circuit "search" open until 2026-12-01T09:00:30Z
	// search open until 9:00AM forced: false
	// retry after 30s
}

// A plain retry loop: RetryAfter says how long a rejection asks to wait,
// and stops the loop where waiting makes no sense. Errors that are not
// rejections are the loop's own business; here, any of them ends it.
func ExampleRetryAfter() {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	b, _ := breaker.New(breaker.Config[string]{
		Name: "quotes", Policy: policy.Consecutive(1), OpenTimeout: 2 * time.Second, Clock: clk,
	})
	ctx := context.Background()
	b.Execute(ctx, func(context.Context) (string, error) { return "", errors.New("502") })

	fetch := func(context.Context) (string, error) { return "EUR/USD 1.17", nil }
	for attempt := 1; attempt <= 5; attempt++ {
		quote, err := b.Execute(ctx, fetch)
		if err == nil {
			fmt.Println("attempt", attempt, "got", quote)
			break
		}
		wait, ok := breaker.RetryAfter(err, clk.Now())
		if !ok || wait > 10*time.Second {
			fmt.Println("attempt", attempt, "giving up:", err)
			break
		}
		fmt.Println("attempt", attempt, "rejected; waiting", wait)
		clk.Add(wait) // time.Sleep(wait), or a timer with the caller's ctx
	}
	// Output:
	// attempt 1 rejected; waiting 2s
	// attempt 2 got EUR/USD 1.17
}

// Release gives a permit back without a call: it counts for nothing, and a
// half-open probe slot it held is free again. Here a caller checks whether
// a call would be let through before doing expensive preparation for it.
func ExamplePermit_Release() {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	b, _ := breaker.New(breaker.Config[int]{
		Policy: policy.Consecutive(1), OpenTimeout: time.Second, HalfOpenProbes: 1, Clock: clk,
	})
	b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("down") })
	clk.Add(time.Second)

	if p, err := b.Allow(); err == nil {
		p.Release() // only asking: without Release the one probe slot stays taken
	}
	p, err := b.Allow()
	fmt.Println("probe admitted:", err == nil)
	p.Done(1, nil)
	fmt.Println("state:", b.State())
	// Output:
	// probe admitted: true
	// state: closed
}
