package fleet_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

var errDown = errors.New("dependency down")

// instance is one member of a test fleet: a breaker and its coordinator.
type instance struct {
	t  *testing.T
	b  *breaker.Breaker[int]
	co *fleet.Coordinator
}

type fleetEnv struct {
	t     *testing.T
	clk   *clock.Mock
	store fleet.Store
	cfg   fleet.Config
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newFleetEnv(t *testing.T, start time.Time) *fleetEnv {
	clk := clock.NewMock()
	clk.Set(start)
	logs := &syncBuffer{}
	e := &fleetEnv{t: t, clk: clk, logs: logs}
	e.store = fleet.NewMemory(clk)
	e.cfg = fleet.Config{
		Quorum: 2, QuorumWindow: 10 * time.Second,
		OpenTimeout: 30 * time.Second, Probes: 2, ProbeTimeout: 5 * time.Second,
		FlushInterval: time.Hour, // the tests sync by hand
		Clock:         clk,
		Logger:        slog.New(slog.NewTextHandler(logs, nil)),
	}
	return e
}

func (e *fleetEnv) instance(name string, store fleet.Store) *instance {
	e.t.Helper()
	b, err := breaker.New(breaker.Config[int]{
		Name: "dep", Policy: policy.Consecutive(1), OpenTimeout: 30 * time.Second,
		HalfOpenProbes: 3, Clock: e.clk,
	})
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

func (i *instance) fail() {
	i.t.Helper()
	_, _ = i.b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDown })
	fleet.Drain(i.co)
}

func (i *instance) sync() {
	i.t.Helper()
	if err := i.co.Sync(context.Background()); err != nil {
		i.t.Fatalf("Sync: %v", err)
	}
	fleet.Settle(i.co)
}

func (i *instance) wantState(s breaker.State) {
	i.t.Helper()
	if got := i.b.State(); got != s {
		i.t.Fatalf("%s: state %v, want %v", i.co.Instance(), got, s)
	}
}

func each(t *testing.T, f func(t *testing.T, e *fleetEnv)) {
	for _, ep := range []time.Time{epochs.Today, epochs.Y2038, epochs.Y2106} {
		t.Run(ep.Format("2006"), func(t *testing.T) { f(t, newFleetEnv(t, ep)) })
	}
}

func TestQuorumOpensTheFleet(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		a, b, c := e.instance("a", nil), e.instance("b", nil), e.instance("c", nil)
		a.fail()
		a.wantState(breaker.Open)
		c.sync()
		c.wantState(breaker.Closed) // one trip is no quorum
		e.clk.Add(time.Second)
		b.fail()
		c.sync()
		c.wantState(breaker.Open)
		m := c.b.Metrics()
		if m.ExternalOpens != 1 || m.Trips != 0 {
			t.Fatalf("c's metrics %+v: want one external open, no trip", m)
		}
		if got := m.Until.Sub(e.clk.Now()); got != 30*time.Second {
			t.Fatalf("c open for %v, want the fleet's 30s", got)
		}
		if s := c.co.Stats(); s.TripsSent != 0 || s.Adopted == 0 {
			t.Fatalf("c's stats %+v: it adopted, and must not echo", s)
		}
	})
}

func TestFleetProbesAndClose(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		a, b, c := e.instance("a", nil), e.instance("b", nil), e.instance("c", nil)
		a.fail()
		b.fail()
		for _, i := range []*instance{a, b, c} {
			i.sync()
			i.wantState(breaker.Open)
		}
		e.clk.Add(30 * time.Second)
		p1, err1 := a.b.Allow()
		p2, err2 := b.b.Allow()
		if err1 != nil || err2 != nil {
			t.Fatalf("the first two probes: %v, %v", err1, err2)
		}
		if _, err := c.b.Allow(); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("a third probe fleet-wide (K=2): %v, want ErrOpen", err)
		}
		if _, err := c.b.Allow(); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("a fourth, from the full cache: %v, want ErrOpen", err)
		}
		if s := c.co.Stats(); s.ProbesRejected != 2 {
			t.Fatalf("c's stats %+v: want 2 rejected", s)
		}
		p1.Done(1, nil)
		fleet.Drain(a.co)
		p2.Done(1, nil)
		fleet.Drain(b.co)
		for _, i := range []*instance{a, b, c} {
			i.sync()
			i.wantState(breaker.Closed)
		}
	})
}

