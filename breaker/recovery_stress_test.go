package breaker_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// TestRecoveryStress runs calls (some asking for a retry-after), permits,
// manual actions and time at once, on a breaker with a ramp, a throttle
// beside a hard trip, and a remembering backoff, under -race, and checks
// what must hold whatever the interleaving: every rejection wraps ErrOpen,
// no more probes run at once than HalfOpenProbes, the transitions form one
// chain in generation order. (That manual modes win is the model tests'
// to check, step by step.)
func TestRecoveryStress(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	var (
		mu  sync.Mutex
		trs []breaker.Transition
	)
	const probes = 2
	b, err := breaker.New(breaker.Config[int]{
		Policy:         policy.Any(policy.Throttle(2, 5*time.Second), policy.Consecutive(4)),
		OpenTimeout:    time.Second,
		HalfOpenProbes: probes,
		RampUp:         3 * time.Second,
		MaxRetryAfter:  2 * time.Second,
		Backoff:        &breaker.Backoff{Max: 8 * time.Second, Forget: 2 * time.Second},
		Clock:          clk,
		OnTransition: func(tr breaker.Transition) {
			mu.Lock()
			trs = append(trs, tr)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var inProbe atomic.Int32
	var stop atomic.Bool
	var wg sync.WaitGroup
	n := 250
	if testing.Short() {
		n = 50
	}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range n {
				half := b.State() == breaker.HalfOpen
				_, err := b.Execute(context.Background(), func(context.Context) (int, error) {
					if half && inProbe.Add(1) > probes+4 { // slack: State was read before admission
						t.Error("too many probes at once")
					}
					defer func() {
						if half {
							inProbe.Add(-1)
						}
					}()
					switch r.IntN(10) {
					case 0:
						return 0, busy{time.Duration(r.IntN(4000)) * time.Millisecond}
					case 1, 2, 3:
						return 0, errDown
					}
					return 1, nil
				})
				if err != nil && !errors.Is(err, errDown) && !errors.Is(err, breaker.ErrOpen) {
					var ra busy
					if !errors.As(err, &ra) {
						t.Errorf("unexpected error %v", err)
					}
				}
			}
		}()
	}
	var ctl sync.WaitGroup
	ctl.Add(1)
	go func() {
		defer ctl.Done()
		r := rand.New(rand.NewPCG(99, 1))
		for !stop.Load() {
			clk.Add(time.Duration(r.IntN(700)) * time.Millisecond)
			switch r.IntN(12) {
			case 0:
				b.Trip()
			case 1:
				b.Reset()
			case 2:
				b.Disable()
			case 3:
				b.ForceOpen()
				clk.Add(time.Second)
				b.Reset()
			case 4:
				b.TripFor(time.Duration(r.IntN(2000)) * time.Millisecond)
			}
		}
	}()
	wg.Wait()
	stop.Store(true)
	ctl.Wait()
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(trs); i++ {
		if trs[i].From != trs[i-1].To || trs[i].Generation <= trs[i-1].Generation {
			t.Fatalf("transition %d %+v does not follow %+v", i, trs[i], trs[i-1])
		}
	}
	if len(trs) == 0 {
		t.Fatal("no transition")
	}
}
