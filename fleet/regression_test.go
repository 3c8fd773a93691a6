package fleet_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// The regression tests of issue 18's fleet faults (and issue 19's items
// 2 and 10), each named after its fault. Each failed on 04e6d61.

// instanceWith is e.instance with the breaker's config given: Name "dep",
// the clock and Consecutive(1) are filled in when left zero.
func (e *fleetEnv) instanceWith(name string, store fleet.Store, bc breaker.Config[int]) *instance {
	e.t.Helper()
	if bc.Name == "" {
		bc.Name = "dep"
	}
	if bc.Policy == nil {
		bc.Policy = policy.Consecutive(1)
	}
	if bc.OpenTimeout == 0 {
		bc.OpenTimeout = 30 * time.Second
	}
	bc.Clock = e.clk
	b, err := breaker.New(bc)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := e.cfg
	cfg.Instance = name
	if store == nil {
		store = e.store
	}
	cfg.Store = store
	co, err := fleet.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = co.Close() })
	if _, err := co.Attach(b); err != nil {
		e.t.Fatal(err)
	}
	fleet.Drain(co)
	return &instance{t: e.t, b: b, co: co}
}

// attachDriven makes a breaker of bc (on e's clock) and attaches it to a
// new driven coordinator of instance name on store (nil: e's), closed when
// the test ends. Nothing is drained: the first read stays queued, for the
// test to step.
func (e *fleetEnv) attachDriven(name string, store fleet.Store, bc breaker.Config[int]) (*breaker.Breaker[int], *fleet.Coordinator, func()) {
	e.t.Helper()
	bc.Clock = e.clk
	b, err := breaker.New(bc)
	if err != nil {
		e.t.Fatal(err)
	}
	if store == nil {
		store = e.store
	}
	cfg := e.cfg
	cfg.Instance, cfg.Store, cfg.Driven = name, store, true
	co, err := fleet.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = co.Close() })
	detach, err := co.Attach(b)
	if err != nil {
		e.t.Fatal(err)
	}
	return b, co, detach
}

// record reads the fleet's record of "dep" straight from the store.
func (e *fleetEnv) record() fleet.Record {
	e.t.Helper()
	recs, errs, err := e.store.Flush(context.Background(), []fleet.Counts{{Name: "dep", Instance: "reader"}}, fleet.Params{Retention: fleet.DefaultRetention})
	if err != nil || len(recs) != 1 || errs[0] != nil {
		e.t.Fatalf("reading the record: %v %v %v", recs, errs, err)
	}
	return recs[0]
}

// withWatchdog fails the test if f has not returned within a generous
// real-time bound: the faults it guards against hang for good.
func withWatchdog(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still blocked after 10s: deadlock", what)
	}
}

// Fault 1: a callback of an attached breaker that makes a call while the
// coordinator adopts a record reached the probe gate, whose "full" answer
// adopted again and took the per-circuit lock the adoption held: the
// coordinator hung for good, and Close after it.
func TestFault1CallbackCallDeadlocks(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	e.cfg.Quorum, e.cfg.Probes = 1, 1
	a := e.instance("a", nil)
	var b *breaker.Breaker[int]
	var co *fleet.Coordinator
	var inCallback atomic.Int32
	var err error
	b, err = breaker.New(breaker.Config[int]{
		Name: "dep", Policy: policy.Consecutive(1), OpenTimeout: 30 * time.Second, HalfOpenProbes: 3, Clock: e.clk,
		OnStateChange: func(_ string, _, to breaker.State) {
			if to == breaker.Open && inCallback.Add(1) == 1 {
				// A call, and a Sync, from the callback of an adoption.
				_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, nil })
				_ = co.Sync(context.Background())
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.cfg
	cfg.Instance, cfg.Store = "b", e.store
	co, err = fleet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := co.Attach(b); err != nil {
		t.Fatal(err)
	}
	fleet.Drain(co)
	a.fail() // the fleet opens (quorum 1)
	e.clk.Add(30 * time.Second)
	p, err := a.b.Allow() // a holds the fleet's one lease
	if err != nil {
		t.Fatalf("a's probe: %v", err)
	}
	defer p.Release()
	withWatchdog(t, "Sync adopting the half-open record", func() {
		// b adopts the half-open record (closed → open for 0); its
		// callback's call is a probe candidate that the store finds full.
		_ = co.Sync(context.Background())
		fleet.Settle(co)
	})
	if inCallback.Load() == 0 {
		t.Fatal("the callback never ran: the scenario did not happen")
	}
	withWatchdog(t, "Close", func() { _ = co.Close() })
}

// hookStore runs a hook inside a step, after the inner store answered.
type hookStore struct {
	fleet.Store
	mu        sync.Mutex
	onAcquire func()
}

func (h *hookStore) AcquireProbe(ctx context.Context, n string, q fleet.ProbeRequest, p fleet.Params) (fleet.Verdict, fleet.Record, error) {
	v, r, err := h.Store.AcquireProbe(ctx, n, q, p)
	h.mu.Lock()
	f := h.onAcquire
	h.onAcquire = nil
	h.mu.Unlock()
	if f != nil {
		f()
	}
	return v, r, err
}

// Fault 2: the gate's "not due" answer was adopted without checking that
// its record was still the newest: a fleet-wide Disable that landed while
// the gate asked was replaced, and the instance opened, out of the
// disabled mode.
func TestFault2NotDueOverridesNewerDisable(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		e.cfg.Quorum = 1
		e.cfg.OpenTimeout = time.Minute
		hs := &hookStore{Store: e.store}
		a := e.instance("a", hs)
		a.fail() // the fleet opens for a minute
		a.wantState(breaker.Open)
		a.b.TripFor(time.Second) // a's own period is shorter
		e.clk.Add(time.Second)
		hs.mu.Lock()
		hs.onAcquire = func() {
			if err := a.co.Disable(context.Background(), "dep"); err != nil {
				t.Errorf("Disable: %v", err)
			}
		}
		hs.mu.Unlock()
		_, _ = a.b.Allow() // the candidate: "not due"
		fleet.Drain(a.co)
		if m := a.b.Metrics(); m.Mode != breaker.ModeDisabled || m.State != breaker.Closed {
			t.Fatalf("after the fleet's Disable: %v, mode %v; an older answer replaced it", m.State, m.Mode)
		}
	})
}

