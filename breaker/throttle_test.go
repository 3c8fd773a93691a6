package breaker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// A throttle beside a hard-trip policy: it sheds while the dependency is
// degraded, the hard policy opens the circuit when it is down, and the
// calls it sheds never reach either policy.
func TestThrottleComposesWithAHardTrip(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	u := 0.2
	var lcg func() float64
	th := policy.Throttle(2, 10*time.Second).WithRand(func() float64 {
		if lcg != nil {
			return lcg()
		}
		return u
	})
	rec := &rampCountingPolicy{Policy: policy.Any(th, policy.Consecutive(50))}
	b, err := breaker.New(breaker.Config[int]{Clock: clk, Policy: rec})
	if err != nil {
		t.Fatal(err)
	}
	// Degraded: 2 of 3 calls fail. Requests grow faster than 2·accepts, so
	// the throttle sheds; the hard policy never sees 50 in a row.
	shed, ran := 0, 0
	for i := range 300 {
		_, err := b.Execute(context.Background(), func(context.Context) (int, error) {
			if i%3 != 0 {
				return 0, errDown
			}
			return 1, nil
		})
		switch {
		case errors.Is(err, breaker.ErrThrottled):
			shed++
			var oe *breaker.OpenError
			if !errors.Is(err, breaker.ErrOpen) || !errors.As(err, &oe) || !oe.Throttled() || oe.State() != breaker.Closed {
				t.Fatalf("shed call's error %v", err)
			}
			if d, ok := breaker.RetryAfter(err, clk.Now()); !ok || d != breaker.HalfOpenRetryAfter {
				t.Fatalf("RetryAfter %v %v", d, ok)
			}
		default:
			ran++
		}
	}
	if shed == 0 || b.State() != breaker.Closed {
		t.Fatalf("degraded: shed %d, state %v; want some shed, closed", shed, b.State())
	}
	if rec.n != ran {
		t.Fatalf("the policy recorded %d calls, %d ran: shed calls must not count", rec.n, ran)
	}
	// Down: every call that runs fails, and the trickle that runs makes 50
	// in a row, which open the circuit.
	lcg = newLCG(7)
	for range 2000 {
		b.Execute(context.Background(), failCall)
	}
	if s := b.State(); s != breaker.Open {
		t.Fatalf("down: state %v, want open", s)
	}
	// Disabled: nothing is shed, whatever the throttle holds.
	b.Disable()
	lcg, u = nil, 0
	for range 20 {
		if _, err := b.Execute(context.Background(), failCall); errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("disabled, a call was rejected: %v", err)
		}
	}
}

// Once the dependency is back, the trickle finds it and the throttle lets
// everything through within the window, because its own rejections were
// never counted (go-zero #4101 stayed shut for about 15 minutes).
func TestThrottleRecoversWithinItsWindow(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	b, _ := breaker.New(breaker.Config[int]{Clock: clk, Policy: policy.Throttle(2, 10*time.Second).WithRand(newLCG(1))})
	for range 1000 {
		b.Execute(context.Background(), failCall)
		clk.Add(10 * time.Millisecond)
	}
	shed := 0
	for range 100 {
		if _, err := b.Execute(context.Background(), okCall); err != nil {
			shed++
		}
	}
	if shed < 30 {
		t.Fatalf("right after the outage %d of 100 shed, want many", shed)
	}
	clk.Add(11 * time.Second)
	for range 100 {
		if _, err := b.Execute(context.Background(), okCall); err != nil {
			t.Fatalf("a window after recovery a call was shed: %v", err)
		}
	}
}

// newLCG returns a deterministic source in [0, 1).
func newLCG(seed uint64) func() float64 {
	x := seed
	return func() float64 {
		x = x*6364136223846793005 + 1442695040888963407
		return float64(x>>11) / (1 << 53)
	}
}
