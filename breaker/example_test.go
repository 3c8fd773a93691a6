package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// Execute runs a call through the breaker. After five failures in a row the
// circuit opens, and calls are rejected without running.
func ExampleBreaker_Execute() {
	b, err := breaker.New(breaker.Config[string]{Name: "profile-service"})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	fetch := func(context.Context) (string, error) { return "", errors.New("connection refused") }

	for range 6 {
		_, err := b.Execute(ctx, fetch)
		if errors.Is(err, breaker.ErrOpen) {
			fmt.Println("rejected: serve the cached profile")
			continue
		}
		fmt.Println("failed:", err)
	}
	fmt.Println("state:", b.State())
	// Output:
	// failed: connection refused
	// failed: connection refused
	// failed: connection refused
	// failed: connection refused
	// failed: connection refused
	// rejected: serve the cached profile
	// state: open
}

// The two-step form fits calls that do not fit in a function: ask with
// Allow, make the call, report with Done.
func ExampleBreaker_Allow() {
	b, err := breaker.New(breaker.Config[int]{})
	if err != nil {
		panic(err)
	}
	permit, err := b.Allow()
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	n, err := 42, error(nil) // the call, made elsewhere
	permit.Done(n, err)
	fmt.Println("state:", b.State())
	// Output:
	// state: closed
}

type response struct{ status int }

// Classify counts results by value: here an HTTP-like response with a 5xx
// status is a failure even though the call returned no error, and a 404 says
// nothing about the server's health.
func ExampleConfig_classify() {
	b, err := breaker.New(breaker.Config[response]{
		Policy: policy.Consecutive(2),
		Classify: func(r response, err error) breaker.Outcome {
			switch {
			case err != nil || r.status >= 500:
				return breaker.Failure
			case r.status == 404:
				return breaker.Ignored
			}
			return breaker.Success
		},
	})
	if err != nil {
		panic(err)
	}
	for _, status := range []int{503, 404, 502} {
		b.Execute(context.Background(), func(context.Context) (response, error) {
			return response{status}, nil
		})
		fmt.Println(status, "->", b.State())
	}
	// Output:
	// 503 -> closed
	// 404 -> closed
	// 502 -> open
}

// debt is a custom policy: it trips when failures outnumber successes by
// three, each success paying back one failure. Record runs concurrently, so
// the balance is an atomic.
type debt struct{ balance atomic.Int32 }

func (p *debt) Record(c policy.Call) bool {
	if c.Failed {
		return p.balance.Add(1) >= 3
	}
	for {
		n := p.balance.Load()
		if n == 0 || p.balance.CompareAndSwap(n, n-1) {
			return false
		}
	}
}

func (p *debt) Reset() { p.balance.Store(0) }

// Any type with Record and Reset is a policy.
func ExampleConfig_customPolicy() {
	b, err := breaker.New(breaker.Config[int]{Policy: &debt{}})
	if err != nil {
		panic(err)
	}
	fail := func(context.Context) (int, error) { return 0, errors.New("timeout") }
	ok := func(context.Context) (int, error) { return 1, nil }
	for _, fn := range []func(context.Context) (int, error){fail, fail, ok, fail, fail} {
		b.Execute(context.Background(), fn)
		fmt.Print(b.State(), " ")
	}
	fmt.Println()
	// Output:
	// closed closed closed closed open
}

// OnStateChange sees every transition, in order. It runs outside the
// breaker's lock, so it may call the breaker. A mock clock drives time here.
func ExampleConfig_onStateChange() {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, time.December, 1, 9, 0, 0, 0, time.UTC)) // start at a real date: a mock starts in 1970
	b, err := breaker.New(breaker.Config[int]{
		Name:           "payments",
		Policy:         policy.Consecutive(1),
		OpenTimeout:    10 * time.Second,
		HalfOpenProbes: 1,
		Clock:          clk,
		OnStateChange: func(name string, from, to breaker.State) {
			fmt.Printf("%s: %s -> %s\n", name, from, to)
		},
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	b.Execute(ctx, func(context.Context) (int, error) { return 0, errors.New("503") })

	_, err = b.Execute(ctx, func(context.Context) (int, error) { return 1, nil })
	var open *breaker.OpenError
	if errors.As(err, &open) {
		fmt.Println("retry after", open.RetryAfter(clk.Now()))
	}

	clk.Add(10 * time.Second)
	b.Execute(ctx, func(context.Context) (int, error) { return 1, nil })
	// Output:
	// payments: closed -> open
	// retry after 10s
	// payments: open -> half-open
	// payments: half-open -> closed
}
