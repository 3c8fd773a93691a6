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

// TestManualActionsStress runs calls, permits and every manual action,
// Adopt, Subscribe and SetProbeGate at once, under -race, and checks what
// must hold whatever the interleaving: no call runs while the circuit is
// held forced open by a ForceOpen that nothing followed, the transitions
// each listener sees form one chain in generation order, every listener
// sees the same ones, and at rest State, Metrics and the last transition
// agree.
func TestManualActionsStress(t *testing.T) {
	clk := newManualClock(clockStart{name: "today", at: epochs.Today})
	var (
		mu     sync.Mutex
		byCfg  []breaker.Transition
		bySub  []breaker.Transition
		states []breaker.State
	)
	b, err := breaker.New(breaker.Config[int]{
		Policy:         policy.Consecutive(3),
		OpenTimeout:    time.Second,
		HalfOpenProbes: 2,
		CloseAfter:     3,
		Clock:          clk,
		CountCalls:     true,
		OnStateChange: func(_ string, _, to breaker.State) {
			mu.Lock()
			states = append(states, to)
			mu.Unlock()
		},
		OnTransition: func(tr breaker.Transition) {
			mu.Lock()
			byCfg = append(byCfg, tr)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Subscribe(func(tr breaker.Transition) {
		mu.Lock()
		bySub = append(bySub, tr)
		mu.Unlock()
	})

	// forced is set by the controller while a ForceOpen is the last manual
	// action; calls that run while it is set are a fault.
	var forced atomic.Bool
	var ranForced, forcedPeriods atomic.Int64
	var ctl sync.Mutex // the controller's actions, one at a time, so that "last" means something
	errDown := errors.New("down")
	g := &gate{verdict: breaker.GateAdmit}

	var wg sync.WaitGroup
	const workers, steps = 6, 3000
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range steps {
				switch n := r.IntN(100); {
				case n < 60:
					b.Execute(context.Background(), func(context.Context) (int, error) {
						if forced.Load() {
							ranForced.Add(1)
						}
						if r.IntN(3) == 0 {
							return 0, errDown
						}
						return 0, nil
					})
				case n < 80:
					if p, err := b.Allow(); err == nil {
						if r.IntN(2) == 0 {
							p.Done(0, nil)
						} else {
							p.Done(0, errDown)
						}
					}
				case n < 83:
					clk.Add(time.Duration(r.IntN(1500)) * time.Millisecond)
				case n < 85:
					if r.IntN(2) == 0 {
						b.SetProbeGate(g)
					} else {
						b.SetProbeGate(nil)
					}
				case n < 86:
					cancel := b.Subscribe(func(breaker.Transition) {})
					cancel()
				default:
					ctl.Lock()
					switch r.IntN(8) {
					case 0:
						b.Trip()
						forced.Store(false)
					case 1:
						b.TripFor(time.Duration(r.IntN(2000)) * time.Millisecond)
						forced.Store(false)
					case 2:
						if !forced.Swap(true) {
							forcedPeriods.Add(1)
						}
						b.ForceOpen()
					case 3:
						b.Disable()
						forced.Store(false)
					case 4:
						b.Reset()
						forced.Store(false)
					case 5:
						b.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: time.Second})
						forced.Store(false)
					case 6:
						b.Adopt(breaker.Adoption{Kind: breaker.AdoptClose})
						if b.Metrics().Mode != breaker.ModeForcedOpen {
							forced.Store(false)
						}
					case 7:
						b.State()
						b.Metrics()
					}
					ctl.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	b.State()

	// No call is admitted once ForceOpen has returned, but one admitted
	// just before may start its function after forced was set: at most one
	// per other worker in each forced period.
	if n, max := ranForced.Load(), forcedPeriods.Load()*(workers-1); n > max {
		t.Errorf("%d calls ran while the circuit was forced open; at most %d were admitted before", n, max)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(byCfg) != len(bySub) {
		t.Fatalf("OnTransition saw %d transitions, the subscriber %d", len(byCfg), len(bySub))
	}
	var changes []breaker.State
	for i, tr := range byCfg {
		if tr != bySub[i] {
			t.Fatalf("transition %d: OnTransition %+v, subscriber %+v", i, tr, bySub[i])
		}
		if i > 0 && (tr.From != byCfg[i-1].To || tr.Generation <= byCfg[i-1].Generation) {
			t.Fatalf("transition %d %+v does not follow %+v", i, tr, byCfg[i-1])
		}
		if tr.From != tr.To {
			changes = append(changes, tr.To)
		}
	}
	if len(changes) != len(states) {
		t.Fatalf("OnStateChange saw %d changes, OnTransition %d", len(states), len(changes))
	}
	for i := range states {
		if states[i] != changes[i] {
			t.Fatalf("change %d: OnStateChange to %v, OnTransition to %v", i, states[i], changes[i])
		}
	}
	m := b.Metrics()
	if last := byCfg[len(byCfg)-1]; last.To != b.State() && !(last.To == breaker.Open && m.State == breaker.HalfOpen) || last.Mode != m.Mode {
		t.Fatalf("at rest: State %v, Metrics %+v, last transition %+v", b.State(), m, last)
	}
	if m.ProbesInFlight != 0 {
		t.Fatalf("%d probes in flight at rest", m.ProbesInFlight)
	}
	t.Logf("%d transitions, %d state changes; metrics %+v", len(byCfg), len(states), m)
}
