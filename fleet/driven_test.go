package fleet_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// driven builds an instance whose coordinator runs no goroutine of its own:
// the test steps it, as package lab does on its virtual clock.
func (e *fleetEnv) driven(name string) *instance {
	e.t.Helper()
	e.cfg.Driven = true
	e.cfg.FlushInterval = 10 * time.Second
	defer func() { e.cfg.Driven, e.cfg.FlushInterval = false, time.Hour }()
	b, err := breaker.New(breaker.Config[int]{
		Name: "dep", Policy: policy.Consecutive(1), OpenTimeout: 30 * time.Second,
		HalfOpenProbes: 3, Clock: e.clk,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := e.cfg
	cfg.Instance, cfg.Store = name, e.store
	co, err := fleet.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = co.Close() })
	if _, err := co.Attach(b); err != nil {
		e.t.Fatal(err)
	}
	if n := co.Step(); n != 1 {
		e.t.Fatalf("the first Step ran %d hand-offs, want 1: the first read of the record", n)
	}
	return &instance{t: e.t, b: b, co: co}
}

// A driven coordinator follows the same rules as one that runs itself
// (quorum, K probes fleet-wide, close after K successes) with no goroutine
// of its own: its work waits for Step, and the probe gate answers on the
// caller's goroutine.
func TestDrivenCoordinator(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		before := runtime.NumGoroutine()
		a, b, c := e.driven("a"), e.driven("b"), e.driven("c")
		if n := runtime.NumGoroutine(); n > before {
			t.Fatalf("%d goroutines after three driven coordinators, %d before", n, before)
		}
		fail := func(i *instance) {
			_, _ = i.b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDown })
		}
		fail(a)
		fail(b)
		if s := a.co.Stats(); s.TripsSent != 0 {
			t.Fatalf("a trip was sent before Step: %+v", s)
		}
		if n := a.co.Step() + b.co.Step(); n != 2 {
			t.Fatalf("Step ran %d hand-offs, want the two trips", n)
		}
		c.wantState(breaker.Closed) // it has heard nothing yet
		if n := c.co.Step(); n != 0 {
			t.Fatalf("c ran %d hand-offs, want none", n)
		}
		c.wantState(breaker.Closed) // and its flush is not due
		e.clk.Add(10 * time.Second) // the FlushInterval
		c.co.Step()
		c.wantState(breaker.Open)
		if m := c.b.Metrics(); m.ExternalOpens != 1 || m.Until.Sub(e.clk.Now()) != 20*time.Second {
			t.Fatalf("c's metrics %+v: want one external open for the fleet's remaining 20s", m)
		}
		e.clk.Add(20 * time.Second)
		for _, i := range []*instance{a, b} {
			i.sync()
		}
		p1, err1 := a.b.Allow()
		p2, err2 := b.b.Allow()
		if err1 != nil || err2 != nil {
			t.Fatalf("the fleet's two probes: %v, %v", err1, err2)
		}
		if _, err := c.b.Allow(); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("a third probe fleet-wide (K=2): %v, want ErrOpen", err)
		}
		if s := c.co.Stats(); s.ProbesRejected != 1 || s.GateTimeouts != 0 {
			t.Fatalf("c's stats %+v: want one rejection, no gate timeout", s)
		}
		p1.Done(1, nil)
		p2.Done(1, nil)
		if n := a.co.Step() + b.co.Step(); n != 2 {
			t.Fatalf("Step ran %d hand-offs, want the two probe reports", n)
		}
		for _, i := range []*instance{a, b, c} {
			i.sync()
			i.wantState(breaker.Closed)
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Fatalf("%d goroutines after a whole outage of driven coordinators, %d before", n, before)
		}
	})
}

// Step does nothing on a coordinator that runs itself.
func TestStepUndriven(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	a := e.instance("a", nil)
	if n := a.co.Step(); n != 0 {
		t.Fatalf("Step ran %d hand-offs on a coordinator that runs itself", n)
	}
}

// A zero Backoff.Max means what it means to the breaker: ten times
// OpenTimeout.
func TestBackoffZeroMax(t *testing.T) {
	co, err := fleet.New(fleet.Config{Store: fleet.NewMemory(epochs.Mock(epochs.Today)), Driven: true,
		OpenTimeout: 3 * time.Second, Backoff: &breaker.Backoff{}})
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if p := co.Params(); p.BackoffMax != 30*time.Second || p.BackoffFactor != breaker.DefaultBackoffFactor {
		t.Fatalf("params %+v: want Max 30s and the default factor", p)
	}
}
