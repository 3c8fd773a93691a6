package breaker_test

import (
	"context"
	"errors"
	"flag"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

var reconfigureCalls = flag.Int("reconfigure.calls", 4000, "calls per goroutine in TestReconfigureStress")

// handoverTally is a policy that counts every call it records and never trips,
// and takes over the count of the handoverTally it replaces: the last one's count
// is every call any of them recorded, once. A Record that reaches a handoverTally
// after its successor took over is a call lost to the count.
type handoverTally struct {
	n, failed atomic.Int64
	retired   atomic.Bool
	late      *atomic.Int64 // Records after retirement, shared by the tallies of a test
}

func (p *handoverTally) Record(c policy.Call) bool {
	if p.retired.Load() {
		p.late.Add(1)
	}
	p.n.Add(1)
	if c.Failed {
		p.failed.Add(1)
	}
	return false
}

func (p *handoverTally) Reset() {}

func (p *handoverTally) TakeOver(prev policy.Policy, _ time.Time) bool {
	q, ok := prev.(*handoverTally)
	if ok {
		q.retired.Store(true)
		p.n.Store(q.n.Load())
		p.failed.Store(q.failed.Load())
	}
	return ok
}

// TestReconfigureStress runs calls (Execute and permits, successes and
// failures) on several goroutines while another gives the breaker new
// settings and a new counting policy as fast as it can, under -race, and
// checks that no call is lost or counted twice across the swaps: the
// last policy's count, which each took over from the one before, equals
// the calls made, and so do the breaker's own counts (CountCalls); no
// result reached a policy after its successor took over. It also checks
// that the transitions form one chain, one reconfiguration each, with
// the state never changed by one. -reconfigure.calls sets the calls per
// goroutine (4000 by default) for a longer soak.
func TestReconfigureStress(t *testing.T) {
	var late atomic.Int64
	first := &handoverTally{late: &late}
	clk := newManualClock(clockStart{name: "today", at: epochs.Today})
	var (
		mu    sync.Mutex
		trans []breaker.Transition
	)
	b, err := breaker.New(breaker.Config[int]{
		Policy:     first,
		Clock:      clk,
		CountCalls: true,
		OnTransition: func(tr breaker.Transition) {
			mu.Lock()
			trans = append(trans, tr)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	const workers = 4
	calls := *reconfigureCalls
	var (
		wg      sync.WaitGroup
		made    atomic.Int64
		failed  atomic.Int64
		stop    atomic.Bool
		swaps   int
		current = first
	)
	errBoom := errors.New("boom")
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				fail := (i+g)%3 == 0
				if i%2 == 0 {
					_, err := b.Execute(context.Background(), func(context.Context) (int, error) {
						if fail {
							return 0, errBoom
						}
						return 1, nil
					})
					if err != nil && !errors.Is(err, errBoom) {
						t.Errorf("Execute: %v", err)
						return
					}
				} else {
					p, err := b.Allow()
					if err != nil {
						t.Errorf("Allow: %v", err)
						return
					}
					if fail {
						p.Done(0, errBoom)
					} else {
						p.Done(1, nil)
					}
				}
				made.Add(1)
				if fail {
					failed.Add(1)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			next := &handoverTally{late: &late}
			s := breaker.Settings{Policy: next, OpenTimeout: time.Duration(1+swaps%5) * time.Second, HalfOpenProbes: 1 + swaps%3}
			if err := b.Reconfigure(s, "stress", "swap"); err != nil {
				t.Errorf("Reconfigure: %v", err)
				return
			}
			current = next
			swaps++
		}
	}()
	wg.Wait()
	stop.Store(true)
	<-done

	n, f := current.n.Load(), current.failed.Load()
	lost, extra := max(made.Load()-n, 0), max(n-made.Load(), 0)
	t.Logf("%d swaps, %d calls (%d failed): counted %d by the policies, lost %d, extra %d, late %d", swaps, made.Load(), failed.Load(), n, lost, extra, late.Load())
	if n != made.Load() || f != failed.Load() || late.Load() != 0 {
		t.Errorf("the policies counted %d calls (%d failed), %d after retirement; made %d (%d failed)", n, f, late.Load(), made.Load(), failed.Load())
	}
	m := b.Metrics()
	if got := int64(m.Successes + m.Failures); got != made.Load() || int64(m.Failures) != failed.Load() {
		t.Errorf("Metrics counts %d calls (%d failed), made %d (%d failed)", got, m.Failures, made.Load(), failed.Load())
	}
	if swaps == 0 {
		t.Errorf("no swap ran while calls did")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(trans) != swaps {
		t.Errorf("%d transitions for %d swaps", len(trans), swaps)
	}
	for i, tr := range trans {
		if tr.Cause != breaker.CauseReconfigure || tr.From != breaker.Closed || tr.To != breaker.Closed {
			t.Fatalf("transition %d: %+v, want a reconfiguration of a closed circuit", i, tr)
		}
		if i > 0 && tr.Generation <= trans[i-1].Generation {
			t.Fatalf("transition %d: generation %d after %d", i, tr.Generation, trans[i-1].Generation)
		}
	}
}

// TestReconfigureStressWindows swaps time-window and count policies of
// different lengths (a Rate over 10s and a minute, a Window, LastN,
// Consecutive) under calls on several goroutines, under -race: the
// handovers between windows run while calls wait, and must neither race
// nor lose the breaker's own counts.
func TestReconfigureStressWindows(t *testing.T) {
	t.Run("clock=manual", func(t *testing.T) {
		clk := newManualClock(clockStart{name: "today", at: epochs.Today})
		reconfigureWindows(t, clk, clk.Add)
	})
	// The real clock: the time windows read a coarse clock, which each
	// Reconfigure replaces.
	t.Run("clock=real", func(t *testing.T) { reconfigureWindows(t, nil, func(time.Duration) {}) })
}

func reconfigureWindows(t *testing.T, clk breaker.Clock, advance func(time.Duration)) {
	b, err := breaker.New(breaker.Config[int]{Policy: policy.Rate(0.99, 1000000, 10*time.Second), Clock: clk, CountCalls: true})
	if err != nil {
		t.Fatal(err)
	}
	policies := []func() policy.Policy{
		func() policy.Policy { return policy.Rate(0.99, 1000000, time.Minute) },
		func() policy.Policy { return policy.Window(1000000, 5*time.Second) },
		func() policy.Policy { return policy.LastN(0.99, 100, 128) },
		func() policy.Policy { return policy.Consecutive(1000000) },
		func() policy.Policy { return policy.Slow(time.Second, 0.99, 1000000, 10*time.Second) },
		func() policy.Policy { return policy.Rate(0.99, 1000000, 10*time.Second) },
	}
	var (
		wg   sync.WaitGroup
		made atomic.Int64
		stop atomic.Bool
	)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range *reconfigureCalls / 4 {
				_, _ = b.Execute(context.Background(), func(context.Context) (int, error) {
					if (i+g)%7 == 0 {
						return 0, errors.New("boom")
					}
					return 1, nil
				})
				made.Add(1)
				if i%64 == 0 {
					advance(100 * time.Millisecond)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; !stop.Load(); i++ {
			if err := b.Reconfigure(breaker.Settings{Policy: policies[i%len(policies)]()}, "", ""); err != nil {
				t.Errorf("Reconfigure: %v", err)
				return
			}
		}
	}()
	wg.Wait()
	stop.Store(true)
	<-done
	m := b.Metrics()
	if got := int64(m.Successes + m.Failures); got != made.Load() || m.State != breaker.Closed {
		t.Errorf("Metrics: %d calls, state %v; made %d, want closed", got, m.State, made.Load())
	}
}

// TestReconfigureStressWithActions runs calls, Reconfigure and the manual
// actions (Trip, TripFor, Reset, Disable, ForceOpen) at once, under -race,
// with a policy that trips: nothing deadlocks (a result waiting for a
// handover, a trip decided before one, a close and a reconfiguration in
// turn), the transitions form one chain in generation order, and every
// call finished is counted by the breaker.
func TestReconfigureStressWithActions(t *testing.T) {
	clk := newManualClock(clockStart{name: "today", at: epochs.Today})
	var (
		mu    sync.Mutex
		trans []breaker.Transition
	)
	b, err := breaker.New(breaker.Config[int]{
		Policy: policy.Consecutive(3), OpenTimeout: time.Second, Clock: clk, CountCalls: true,
		OnTransition: func(tr breaker.Transition) {
			mu.Lock()
			trans = append(trans, tr)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg       sync.WaitGroup
		finished atomic.Int64
		stop     atomic.Bool
	)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range *reconfigureCalls / 4 {
				_, err := b.Execute(context.Background(), func(context.Context) (int, error) {
					if (i+g)%4 == 0 {
						return 0, errors.New("boom")
					}
					return 1, nil
				})
				if !errors.Is(err, breaker.ErrOpen) {
					finished.Add(1)
				}
				if i%50 == 0 {
					clk.Add(300 * time.Millisecond)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; !stop.Load(); i++ {
			switch i % 6 {
			case 0:
				b.Trip()
			case 1:
				b.Reset()
			case 2:
				b.Disable()
			case 3:
				b.TripFor(time.Duration(i%3) * time.Second)
			case 4:
				b.ForceOpen()
			}
			ps := []policy.Policy{policy.Consecutive(2 + i%3), policy.Rate(0.5, 4, time.Second*time.Duration(1+i%5)), policy.LastN(0.5, 4, 8)}
			if err := b.Reconfigure(breaker.Settings{Policy: ps[i%len(ps)], OpenTimeout: time.Duration(1+i%2) * time.Second, HalfOpenProbes: 1 + i%3}, "", ""); err != nil {
				t.Errorf("Reconfigure: %v", err)
				return
			}
		}
	}()
	wg.Wait()
	stop.Store(true)
	<-done
	if m := b.Metrics(); int64(m.Successes+m.Failures) != finished.Load() {
		t.Errorf("Metrics counts %d finished calls, made %d", m.Successes+m.Failures, finished.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(trans); i++ {
		if trans[i].From != trans[i-1].To || trans[i].Generation <= trans[i-1].Generation {
			t.Fatalf("transition %d %+v does not follow %+v", i, trans[i], trans[i-1])
		}
	}
}