// Fault 3: ProbeDone named no probe, so the coordinator reported the last
// lease of the generation: a hung probe's late success counted under a live
// lease, and the live probe's failure was dropped under the expired one.
// The fleet stayed half-open after a leased probe failed.
func TestFault3ProbeResultUnderWrongLease(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		a, b := e.instance("a", nil), e.instance("b", nil)
		a.fail()
		b.fail()
		a.sync()
		e.clk.Add(30 * time.Second)
		hung, err := a.b.Allow() // lease 1, expires in 5s
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Add(3 * time.Second)
		live, err := a.b.Allow() // lease 2, expires in 5s
		if err != nil {
			t.Fatal(err)
		}
		half := e.record()
		e.clk.Add(3 * time.Second) // lease 1 expired
		hung.Done(0, nil)          // too late: must not count
		fleet.Drain(a.co)
		live.Done(0, errDown) // a leased probe failed: the fleet reopens
		fleet.Drain(a.co)
		if r := e.record(); r.State != breaker.Open || r.Generation != half.Generation+1 {
			t.Fatalf("after a leased probe failed: %+v, want open at generation %d", r, half.Generation+1)
		}
	})
}

// Fault 4: with breakers whose HalfOpenProbes (CloseAfter) is below K,
// every replica closed locally after its one probe, the record stayed
// half-open short of K for good, and at the next outage a quorum of trips
// did not open the fleet.
func TestFault4QuorumLostAfterLocalCloses(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		e.cfg.Probes = 3
		one := breaker.Config[int]{HalfOpenProbes: 1}
		a, b := e.instanceWith("a", nil, one), e.instanceWith("b", nil, one)
		a.fail()
		b.fail()
		a.sync()
		e.clk.Add(30 * time.Second)
		for _, i := range []*instance{a, b} {
			p, err := i.b.Allow()
			if err != nil {
				t.Fatalf("%s's probe: %v", i.co.Instance(), err)
			}
			p.Done(1, nil)
			fleet.Drain(i.co)
			i.wantState(breaker.Closed)
		}
		a.sync()
		b.sync()
		e.clk.Add(time.Minute)
		a.fail()
		b.fail() // the next outage: a quorum of trips
		if r := e.record(); r.State != breaker.Open {
			t.Fatalf("a quorum of trips after local closes: record %+v, want open", r)
		}
	})
}

// countingFlushStore counts what flushes bring the store, and holds the first flush
// with counts until a second flush arrives or a bound passes.
type countingFlushStore struct {
	fleet.Store
	mu       sync.Mutex
	failures uint64
	taken    map[string][2]uint64
	calls    int
	second   chan struct{}
}

func (c *countingFlushStore) Flush(ctx context.Context, b []fleet.Counts, p fleet.Params) ([]fleet.Record, []error, error) {
	c.mu.Lock()
	c.calls++
	n := c.calls
	// What the store takes: a Counts with a Sender adds what its totals
	// add to those taken before.
	if c.taken == nil {
		c.taken = map[string][2]uint64{}
	}
	for _, x := range b {
		t := c.taken[x.Sender]
		_, addF, keepS, keepF := x.Take(t[0], t[1])
		c.taken[x.Sender] = [2]uint64{keepS, keepF}
		c.failures += addF
	}
	c.mu.Unlock()
	switch n {
	case 1:
		select { // overlap: a second flush while this one is out
		case <-c.second:
		case <-time.After(200 * time.Millisecond):
		}
	case 2:
		close(c.second)
	}
	return c.Store.Flush(ctx, b, p)
}

// Fault 5: a Sync overlapping the periodic flush (or two Syncs) sent the
// same counts twice, inflating the fleet's failure rate.
func TestFault5CountsSentTwice(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	e.cfg.FailureRate, e.cfg.MinCalls = 0.9, 1000
	cs := &countingFlushStore{Store: e.store, second: make(chan struct{})}
	b, co, _ := e.attachDriven("a", cs, breaker.Config[int]{Name: "dep", Policy: policy.Consecutive(100), CountCalls: true})
	for range 10 {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDown })
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = co.Sync(context.Background())
		}()
	}
	wg.Wait()
	_ = co.Sync(context.Background())
	if cs.failures != 10 {
		t.Fatalf("the store was sent %d failures for 10", cs.failures)
	}
}

// hookCircuit runs a hook when a coordinator subscribes to it.
type hookCircuit struct {
	*breaker.Breaker[int]
	onSubscribe func()
	onGate      func() // before the first SetProbeGate
	gate        breaker.ProbeGate
}

func (h *hookCircuit) SetProbeGate(g breaker.ProbeGate) {
	if f := h.onGate; f != nil && g != nil {
		h.onGate = nil
		f()
	}
	h.gate = g
	h.Breaker.SetProbeGate(g)
}

func (h *hookCircuit) Subscribe(fn func(breaker.Transition)) func() {
	if h.onSubscribe != nil {
		h.onSubscribe()
	}
	return h.Breaker.Subscribe(fn)
}

