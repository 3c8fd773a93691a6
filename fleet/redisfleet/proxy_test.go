package redisfleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet/redisfleet"
	"github.com/tripwire-go/tripwire/fleet/redisfleet/internal/redistest"
)

// TestNetworkFaultsDegradeAndResync: instance a reaches a real
// redis-server through a proxy that injects faults, b directly. Under
// latency beyond the gate timeout, a partition, and dropped connections,
// a works as a local breaker (it opens, probes and closes on its own) and
// no call waits beyond the gate timeout; when the fault ends, a reads the
// fleet's record again and adopts what it missed.
func TestNetworkFaultsDegradeAndResync(t *testing.T) {
	srv := redistest.Start(t)
	px := redistest.NewProxy(t, "unix", srv.Sock)
	client := func(o *redis.Options) *redisfleet.Store {
		c := redis.NewClient(o)
		t.Cleanup(func() { _ = c.Close() })
		return redisfleet.New(c, redisfleet.Options{Prefix: "px"})
	}
	dep := &flakyDep{}
	a := newInstance(t, "a", "dep", client(standaloneOptions("tcp", px.Addr())), dep)
	b := newInstance(t, "b", "dep", client(standaloneOptions("unix", srv.Sock)), dep)
	ctx := context.Background()
	eventually(t, "warm-up: the coordinators in touch with the store", 3*time.Second, settled(a, b))
	checkWaits(t, "warm-up", a, b)

	// heal ends the fault, and waits until a is in touch with the store
	// again and both instances are closed.
	heal := func(phase string, start time.Time) {
		t.Helper()
		px.Heal()
		d := eventually(t, phase+": a in touch with the store again", 5*time.Second, settled(a))
		eventually(t, phase+": every instance closed", 5*time.Second, states(breaker.Closed, a, b))
		w, deg := checkWaits(t, phase, a, b)
		t.Logf("%s: longest call wait %v; degraded (a, b): %v; a resynchronised %v after the fault ended; %v in all",
			phase, w.Round(100*time.Microsecond), deg, d.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
	// outage makes the dependency fail until the instances open are open,
	// then recover until a has closed: with a cut off, by its own probes.
	outage := func(phase string, open ...*instance) {
		t.Helper()
		dep.failing.Store(true)
		eventually(t, phase+": open", 3*time.Second, states(breaker.Open, open...))
		dep.failing.Store(false)
		eventually(t, phase+": a closed", 5*time.Second, states(breaker.Closed, a))
	}

	// Latency beyond the step timeout: a's store steps fail, and a works
	// on its own.
	start := time.Now()
	before := a.co.Stats()
	px.SetLatency(2 * fxStep)
	eventually(t, "latency: a degraded", 3*time.Second, a.co.Degraded)
	outage("latency", a, b)
	if !a.co.Degraded() {
		t.Error("latency: a no longer degraded while its store is too slow to answer")
	}
	if s := a.co.Stats(); s.ProbesLocal == before.ProbesLocal {
		t.Errorf("latency: no probe of a decided locally: %+v", s)
	}
	heal("latency beyond the step timeout", start)

	// Latency beyond the gate timeout but within the step timeout: a's
	// steps reach the store, but its probe candidates do not wait for the
	// store's answer. b makes no calls, so that the probes are a's.
	start = time.Now()
	before = a.co.Stats()
	b.idle.Store(true)
	px.SetLatency(2 * fxGate)
	outage("slow store", a)
	s := a.co.Stats()
	if s.GateTimeouts == before.GateTimeouts && s.ProbesLocal == before.ProbesLocal {
		t.Errorf("slow store: every probe candidate of a waited for the store: %+v", s)
	}
	t.Logf("slow store: probe candidates of a: %d admitted by the fleet, %d decided locally, %d after the whole gate timeout; a degraded now: %v",
		s.ProbesAdmitted-before.ProbesAdmitted, s.ProbesLocal-before.ProbesLocal, s.GateTimeouts-before.GateTimeouts, a.co.Degraded())
	// A store that answers after the gate timeout is, for the K bound, a
	// store that does not answer: the coordinator says so (fault 19).
	if s.GateTimeouts == before.GateTimeouts {
		t.Errorf("slow store: no probe candidate of a waited out the gate timeout: %+v", s)
	}
	if !s.Slow || !s.Degraded {
		t.Errorf("slow store: a answers every step after the gate timeout, but Stats says slow %v, degraded %v", s.Slow, s.Degraded)
	}
	b.idle.Store(false)
	heal("latency beyond the gate timeout", start)

	// A partition: a hears nothing, while the fleet is forced open; a
	// keeps calling as a closed local breaker, and adopts the forced open
	// once the partition heals.
	start = time.Now()
	px.Blackhole()
	eventually(t, "partition: a degraded", 3*time.Second, a.co.Degraded)
	if err := b.co.ForceOpen(ctx, "dep"); err != nil {
		t.Fatal(err)
	}
	calls := a.calls.Load()
	eventually(t, "partition: a calls on", time.Second, func() bool { return a.calls.Load() > calls+10 })
	if m := a.b.Metrics(); m.State != breaker.Closed || m.Mode != breaker.ModeNone {
		t.Fatalf("partition: a is %v (mode %v), want closed: it cannot have heard of the forced open", m.State, m.Mode)
	}
	px.Heal()
	d := eventually(t, "partition healed: a adopts the forced open", 5*time.Second, func() bool {
		return a.b.Metrics().Mode == breaker.ModeForcedOpen
	})
	if err := b.co.Clear(ctx, "dep"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "cleared: a back to no mode", 5*time.Second, func() bool { return a.b.Metrics().Mode == breaker.ModeNone })
	eventually(t, "partition healed: every instance closed", 5*time.Second, states(breaker.Closed, a, b))
	w, deg := checkWaits(t, "partition", a, b)
	t.Logf("partition: a adopted the fleet's forced open %v after the partition healed; longest call wait %v; degraded (a, b): %v; %v in all",
		d.Round(time.Millisecond), w.Round(100*time.Microsecond), deg, time.Since(start).Round(time.Millisecond))

	// Dropped connections: the client dials again.
	start = time.Now()
	px.Drop()
	outage("dropped connections", a, b)
	heal("dropped connections", start)
}