func TestFailedProbeReopensWithFleetBackoff(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		e.cfg.Backoff = &breaker.Backoff{Factor: 2, Max: 5 * time.Minute}
		a, b := e.instance("a", nil), e.instance("b", nil)
		a.fail()
		b.fail()
		a.sync()
		e.clk.Add(30 * time.Second)
		p, err := a.b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		p.Done(0, errDown)
		fleet.Drain(a.co)
		b.sync()
		b.wantState(breaker.Open)
		if got := b.b.Metrics().Until.Sub(e.clk.Now()); got != 60*time.Second {
			t.Fatalf("b open for %v after a failed probe, want the fleet's second period, 60s", got)
		}
	})
}

func TestForceFleetWide(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		a, b := e.instance("a", nil), e.instance("b", nil)
		ctx := context.Background()
		if err := a.co.ForceOpen(ctx, "dep"); err != nil {
			t.Fatal(err)
		}
		a.wantState(breaker.Open)
		b.sync()
		if m := b.b.Metrics(); m.State != breaker.Open || m.Mode != breaker.ModeForcedOpen {
			t.Fatalf("b after ForceOpen: %+v", m)
		}
		e.clk.Add(time.Hour)
		b.wantState(breaker.Open)
		if err := a.co.Disable(ctx, "dep"); err != nil {
			t.Fatal(err)
		}
		b.sync()
		b.fail()
		if m := b.b.Metrics(); m.State != breaker.Closed || m.Mode != breaker.ModeDisabled {
			t.Fatalf("b disabled: %+v", m)
		}
		if err := a.co.Clear(ctx, "dep"); err != nil {
			t.Fatal(err)
		}
		b.sync()
		if m := b.b.Metrics(); m.Mode != breaker.ModeNone {
			t.Fatalf("b after Clear: %+v", m)
		}
		b.fail()
		b.wantState(breaker.Open)
	})
}

func TestLostRecordKeepsLocalState(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		a, b := e.instance("a", nil), e.instance("b", nil)
		a.fail()
		b.fail()
		a.sync()
		e.store.(*fleet.Memory).Drop("dep")
		a.sync()
		a.wantState(breaker.Open) // the new record knows nothing: keep protecting
		e.clk.Add(30 * time.Second)
		// The fleet's record is closed: probes are the local breaker's.
		for range 3 {
			if _, err := a.b.Allow(); err != nil {
				t.Fatalf("a local probe: %v; metrics %+v; stats %+v", err, a.b.Metrics(), a.co.Stats())
			}
		}
	})
}

// faultyStore wraps a store with faults the test turns on.
type faultyStore struct {
	fleet.Store
	mu    sync.Mutex
	fail  bool // every step fails
	hang  bool // every step waits for its context
	bad   bool // every record is from a newer protocol
	steps int
}

func (f *faultyStore) fault(ctx context.Context) error {
	f.mu.Lock()
	fail, hang := f.fail, f.hang
	f.steps++
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return ctx.Err()
	}
	if fail {
		return errors.New("store unreachable")
	}
	return nil
}

func (f *faultyStore) mangle(r fleet.Record) fleet.Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bad {
		r.Version = fleet.ProtocolVersion + 1
	}
	return r
}

func (f *faultyStore) set(fail, hang, bad bool) {
	f.mu.Lock()
	f.fail, f.hang, f.bad = fail, hang, bad
	f.mu.Unlock()
}

func (f *faultyStore) Trip(ctx context.Context, n string, t fleet.TripRequest, p fleet.Params) (fleet.Record, error) {
	if err := f.fault(ctx); err != nil {
		return fleet.Record{}, err
	}
	r, err := f.Store.Trip(ctx, n, t, p)
	return f.mangle(r), err
}