// Fault 6: Close during Attach panicked: the member was published before
// its subscription's cancel function was set.
func TestFault6CloseDuringAttachPanics(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	b, err := breaker.New(breaker.Config[int]{Name: "dep", Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.cfg
	cfg.Instance, cfg.Store = "a", e.store
	co, err := fleet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &hookCircuit{Breaker: b, onSubscribe: func() { _ = co.Close() }}
	var panicked any
	func() {
		defer func() { panicked = recover() }()
		_, err = co.Attach(h)
	}()
	if panicked != nil {
		t.Fatalf("Close during Attach panicked: %v", panicked)
	}
	if !errors.Is(err, fleet.ErrClosed) {
		t.Fatalf("Attach during Close: %v, want ErrClosed", err)
	}
}

// Fault 7: work queued for a breaker before its detach still ran after
// it: the first read adopted the fleet's record, or marked the member
// unreadable after detach had cleared it, so Degraded stayed true for good.
func TestFault7WorkAfterDetach(t *testing.T) {
	t.Run("adopts", func(t *testing.T) {
		e := newFleetEnv(t, epochs.Today)
		e.cfg.Quorum = 1
		a := e.instance("a", nil)
		a.fail() // the fleet is open
		// Attaching queues the first read.
		b, co, detach := e.attachDriven("b", nil, breaker.Config[int]{Name: "dep"})
		detach()
		co.Step()
		if m := b.Metrics(); m.State != breaker.Closed || m.ExternalOpens != 0 {
			t.Fatalf("a detached breaker adopted the fleet's record: %+v", m)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		e := newFleetEnv(t, epochs.Today)
		fs := &faultyStore{Store: e.store}
		fs.set(false, false, true) // every record is unreadable
		_, co, detach := e.attachDriven("b", fs, breaker.Config[int]{Name: "dep"})
		detach()
		co.Step()
		if co.Degraded() {
			t.Fatal("degraded for good by a breaker detached before its first read")
		}
	})
}

func (f *faultyStore) Force(ctx context.Context, n string, m fleet.Mode, p fleet.Params) (fleet.Record, error) {
	if err := f.fault(ctx); err != nil {
		return fleet.Record{}, err
	}
	r, err := f.Store.Force(ctx, n, m, p)
	return f.mangle(r), err
}

// Fault 8: an operator call whose own context ended marked the store as
// failed: Degraded, and the K bound lifted until the next good step.
func TestFault8OperatorContextIsNotStoreHealth(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	fs := &faultyStore{Store: e.store}
	a := e.instance("a", fs)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.co.ForceOpen(ctx, "dep"); err == nil {
		t.Fatal("ForceOpen with a canceled context succeeded")
	}
	if a.co.Degraded() {
		t.Fatal("degraded by the operator's canceled context")
	}
	fs.set(false, true, false) // the store hangs until the step's context ends
	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := a.co.Disable(ctx, "dep"); err == nil {
		t.Fatal("Disable past its deadline succeeded")
	}
	if a.co.Degraded() {
		t.Fatal("degraded by the operator's deadline")
	}
}

// Fault 9: FailureRate missed its own boundary: 0.55*100 is a hair above
// 55, so 55 failures in 100 calls did not open at 0.55.
func TestFault9FailureRateBoundary(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	m := fleet.NewMemory(clk)
	p := fleet.Params{Quorum: 2, QuorumWindow: time.Second, OpenTimeout: time.Second, BackoffFactor: 1, BackoffMax: time.Second,
		Probes: 1, ProbeTimeout: time.Second, FailureRate: 0.55, MinCalls: 100, RateWindow: 10 * time.Second, Retention: time.Hour}
	recs, _, err := m.Flush(context.Background(), []fleet.Counts{{Name: "dep", Instance: "a", Successes: 45, Failures: 55}}, p)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].State != breaker.Open {
		t.Fatalf("55 failures of 100 at a rate of 0.55: %+v, want open", recs[0])
	}
}

// Fault 10: Params.OpenFor returned a negative period when the float
// period was exactly 2^63 ns.
func TestFault10OpenForOverflow(t *testing.T) {
	p := fleet.Params{OpenTimeout: 1 << 33, BackoffFactor: 1 << 30, BackoffMax: 1<<63 - 1}
	if d := p.OpenFor(2); d <= 0 {
		t.Fatalf("OpenFor(2) = %v, want the longest period", d)
	}
}

// Fault 16: after the record was lost during an outage, only a breaker's
// first policy trip reached the store, never a reopen after a failed probe:
// the recreated record stayed closed and every probe was decided locally.
func TestFault16LostRecordNeverReforms(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		a, b := e.instance("a", nil), e.instance("b", nil)
		a.fail()
		b.fail()
		a.sync()
		b.sync()
		e.store.(*fleet.Memory).Drop("dep")
		e.clk.Add(30 * time.Second)
		for _, i := range []*instance{a, b} {
			i.fail() // a probe, decided locally, fails: the breaker reopens
			i.wantState(breaker.Open)
		}
		if r := e.record(); r.State != breaker.Open {
			t.Fatalf("two reopens after the record was lost: %+v, want the fleet open again", r)
		}
	})
}

// Fault 17: a member that closed its coordinator while holding probe
// leases blocked the fleet's probes for the whole probe timeout.
func TestFault17CloseKeepsLeases(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		e.cfg.Probes = 1
		a, b := e.instance("a", nil), e.instance("b", nil)
		a.fail()
		b.fail()
		a.sync()
		b.sync()
		e.clk.Add(30 * time.Second)
		if _, err := a.b.Allow(); err != nil { // the fleet's one lease
			t.Fatal(err)
		}
		if err := a.co.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := b.b.Allow(); err != nil {
			t.Fatalf("a probe after the lease holder closed: %v; its lease was not given back", err)
		}
	})
}

