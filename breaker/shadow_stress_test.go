package breaker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// TestShadowStress runs calls on many goroutines through a breaker with
// candidates and OnCall, shadow-only or not, while time passes and readers
// take its status: under -race, and at the end every call that ran was
// offered to every candidate and heard by OnCall, and a shadow-only
// breaker rejected none.
func TestShadowStress(t *testing.T) {
	for _, only := range []bool{false, true} {
		t.Run(map[bool]string{false: "live", true: "shadow-only"}[only], func(t *testing.T) {
			clk := epochs.NewClock(epochs.Today)
			var records, shadowTransitions atomic.Int64
			b, err := breaker.New(breaker.Config[int]{
				Clock: clk, ShadowOnly: only, CountCalls: true,
				Policy: policy.Rate(0.5, 10, 5*time.Second), OpenTimeout: time.Second,
				Shadows: []breaker.Shadow{
					{Name: "consecutive", Settings: breaker.Settings{Policy: policy.Consecutive(3), OpenTimeout: time.Second, HalfOpenProbes: 2}},
					{Name: "lastn", Settings: breaker.Settings{Policy: policy.LastN(0.3, 5, 20), OpenTimeout: 2 * time.Second, Backoff: &breaker.Backoff{Max: 8 * time.Second}}},
					{Name: "slow", Settings: breaker.Settings{Policy: policy.Slow(time.Millisecond, 0.5, 5, time.Second), ProbeTimeout: 500 * time.Millisecond}},
				},
				OnCall: func(breaker.CallRecord) { records.Add(1) },
				OnTransition: func(tr breaker.Transition) {
					if tr.Shadow {
						shadowTransitions.Add(1)
					}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			var ran, rejected atomic.Int64
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 1500 {
						fail := (i+g)%3 == 0 || (i/200)%2 == 0
						if i%2 == 0 {
							_, err := b.Execute(context.Background(), func(context.Context) (int, error) {
								ran.Add(1)
								if fail {
									return 0, errShadowTest
								}
								return 1, nil
							})
							if err != nil && err != errShadowTest {
								rejected.Add(1)
							}
							continue
						}
						p, err := b.Allow()
						if err != nil {
							rejected.Add(1)
							continue
						}
						ran.Add(1)
						switch {
						case i%7 == 0:
							p.Release()
						case fail:
							p.Done(0, errShadowTest)
						default:
							p.Done(1, nil)
						}
					}
				}()
			}
			var aux sync.WaitGroup
			aux.Add(1)
			go func() {
				defer aux.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					clk.Add(50 * time.Millisecond)
					b.Shadows()
					b.Metrics()
					b.State()
				}
			}()
			wg.Wait()
			close(stop)
			aux.Wait()
			if only && rejected.Load() != 0 {
				t.Fatalf("a shadow-only breaker rejected %d calls", rejected.Load())
			}
			for _, st := range b.Shadows() {
				if st.Calls != uint64(ran.Load()) {
					t.Errorf("candidate %s was offered %d calls, %d ran", st.Name, st.Calls, ran.Load())
				}
				if st.Panics != 0 {
					t.Errorf("candidate %s panicked: %s", st.Name, st.LastPanic)
				}
			}
			if records.Load() != ran.Load() {
				t.Errorf("OnCall heard of %d calls, %d ran", records.Load(), ran.Load())
			}
			if shadowTransitions.Load() == 0 {
				t.Errorf("no candidate made a transition: the test drives too little")
			}
		})
	}
}
