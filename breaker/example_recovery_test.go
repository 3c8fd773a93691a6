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

// After probes close the circuit, RampUp lets a rising share of calls
// through: 10% at the close, all of them at the end of the ramp. The
// others are rejected with an error that wraps ErrRampUp beside ErrOpen.
func ExampleConfig_rampUp() {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	b, _ := breaker.New(breaker.Config[int]{
		Clock: clk, OpenTimeout: 10 * time.Second, HalfOpenProbes: 1, RampUp: 30 * time.Second,
	})
	ctx := context.Background()
	ok := func(context.Context) (int, error) { return 1, nil }
	b.Trip()
	clk.Add(10 * time.Second)
	b.Execute(ctx, ok) // the probe closes the circuit: the ramp begins
	ran := func() (n int) {
		for range 100 {
			if _, err := b.Execute(ctx, ok); err == nil {
				n++
			} else if !errors.Is(err, breaker.ErrRampUp) {
				panic(err)
			}
		}
		return n
	}
	fmt.Println("at the close:", ran(), "of 100")
	clk.Add(15 * time.Second)
	fmt.Println("halfway:", ran(), "of 100")
	clk.Add(15 * time.Second)
	fmt.Println("after the ramp:", ran(), "of 100")
	// Output:
	// at the close: 10 of 100
	// halfway: 55 of 100
	// after the ramp: 100 of 100
}

// busy is a failure whose dependency asked for a wait, as httpbreaker
// reports a 429's Retry-After.
type busy struct{ wait time.Duration }

func (e busy) Error() string             { return "busy" }
func (e busy) RetryAfter() time.Duration { return e.wait }

// With MaxRetryAfter, a failure that carries a RetryAfter opens the
// circuit at once for as long as the dependency asked, at most the
// maximum, and the transition's evidence says so.
func ExampleRetryAfterer() {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	b, _ := breaker.New(breaker.Config[int]{
		Clock: clk, MaxRetryAfter: time.Minute,
		OnTransition: func(t breaker.Transition) {
			fmt.Println(t.From, ">", t.To, "until", t.Until.Format(time.TimeOnly), "-", t.Evidence)
		},
	})
	b.Execute(context.Background(), func(context.Context) (int, error) { return 0, busy{2 * time.Hour} })
	// Output:
	// closed > open until 09:01:00 - open period 2h0m0s asked by the dependency (retry-after), clamped to 1m0s; last failure: busy
}

// A throttle sheds a share of calls while the dependency fails, and a hard
// policy beside it opens the circuit when the dependency is down. Shed
// calls are rejected with ErrThrottled and never counted.
func ExampleConfig_throttle() {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	u := 0.999 // the throttle's random source: shed nothing yet
	th := policy.Throttle(2, 10*time.Second).WithRand(func() float64 { return u })
	b, _ := breaker.New(breaker.Config[int]{Clock: clk, Policy: policy.Any(th, policy.Consecutive(20))})
	ctx := context.Background()
	for i := range 10 { // 4 of 10 succeed: (10 - 2×4) / (10 + 1) shed
		b.Execute(ctx, func(context.Context) (int, error) {
			if i%3 == 0 {
				return 1, nil
			}
			return 0, errors.New("overloaded")
		})
	}
	fmt.Printf("sheds %.0f%%\n", 100*th.ShedProbability(clk.Now()))
	u = 0 // below 18%: this call is shed
	_, err := b.Execute(ctx, func(context.Context) (int, error) { return 1, nil })
	fmt.Println(errors.Is(err, breaker.ErrThrottled), errors.Is(err, breaker.ErrOpen), b.State())
	// Output:
	// sheds 18%
	// true true closed
}