// Fault 18: the same breaker attached to two coordinators in one process
// was accepted silently, and counted twice toward the quorum.
func TestFault18BreakerOnTwoCoordinators(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	a := e.instance("a", nil)
	cfg := e.cfg
	cfg.Instance, cfg.Store = "a2", e.store
	co, err := fleet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if _, err := co.Attach(a.b); err == nil {
		t.Fatal("a breaker attached to a second coordinator was accepted")
	}
}

// Fault 18: members whose fleet rules differ mixed them silently. A
// record carries the rules it was made under; a member whose own differ
// logs it, once.
func TestFault18RulesDifferLogged(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	a := e.instance("a", nil)
	e.cfg.Probes = 1
	b := e.instance("b", nil)
	a.fail()
	b.fail() // b's trip opens the record, under b's rules
	a.sync()
	a.sync()
	n := 0
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, "other rules") && strings.Contains(l, "instance=a") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d log lines of a about other rules, want 1:\n%s", n, e.logs.String())
	}
}

// slowAcquireStore holds AcquireProbe, while slow, until hold is closed:
// a store that answers, late.
type slowAcquireStore struct {
	fleet.Store
	slow atomic.Bool
	hold chan struct{}
}

func (s *slowAcquireStore) AcquireProbe(ctx context.Context, n string, q fleet.ProbeRequest, p fleet.Params) (fleet.Verdict, fleet.Record, error) {
	if s.slow.Load() {
		select {
		case <-s.hold:
		case <-ctx.Done():
			return 0, fleet.Record{}, ctx.Err()
		}
	}
	return s.Store.AcquireProbe(ctx, n, q, p)
}

// Fault 19: a store that answers after the gate timeout is, for the K
// bound, a store that does not answer, yet Degraded stayed false, and
// every candidate of every half-open period waited the whole gate timeout.
func TestFault19SlowStoreIsDegraded(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	ss := &slowAcquireStore{Store: e.store, hold: make(chan struct{})}
	a, b := e.instance("a", ss), e.instance("b", nil)
	a.fail()
	b.fail()
	a.sync()
	e.clk.Add(30 * time.Second)
	ss.slow.Store(true)
	if _, err := a.b.Allow(); err != nil {
		t.Fatalf("a candidate with the store slow: %v, want the local decision", err)
	}
	if !a.co.Degraded() || !a.co.Stats().Slow {
		t.Fatalf("after a gate timeout: degraded %v, stats %+v", a.co.Degraded(), a.co.Stats())
	}
	if _, err := a.b.Allow(); err != nil {
		t.Fatalf("a second candidate: %v", err)
	}
	if n := a.co.Stats().GateTimeouts; n != 1 {
		t.Fatalf("%d candidates waited the whole gate timeout, want 1: the others decide at once", n)
	}
	ss.slow.Store(false)
	close(ss.hold) // the late answer comes
	a.sync()       // a step that answers in time
	if a.co.Degraded() {
		t.Fatalf("still degraded once the store answers in time: %+v", a.co.Stats())
	}
}

// Issue 19, item 10: the instance whose trip opened the fleet adopted the
// fleet's open record too, and reported a redundant open → open transition
// (logged as a WARN by slogbreaker).
func TestTripperAdoptsNoRedundantOpen(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		e.cfg.Quorum = 1
		a := e.instance("a", nil)
		var got []string
		a.b.Subscribe(func(tr breaker.Transition) {
			got = append(got, tr.From.String()+"→"+tr.To.String()+" "+tr.Cause.String())
		})
		a.fail()
		a.sync()
		if len(got) != 1 || got[0] != "closed→open policy" {
			t.Fatalf("transitions %q, want only the trip", got)
		}
	})
}