func (f *faultyStore) Flush(ctx context.Context, b []fleet.Counts, p fleet.Params) ([]fleet.Record, []error, error) {
	if err := f.fault(ctx); err != nil {
		return nil, nil, err
	}
	rs, es, err := f.Store.Flush(ctx, b, p)
	for i := range rs {
		rs[i] = f.mangle(rs[i])
	}
	return rs, es, err
}

func (f *faultyStore) AcquireProbe(ctx context.Context, n string, q fleet.ProbeRequest, p fleet.Params) (fleet.Verdict, fleet.Record, error) {
	if err := f.fault(ctx); err != nil {
		return 0, fleet.Record{}, err
	}
	v, r, err := f.Store.AcquireProbe(ctx, n, q, p)
	return v, f.mangle(r), err
}

func (f *faultyStore) ReportProbe(ctx context.Context, n string, q fleet.ProbeReport, p fleet.Params) (fleet.Record, error) {
	if err := f.fault(ctx); err != nil {
		return fleet.Record{}, err
	}
	r, err := f.Store.ReportProbe(ctx, n, q, p)
	return f.mangle(r), err
}

func TestStoreDownDegradesToLocal(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		fs := &faultyStore{Store: e.store}
		a, b := e.instance("a", fs), e.instance("b", nil)
		a.fail()
		b.fail()
		a.sync()
		fs.set(false, true, false) // the store hangs
		e.clk.Add(30 * time.Second)
		start := time.Now()
		_, err := a.b.Allow()
		waited := time.Since(start)
		if err != nil {
			t.Fatalf("a probe with the store hanging: %v, want the local decision (admit)", err)
		}
		// The gate's timer bounds the wait; the margin is for a loaded
		// machine's scheduling, not for the store.
		if limit := fleet.DefaultGateTimeout + 200*time.Millisecond; waited > limit {
			t.Fatalf("the probe candidate waited %v, more than the gate timeout allows (%v)", waited, limit)
		}
		if a.co.Stats().GateTimeouts != 1 {
			t.Fatalf("a after a gate timeout: stats %+v", a.co.Stats())
		}
		fs.set(true, false, false) // down
		if err := a.co.Sync(context.Background()); err == nil {
			t.Fatal("Sync with the store down succeeded")
		}
		if !strings.Contains(e.logs.String(), "breakers work locally") {
			t.Fatalf("no log line for the outage: %q; stats %+v", e.logs.String(), a.co.Stats())
		}
		// Local operation: the breaker trips and rejects on its own.
		if _, err := a.b.Execute(context.Background(), func(context.Context) (int, error) { return 0, nil }); err == nil {
			t.Log("admitted as a local probe")
		}
		fs.set(false, false, false)
		e.clk.Add(10 * time.Second) // the guard breaker's open period
		a.sync()
		if a.co.Degraded() || a.co.Stats().Resyncs != 1 {
			t.Fatalf("a after the store came back: degraded %v, stats %+v", a.co.Degraded(), a.co.Stats())
		}
	})
}

func TestNewerProtocolRecordWorksLocally(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		fs := &faultyStore{Store: e.store}
		fs.set(false, false, true)
		a := e.instance("a", fs)
		a.sync()
		if !a.co.Degraded() || a.co.Stats().BadRecords == 0 {
			t.Fatalf("a with an unreadable record: degraded %v, stats %+v", a.co.Degraded(), a.co.Stats())
		}
		if !strings.Contains(e.logs.String(), "newer than this package") {
			t.Fatalf("the log does not say why: %q", e.logs.String())
		}
		a.fail()
		a.wantState(breaker.Open) // its own policy still protects it
		fs.set(false, false, false)
		a.sync()
		if a.co.Degraded() {
			t.Fatal("a still degraded after a readable record")
		}
	})
}

func TestCloseLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	e := newFleetEnv(t, epochs.Today)
	for range 3 {
		i := e.instance("a", nil)
		e.clk.Add(30 * time.Second)
		i.fail()
		if err := i.co.Close(); err != nil {
			t.Fatal(err)
		}
		if err := i.co.Close(); !errors.Is(err, fleet.ErrClosed) {
			t.Fatalf("second Close: %v", err)
		}
		i.wantState(breaker.Open) // detached: works alone
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestConfigErrors(t *testing.T) {
	s := fleet.NewMemory(nil)
	for _, tc := range []struct {
		cfg   fleet.Config
		field string
	}{
		{fleet.Config{}, "Store"},
		{fleet.Config{Store: (*fleet.Memory)(nil)}, "Store"},
		{fleet.Config{Store: s, Quorum: -1}, "Quorum"},
		{fleet.Config{Store: s, Probes: breaker.MaxHalfOpenProbes + 1}, "Probes"},
		{fleet.Config{Store: s, FailureRate: 1.5}, "FailureRate"},
		{fleet.Config{Store: s, GateTimeout: -1}, "GateTimeout"},
		{fleet.Config{Store: s, Backoff: &breaker.Backoff{Max: time.Second}}, "Backoff.Max"},
		{fleet.Config{Store: s, Backoff: &breaker.Backoff{Factor: 0.5, Max: time.Hour}}, "Backoff.Factor"},
	} {
		_, err := fleet.New(tc.cfg)
		var ce *fleet.ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || !errors.Is(err, breaker.ErrInvalidConfig) {
			t.Errorf("New(%+v): %v, want a ConfigError on %s", tc.cfg, err, tc.field)
		}
	}
}

// TestFleetWideFailureRate: no instance fails often enough to trip on its
// own, but together they reach the fleet's rate, and every one opens.
func TestFleetWideFailureRate(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		e.cfg.FailureRate, e.cfg.MinCalls, e.cfg.RateWindow = 0.5, 8, 10*time.Second
		var is []*instance
		for _, name := range []string{"a", "b"} {
			b, err := breaker.New(breaker.Config[int]{Name: "dep", Policy: policy.Consecutive(100), Clock: e.clk, CountCalls: true})
			if err != nil {
				t.Fatal(err)
			}
			cfg := e.cfg
			cfg.Instance, cfg.Store = name, e.store
			co, err := fleet.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = co.Close() })
			if _, err := co.Attach(b); err != nil {
				t.Fatal(err)
			}
			fleet.Drain(co)
			is = append(is, &instance{t: t, b: b, co: co})
		}
		ctx := context.Background()
		for _, i := range is {
			for j := range 4 {
				err := error(nil)
				if j%2 == 0 {
					err = errDown
				}
				_, _ = i.b.Execute(ctx, func(context.Context) (int, error) { return 0, err })
			}
		}
		is[0].sync()
		is[0].wantState(breaker.Closed) // 4 calls: below MinCalls
		is[1].sync()
		is[1].wantState(breaker.Open) // 8 calls, half failed
		is[0].sync()
		is[0].wantState(breaker.Open)
		is[1].sync() // counts are sent once
		if m := is[0].b.Metrics(); m.ExternalOpens != 1 || m.Trips != 0 {
			t.Fatalf("a: %+v", m)
		}
	})
}

// TestAdoptedTransitionSaysTheFleetDecided: a transition adopted from the
// fleet's record carries, in its evidence, that the fleet decided and
// which record it was, so that an operator reading a breaker's history
// can tell a fleet-wide decision from a local one.
func TestAdoptedTransitionSaysTheFleetDecided(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	a, b := e.instance("a", nil), e.instance("b", nil)
	ctx := context.Background()
	if err := a.co.ForceOpen(ctx, "dep"); err != nil {
		t.Fatal(err)
	}
	if err := b.co.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ts := b.b.Transitions()
	if len(ts) == 0 {
		t.Fatal("b adopted nothing")
	}
	last := ts[len(ts)-1]
	if last.Cause != breaker.CauseExternal || last.Evidence == nil || last.Evidence.Who != "fleet" ||
		!strings.Contains(last.Evidence.Why, "fleet record generation") || !strings.Contains(last.Evidence.Why, "forced-open") {
		t.Fatalf("b's last transition %+v, evidence %+v; want an external one whose evidence names the fleet's record", last, last.Evidence)
	}
}