// Issue 19, item 2: the fleet silently replaced the breaker's open period:
// a breaker with OpenTimeout 2s attached with docs/fleet.md's setup opened
// for the fleet's default 60s after a trip. With OpenTimeout and Backoff
// unset, the fleet follows each breaker's own.
func TestFleetFollowsBreakerOpenPeriod(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	cfg := fleet.Config{Store: e.store, Instance: "a", Quorum: 1, Clock: e.clk, FlushInterval: time.Hour, Logger: e.cfg.Logger}
	b, err := breaker.New(breaker.Config[int]{Name: "dep", Policy: policy.Consecutive(1), OpenTimeout: 2 * time.Second, Clock: e.clk,
		Backoff: &breaker.Backoff{Factor: 3, Max: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	co, err := fleet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if _, err := co.Attach(b); err != nil {
		t.Fatal(err)
	}
	fleet.Drain(co)
	a := &instance{t: t, b: b, co: co}
	a.fail()
	a.sync()
	if got := b.Metrics().Until.Sub(e.clk.Now()); got != 2*time.Second {
		t.Fatalf("open for %v after a trip, want the breaker's own 2s", got)
	}
	if r := e.record(); r.State != breaker.Open || r.Remaining != 2*time.Second {
		t.Fatalf("the fleet's record %+v: want open for the breaker's 2s", r)
	}
	if p, _ := co.ParamsOf("dep"); p.OpenTimeout != 2*time.Second || p.BackoffFactor != 3 || p.BackoffMax != time.Minute {
		t.Fatalf("ParamsOf: %+v, want the breaker's period and backoff", p)
	}
}

// Issue 19, item 2: a fleet period set in Config replaces the breaker's,
// and Attach says so.
func TestFleetPeriodSetSaysItReplaces(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	e.cfg.OpenTimeout = time.Minute
	e.instanceWith("a", nil, breaker.Config[int]{OpenTimeout: 2 * time.Second})
	if !strings.Contains(e.logs.String(), "replaces the breaker's own") {
		t.Fatalf("Attach did not say that the fleet's period replaces the breaker's:\n%s", e.logs.String())
	}
}

// Issue 18, "worth a look": a record that waited before it was applied
// lengthened the local open period by its wait. A record's Remaining is
// measured when the store answered; the time it then waits in the
// coordinator (here, behind a slow callback of another breaker) is taken
// off.
func TestDelayedRecordDoesNotLengthenOpenPeriod(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	e.cfg.Quorum = 1
	p := fleet.Params{Quorum: 1, QuorumWindow: time.Second, OpenTimeout: 30 * time.Second, BackoffFactor: 1,
		BackoffMax: 30 * time.Second, Probes: 1, ProbeTimeout: time.Second, Retention: time.Hour}
	for _, n := range []string{"dep1", "dep2"} {
		if _, err := e.store.Trip(context.Background(), n, fleet.TripRequest{Instance: "x"}, p); err != nil {
			t.Fatal(err)
		}
	}
	until := e.clk.Now().Add(30 * time.Second)
	cfg := e.cfg
	cfg.Instance, cfg.Store, cfg.Driven = "a", e.store, true
	co, err := fleet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	var slow sync.Once
	var bs []*breaker.Breaker[int]
	for _, n := range []string{"dep1", "dep2"} {
		b, err := breaker.New(breaker.Config[int]{Name: n, OpenTimeout: 30 * time.Second, Clock: e.clk,
			OnStateChange: func(string, breaker.State, breaker.State) { slow.Do(func() { e.clk.Add(5 * time.Second) }) }})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := co.Attach(b); err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	if err := co.Sync(context.Background()); err != nil { // both records, read at once
		t.Fatal(err)
	}
	for _, b := range bs {
		if m := b.Metrics(); m.State != breaker.Open || !m.Until.Equal(until) {
			t.Fatalf("%s: %v until %v, want open until the fleet's %v", b.Name(), m.State, m.Until, until)
		}
	}
}

// Rule 1, driven: a callback of an adoption that Step made calls Step,
// Sync, an operator action and the breaker again; none of them blocks.
func TestDrivenCallbacksCallBack(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	e.cfg.Quorum = 1
	cfg := e.cfg
	cfg.Instance, cfg.Store, cfg.Driven = "a", e.store, true
	co, err := fleet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	var b *breaker.Breaker[int]
	var calls atomic.Int32
	b, err = breaker.New(breaker.Config[int]{
		Name: "dep", Policy: policy.Consecutive(1), OpenTimeout: 30 * time.Second, Clock: e.clk,
		OnStateChange: func(_ string, _, to breaker.State) {
			if calls.Add(1) > 3 {
				return
			}
			ctx := context.Background()
			co.Step()
			_ = co.Sync(ctx)
			_, _ = b.Execute(ctx, func(context.Context) (int, error) { return 0, nil })
			if to == breaker.Open {
				_ = co.Disable(ctx, "dep")
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := co.Attach(b); err != nil {
		t.Fatal(err)
	}
	withWatchdog(t, "a driven outage with callbacks that call back", func() {
		co.Step()
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDown })
		co.Step()
		e.clk.Add(30 * time.Second)
		co.Step()
		_ = co.Sync(context.Background())
	})
	if m := b.Metrics(); m.Mode != breaker.ModeDisabled {
		t.Fatalf("the callback's Disable was not adopted: %+v", m)
	}
}

// lossyFlushStore takes each flush to the store, or not, and loses its
// answer, or sends it twice (as a cluster pipeline that timed out on one
// master sends again what the others applied), as told.
type lossyFlushStore struct {
	fleet.Store
	mu     sync.Mutex
	before int // flushes with counts failed before the store
	after  int // flushes with counts whose answer is lost
	twice  int // flushes with counts that reach the store twice
}

var errLost = errors.New("answer lost")

func (l *lossyFlushStore) Flush(ctx context.Context, b []fleet.Counts, p fleet.Params) ([]fleet.Record, []error, error) {
	counts := false
	for _, c := range b {
		counts = counts || c.Successes+c.Failures > 0
	}
	l.mu.Lock()
	before, after, twice := counts && l.before > 0, counts && l.before == 0 && l.after > 0, counts && l.twice > 0
	switch {
	case before:
		l.before--
	case after:
		l.after--
	case twice:
		l.twice--
	}
	l.mu.Unlock()
	if before {
		return nil, nil, errLost
	}
	if twice {
		if _, _, err := l.Store.Flush(ctx, b, p); err != nil {
			return nil, nil, err
		}
	}
	recs, errs, err := l.Store.Flush(ctx, b, p)
	if after && err == nil {
		return nil, nil, errLost
	}
	return recs, errs, err
}

// countsEnv is one driven instance counting its calls toward a fleet-wide
// failure rate of 0.5 over at least minCalls calls.
func countsEnv(t *testing.T, minCalls int, st func(fleet.Store) fleet.Store) (*breaker.Breaker[int], *fleet.Coordinator, fleet.Store, func()) {
	t.Helper()
	e := newFleetEnv(t, epochs.Today)
	e.cfg.FailureRate, e.cfg.MinCalls = 0.5, minCalls
	b, co, detach := e.attachDriven("a", st(e.store), breaker.Config[int]{Name: "dep", Policy: policy.Consecutive(1000), CountCalls: true})
	return b, co, e.store, detach
}

// mustSync runs one Sync of co, which the test needs to succeed.
func mustSync(t *testing.T, co *fleet.Coordinator) {
	t.Helper()
	if err := co.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func fail(b *breaker.Breaker[int], n int) {
	for range n {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDown })
	}
}

func readRecord(t *testing.T, st fleet.Store) fleet.Record {
	t.Helper()
	recs, _, err := st.Flush(context.Background(), []fleet.Counts{{Name: "dep", Instance: "reader"}}, fleet.Params{Quorum: 2, QuorumWindow: time.Second, OpenTimeout: time.Second, BackoffFactor: 1, Probes: 1, ProbeTimeout: time.Second, Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return recs[0]
}

// Counts exactly once: a flush that failed before it reached the store lost
// its counts (they were marked sent before the step), so that a fleet-wide
// failure rate was reached later than it should, or never.
func TestFaultCountsLostWhenFlushFails(t *testing.T) {
	ls := &lossyFlushStore{before: 1}
	b, co, m, _ := countsEnv(t, 10, func(s fleet.Store) fleet.Store { ls.Store = s; return ls })
	fail(b, 10)
	if err := co.Sync(context.Background()); err == nil {
		t.Fatal("the first Sync should fail")
	}
	mustSync(t, co)
	if r := readRecord(t, m); r.State != breaker.Open {
		t.Fatalf("10 failures of 10 calls, sent again after a failed flush: record %+v, want open", r)
	}
}

// Counts exactly once: a batch that reached the store twice (a cluster
// pipeline sends again what one master's timeout failed), or whose answer
// was lost and that the coordinator sends again, counted twice.
func TestFaultCountsTakenTwice(t *testing.T) {
	for _, tc := range []struct {
		name string
		ls   *lossyFlushStore
	}{{"twice", &lossyFlushStore{twice: 1}}, {"answer-lost", &lossyFlushStore{after: 1}}} {
		t.Run(tc.name, func(t *testing.T) {
			b, co, m, _ := countsEnv(t, 20, func(s fleet.Store) fleet.Store { tc.ls.Store = s; return tc.ls })
			fail(b, 10)
			_ = co.Sync(context.Background())
			mustSync(t, co)
			if r := readRecord(t, m); r.State != breaker.Closed {
				t.Fatalf("10 failures counted twice: record %+v, want closed (20 calls needed)", r)
			}
			fail(b, 10)
			mustSync(t, co)
			if r := readRecord(t, m); r.State != breaker.Open {
				t.Fatalf("20 failures in all: record %+v, want open", r)
			}
		})
	}
}

// X2 (found by the simulation): a breaker detached and attached again sent
// every count it ever made again.
func TestFaultX2ReattachResendsCounts(t *testing.T) {
	b, co, m, detach := countsEnv(t, 15, func(s fleet.Store) fleet.Store { return s })
	fail(b, 10)
	mustSync(t, co)
	detach()
	if _, err := co.Attach(b); err != nil {
		t.Fatal(err)
	}
	mustSync(t, co)
	if r := readRecord(t, m); r.State != breaker.Closed {
		t.Fatalf("10 failures sent again on re-attach: record %+v, want closed (15 calls needed)", r)
	}
}

// X1 (found by the simulation): a fleet mode adopted from a record that
// was then lost is never cleared: the record created again is closed, and
// a closed record of another incarnation was not adopted.
func TestFaultX1ModeOutlivesLostRecord(t *testing.T) {
	b, co, st, _ := countsEnv(t, 10, func(s fleet.Store) fleet.Store { return s })
	if err := co.ForceOpen(context.Background(), "dep"); err != nil {
		t.Fatal(err)
	}
	if m := b.Metrics(); m.Mode != fleet.ModeForcedOpen {
		t.Fatalf("after ForceOpen: mode %v", m.Mode)
	}
	st.(*fleet.Memory).Drop("dep")
	mustSync(t, co)
	if m := b.Metrics(); m.Mode != fleet.ModeNone || m.State != breaker.Closed {
		t.Fatalf("the record was lost and created closed, but the breaker is %v in mode %v", m.State, m.Mode)
	}
}

// Found by the simulation (leases-back): detach dropped the leases of its
// breaker's probes in flight; their reports no longer reached the store,
// and the fleet waited out their ProbeTimeout.
func TestFaultDetachKeepsLeases(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	e.cfg.Quorum, e.cfg.Driven, e.cfg.Instance, e.cfg.Store = 1, true, "a", e.store
	b, err := breaker.New(breaker.Config[int]{Name: "dep", Policy: policy.Consecutive(1), OpenTimeout: 30 * time.Second, HalfOpenProbes: 1, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	co, err := fleet.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	detach, err := co.Attach(b)
	if err != nil {
		t.Fatal(err)
	}
	co.Step()
	fail(b, 1)
	co.Step()
	e.clk.Add(30 * time.Second)
	pm, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	if r := readRecord(t, e.store); r.Probing != 1 {
		t.Fatalf("a probe admitted by the fleet: record %+v, want 1 lease", r)
	}
	detach()
	co.Step()
	pm.Release()
	if r := readRecord(t, e.store); r.Probing != 0 {
		t.Fatalf("detached with a probe in flight: record %+v still counts its lease", r)
	}
}

// lateAcquireStore answers AcquireProbe late on the test's clock.
type lateAcquireStore struct {
	fleet.Store
	clk  interface{ Add(time.Duration) }
	late time.Duration
}

func (s *lateAcquireStore) AcquireProbe(ctx context.Context, name string, r fleet.ProbeRequest, p fleet.Params) (fleet.Verdict, fleet.Record, error) {
	v, rec, err := s.Store.AcquireProbe(ctx, name, r, p)
	s.clk.Add(s.late)
	return v, rec, err
}

// Fault 19, driven: a driven gate asked the store on the caller's
// goroutine and never timed out, so that a store slower than the gate
// timeout admitted probes under the K bound, and Degraded stayed false.
// The gate timeout is measured on Config.Clock when driven.
func TestFault19DrivenSlowStoreIsDegraded(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	slow := &lateAcquireStore{Store: e.store, clk: e.clk}
	e.cfg.Quorum, e.cfg.Driven, e.cfg.Instance, e.cfg.Store = 1, true, "a", slow
	b, err := breaker.New(breaker.Config[int]{Name: "dep", Policy: policy.Consecutive(1), OpenTimeout: 30 * time.Second, HalfOpenProbes: 1, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	co, err := fleet.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if _, err := co.Attach(b); err != nil {
		t.Fatal(err)
	}
	co.Step()
	fail(b, 1)
	co.Step()
	e.clk.Add(30 * time.Second)
	slow.late = 2 * fleet.DefaultGateTimeout
	pm, err := b.Allow() // decided locally: the store's answer came too late
	if err != nil {
		t.Fatal(err)
	}
	defer pm.Release()
	if st := co.Stats(); !st.Slow || !st.Degraded || st.GateTimeouts != 1 || st.ProbesAdmitted != 0 {
		t.Fatalf("a store answering after the gate timeout: %+v, want slow, degraded, one gate timeout, no lease", st)
	}
	co.Step() // gives back the lease granted too late
	if r := readRecord(t, e.store); r.Probing != 0 {
		t.Fatalf("a lease granted after the gate gave up is kept: %+v", r)
	}
}

// X1, second path (found by the simulation, seed 35): a breaker already in
// the fleet's mode when its record came (left so by the coordinator closed
// before) was not the fleet's to undo: once that record was lost, the mode
// outlived it.
func TestFaultX1ModeAlreadyInPlace(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	e.cfg.Driven, e.cfg.Store = true, e.store
	b, err := breaker.New(breaker.Config[int]{Name: "dep", Policy: policy.Consecutive(1), OpenTimeout: 30 * time.Second, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	newCo := func(name string) *fleet.Coordinator {
		cfg := e.cfg
		cfg.Instance = name
		co, err := fleet.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := co.Attach(b); err != nil {
			t.Fatal(err)
		}
		co.Step()
		return co
	}
	first := newCo("a")
	if err := first.ForceOpen(context.Background(), "dep"); err != nil {
		t.Fatal(err)
	}
	_ = first.Close()
	co := newCo("a2")
	defer co.Close()
	if err := co.ForceOpen(context.Background(), "dep"); err != nil {
		t.Fatal(err)
	}
	e.store.(*fleet.Memory).Drop("dep")
	mustSync(t, co)
	if m := b.Metrics(); m.Mode != fleet.ModeNone || m.State != breaker.Closed {
		t.Fatalf("the fleet's forced-open record was lost and created closed, but the breaker is %v in mode %v", m.State, m.Mode)
	}
}

// Found by the simulation (monotonic, seed 97): a fleet-wide Clear was not
// adopted by an instance whose record was closed already: its breaker,
// open on its own (or left in a mode by a coordinator closed before),
// stayed so, although Clear closes the circuit everywhere, as Reset does.
func TestFaultClearNotAdoptedUnderClosedRecord(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	e.cfg.Driven, e.cfg.Store, e.cfg.Instance = true, e.store, "a"
	b, err := breaker.New(breaker.Config[int]{Name: "dep", Policy: policy.Consecutive(1), OpenTimeout: 30 * time.Second, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	co, err := fleet.New(e.cfg) // quorum 2: one trip leaves the record closed
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if _, err := co.Attach(b); err != nil {
		t.Fatal(err)
	}
	co.Step()
	fail(b, 1)
	co.Step()
	if r := readRecord(t, e.store); r.State != breaker.Closed {
		t.Fatalf("one trip of a quorum of 2: record %+v", r)
	}
	if err := co.Clear(context.Background(), "dep"); err != nil {
		t.Fatal(err)
	}
	if m := b.Metrics(); m.State != breaker.Closed {
		t.Fatalf("after a fleet-wide Clear the breaker is %v", m.State)
	}
}

// corruptOnceStore answers the flush after arm with records of a newer
// protocol.
type corruptOnceStore struct {
	fleet.Store
	arm atomic.Bool
}

func (c *corruptOnceStore) Flush(ctx context.Context, b []fleet.Counts, p fleet.Params) ([]fleet.Record, []error, error) {
	recs, errs, err := c.Store.Flush(ctx, b, p)
	if c.arm.CompareAndSwap(true, false) {
		for i := range recs {
			recs[i].Version = fleet.ProtocolVersion + 1
		}
	}
	return recs, errs, err
}

// Found by the simulation (converge, seed 5909 of 50,000): a record
// unreadable once, then read again unchanged, left the coordinator
// degraded for good: only a newer record cleared the mark.
func TestFaultUnreadableOnceStaysDegraded(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	e.cfg.Driven, e.cfg.Instance = true, "a"
	cs := &corruptOnceStore{Store: e.store}
	e.cfg.Store = cs
	readRecord(t, e.store) // the record exists: every read below is the same
	b, err := breaker.New(breaker.Config[int]{Name: "dep", Policy: policy.Consecutive(1), Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	co, err := fleet.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if _, err := co.Attach(b); err != nil {
		t.Fatal(err)
	}
	co.Step() // reads and applies the record
	cs.arm.Store(true)
	_ = co.Sync(context.Background()) // unreadable
	if !co.Degraded() {
		t.Fatal("an unreadable record should make the coordinator degraded")
	}
	mustSync(t, co)
	if st := co.Stats(); st.Degraded {
		t.Fatalf("the record reads well again, but the coordinator stays degraded: %+v", st)
	}
}

// X3 (found by the simulation at 04e6d61): an Attach that Close
// interrupted could return a detach function and no error, leaving the
// closed coordinator's gate on the breaker.
func TestFaultX3AttachInterruptedByClose(t *testing.T) {
	for _, at := range []string{"subscribe", "gate"} {
		t.Run(at, func(t *testing.T) {
			e := newFleetEnv(t, epochs.Today)
			b, err := breaker.New(breaker.Config[int]{Name: "dep", Policy: policy.Consecutive(1), OpenTimeout: time.Second, Clock: e.clk})
			if err != nil {
				t.Fatal(err)
			}
			cfg := e.cfg
			cfg.Instance, cfg.Store, cfg.Driven = "a", e.store, true
			co, err := fleet.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			h := &hookCircuit{Breaker: b}
			closeNow := func() { _ = co.Close() }
			if at == "subscribe" {
				h.onSubscribe = closeNow
			} else {
				h.onGate = closeNow
			}
			if _, err := co.Attach(h); !errors.Is(err, fleet.ErrClosed) {
				t.Fatalf("Attach interrupted by Close: %v, want ErrClosed", err)
			}
			if h.gate != nil {
				t.Fatal("the closed coordinator's probe gate is left on the breaker")
			}
		})
	}
}

// lostClosedStore fails Closed while down is set, as a store that could
// not be reached at that moment.
type lostClosedStore struct {
	fleet.Store
	down bool
}

func (s *lostClosedStore) Closed(ctx context.Context, name string, c fleet.CloseRequest, p fleet.Params) (fleet.Record, error) {
	if s.down {
		return fleet.Record{}, errors.New("store unreachable")
	}
	return s.Store.Closed(ctx, name, c, p)
}

// Found by the simulation (seed 79306, converge): an instance's breaker
// closed on its own probes, but the Closed that told the store failed, and
// nothing sent it again: the flushes read the half-open record of the same
// generation and adopted nothing, so the record stayed at 2 of K=3
// successes, one close short of its quorum, with every breaker closed
// (rule 5).
func TestFaultLocalCloseNeverCounted(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	st := &lostClosedStore{Store: e.store}
	e.cfg.Driven, e.cfg.Store, e.cfg.Probes = true, st, 3
	type inst struct {
		b  *breaker.Breaker[int]
		co *fleet.Coordinator
	}
	mk := func(name string) inst {
		b, err := breaker.New(breaker.Config[int]{Name: "dep", Policy: policy.Consecutive(1), OpenTimeout: 30 * time.Second, HalfOpenProbes: 1, Clock: e.clk})
		if err != nil {
			t.Fatal(err)
		}
		cfg := e.cfg
		cfg.Instance = name
		co, err := fleet.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { co.Close() })
		if _, err := co.Attach(b); err != nil {
			t.Fatal(err)
		}
		co.Step()
		return inst{b, co}
	}
	a, b := mk("a"), mk("b")
	for _, i := range []inst{a, b} {
		fail(i.b, 1)
		i.co.Step()
	}
	if r := readRecord(t, e.store); r.State != breaker.Open {
		t.Fatalf("a quorum of trips: record %+v, want open", r)
	}
	for _, i := range []inst{a, b} {
		if err := i.co.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	e.clk.Add(30 * time.Second)
	succeed := func(i inst) {
		if _, err := i.b.Execute(context.Background(), ok); err != nil {
			t.Fatal(err)
		}
		i.co.Step()
	}
	succeed(a)
	st.down = true
	succeed(b) // its Closed is lost
	st.down = false
	if m := b.b.Metrics(); m.State != breaker.Closed {
		t.Fatalf("b's breaker after its probe: %v, want closed", m.State)
	}
	if r := readRecord(t, e.store); r.State != breaker.HalfOpen || r.Succeeded != 2 {
		t.Fatalf("two leased successes, one close heard: record %+v, want half-open at 2", r)
	}
	for range 10 {
		e.clk.Add(time.Second)
		_ = b.co.Sync(context.Background())
		b.co.Step()
	}
	if r := readRecord(t, e.store); r.State != breaker.Closed {
		t.Fatalf("every breaker closed on its own, the store reachable again: record %+v, want closed", r)
	}
}

// X1, third path (found by the simulation, seed 78331): a probe's
// reopening is delivered to the coordinator after the breaker's own
// OnTransition ran, and that callback's Sync had already adopted a fleet
// forced open. The late transition marked the mode as the breaker's own,
// so once the record was lost and created again closed, the breaker stayed
// forced open for good.
func TestFaultX1ModeOutlivesLostRecordLateTransition(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	e.cfg.Driven, e.cfg.Store = true, e.store
	var a *fleet.Coordinator
	b, err := breaker.New(breaker.Config[int]{
		Name: "dep", Policy: policy.Consecutive(1), OpenTimeout: 30 * time.Second, HalfOpenProbes: 1, Clock: e.clk,
		OnTransition: func(tr breaker.Transition) {
			if tr.To == breaker.Open && tr.Cause == breaker.CauseProbe {
				_ = a.Sync(context.Background())
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.cfg
	cfg.Instance = "a"
	if a, err = fleet.New(cfg); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Attach(b); err != nil {
		t.Fatal(err)
	}
	ob, err := breaker.New(breaker.Config[int]{Name: "dep", Policy: policy.Consecutive(1), Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Instance = "op"
	op, err := fleet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	if _, err := op.Attach(ob); err != nil {
		t.Fatal(err)
	}
	a.Step()
	op.Step()
	fail(b, 1) // one trip, short of the quorum: open on its own
	a.Step()
	e.clk.Add(30 * time.Second)
	pm, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	if err := op.ForceOpen(context.Background(), "dep"); err != nil {
		t.Fatal(err)
	}
	pm.Done(0, errDown) // reopens; the callback's Sync adopts the forced open
	a.Step()
	if m := b.Metrics(); m.Mode != fleet.ModeForcedOpen {
		t.Fatalf("after the fleet's ForceOpen: mode %v", m.Mode)
	}
	e.store.(*fleet.Memory).Drop("dep")
	if err := a.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := b.Metrics(); m.Mode != fleet.ModeNone || m.State != breaker.Closed {
		t.Fatalf("the record was lost and created closed, but the breaker is %v in mode %v", m.State, m.Mode)
	}
}
