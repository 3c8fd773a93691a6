package fleet

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// This file holds the coordinator's shape and its life: New, Attach,
// detach and Close. What it does for an attached breaker lives beside it,
// one job per file: apply.go adopts records, gate.go is the probe gate,
// work.go runs the hand-offs, flush.go the flushes, health.go watches the
// store, operator.go takes the fleet-wide actions and events.go listens.

// Coordinator shares the circuits of the breakers attached to it with the
// other instances of a fleet, through a [Store]. Build one per process
// with [New], attach breakers with [Coordinator.Attach], and Close it when
// done. The zero value is not usable. All methods are safe for concurrent
// use, and all but Close may be called from the callbacks of an attached
// breaker (Close waits for the coordinator's goroutines, on one of which
// the callback may run).
//
// What it does for each attached breaker:
//
//   - A local opening of the breaker (its policy tripped, or a probe the
//     fleet did not lease failed) is handed off (no call waits for it) and
//     sent to the store, which opens the fleet's record at a quorum; a
//     local close on the breaker's own probes is sent too.
//   - A record newer than the one it applied, learnt from a step's answer,
//     an event or the periodic flush, is adopted: open for the remaining
//     time, closed, forced open or disabled. Adopted transitions carry
//     breaker.CauseExternal and are never sent back.
//   - A half-open probe candidate asks the store for one of the fleet's K
//     probe leases, waiting at most GateTimeout; a "full" answer is
//     believed for FullFor, rejecting other candidates with no round trip.
//   - Every store failure (and the coordinator's own guard breaker around
//     the store), and a store slower than GateTimeout, turns it degraded:
//     the breakers work exactly as local ones until the store answers
//     again in time, when it reads every record anew.
//
// Its background work (the flush ticker, the hand-offs, the events) runs in
// goroutines it owns, unless Config.Driven; Close stops them all.
type Coordinator struct {
	cfg    Config
	params Params
	follow bool // OpenTimeout and Backoff unset: each circuit follows its breaker's
	store  Store
	log    *slog.Logger
	guard  *breaker.Breaker[struct{}]
	leases string // prefix of this coordinator's lease ids

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex // guards circuits; never held across a call out
	circuits map[string]*member
	closed   atomic.Bool // written under mu

	work    work
	applier applier
	flushMu sync.Mutex // one flush at a time: counts are sent once

	health    health
	bad       atomic.Int64 // attached circuits whose record is unreadable
	nextProbe atomic.Uint64
	stats     stats
}

type stats struct {
	storeErrors, badRecords, adopted, tripsSent, closesSent, admitted, rejected, unknown,
	gateTimeouts, dropped, resyncs, events, leasesReturned atomic.Uint64
}

// Stats are a coordinator's counts since it was built, for dashboards: see
// [Coordinator.Stats].
type Stats struct {
	// Degraded is Coordinator.Degraded; Slow says that the store answered
	// its last steps after GateTimeout, or not at all, which is part of it.
	Degraded, Slow bool
	// StoreErrors counts failed store steps (and steps the guard breaker
	// refused); BadRecords the records it could not read.
	StoreErrors, BadRecords uint64
	// Adopted counts the fleet's decisions applied to local breakers.
	Adopted uint64
	// TripsSent counts local openings sent to the store; ClosesSent the
	// local closes on a breaker's own probes.
	TripsSent, ClosesSent uint64
	// ProbesAdmitted, ProbesRejected and ProbesLocal count the probe
	// gate's answers: a fleet lease, a refusal, and a local decision
	// (store unknown, down or slow). GateTimeouts counts the candidates
	// that waited the whole GateTimeout.
	ProbesAdmitted, ProbesRejected, ProbesLocal, GateTimeouts uint64
	// Dropped counts hand-offs lost because the queue was full; the next
	// flush makes up for them.
	Dropped uint64
	// Resyncs counts the times the store answered again after failing.
	Resyncs uint64
	// Events counts the records received as events.
	Events uint64
	// LeasesReturned counts the probe leases Close gave back.
	LeasesReturned uint64
}

// member is one attached breaker. Its record state (view) is written by
// the applier alone; the rest is small bookkeeping under mu, which is never
// held across a call to the store, the breaker or a callback.
type member struct {
	c      breaker.Circuit
	name   string
	params Params // the rules of every step for this circuit
	rules  string // params.Rules()

	view     atomic.Pointer[view] // the newest record applied; never nil
	detached atomic.Bool          // written under mu

	mu          sync.Mutex
	cancel      func() // the subscription's; nil until Attach has set it
	fullUntil   time.Time
	leases      map[breaker.ProbeID]heldLease
	bad         bool   // the last record was unreadable
	sentS       uint64 // counts already flushed
	sentF       uint64
	closeSent   Record // the record whose local close was sent last
	rulesWarned bool
}

// view is what an attached breaker's coordinator has applied: immutable,
// replaced whole by the applier, read with one load by the probe gate and
// the transition listener.
type view struct {
	rec   Record
	known bool   // false before the first record
	seq   uint64 // records applied so far
}

// heldLease is a lease of one of this instance's probes in flight.
type heldLease struct {
	ProbeReport
	at time.Time
}

// The guard breaker's first and longest open periods.
const (
	guardOpen    = 250 * time.Millisecond
	guardMaxOpen = 2 * time.Second
)

// New returns a coordinator configured by cfg and starts its background
// work. An invalid cfg gives an error that wraps breaker.ErrInvalidConfig
// and names the field.
func New(cfg Config) (*Coordinator, error) {
	p, follow, err := cfg.params()
	if err != nil {
		return nil, err
	}
	// The guard keeps a dead store from being hammered: after 3 failures
	// in a row it lets one step through per open period, which starts
	// short, so that a blip is over soon after it ends, and doubles up to
	// guardMaxOpen during a long outage.
	guard, err := breaker.New(breaker.Config[struct{}]{
		Name:           "fleet-store",
		Policy:         policy.Consecutive(3),
		OpenTimeout:    guardOpen,
		Backoff:        &breaker.Backoff{Factor: 2, Max: guardMaxOpen},
		HalfOpenProbes: 1,
		Clock:          cfg.Clock,
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	co := &Coordinator{
		cfg: cfg, params: p, follow: follow, store: cfg.Store, log: cfg.Logger, guard: guard,
		leases: cfg.Instance + "/" + randomID()[:8] + "/",
		ctx:    ctx, cancel: cancel,
		circuits: map[string]*member{},
	}
	co.work.init(cfg.Driven)
	co.work.lastFlush = cfg.Clock.Now()
	if cfg.Driven {
		return co, nil
	}
	co.wg.Add(2)
	go co.loop()
	go co.events()
	return co, nil
}

// Params returns the rules the coordinator sends with each step, its
// Config's with the defaults filled in. With Config.OpenTimeout and
// Backoff unset, the steps of an attached circuit carry its breaker's open
// period instead (see [Coordinator.ParamsOf]).
func (co *Coordinator) Params() Params { return co.params }

// ParamsOf returns the rules the coordinator sends with each step for the
// circuit name: Params, with the open period of its breaker when the
// fleet follows the breakers'. ok is false if no circuit of that name is
// attached.
func (co *Coordinator) ParamsOf(name string) (p Params, ok bool) {
	if m := co.member(name); m != nil {
		return m.params, true
	}
	return co.params, false
}

// paramsFor returns the rules of the steps for c.
func (co *Coordinator) paramsFor(c breaker.Circuit) Params {
	t, ok := c.(interface{ OpenTiming() breaker.OpenTiming })
	switch {
	case !ok:
		return co.params
	case co.follow:
		return co.params.withTiming(t.OpenTiming())
	}
	if own := co.params.withTiming(t.OpenTiming()); own.OpenTimeout != co.params.OpenTimeout || own.BackoffFactor != co.params.BackoffFactor || own.BackoffMax != co.params.BackoffMax {
		co.log.Info("fleet: the fleet's open period replaces the breaker's own (Config.OpenTimeout or Backoff is set)",
			"circuit", c.Name(), "fleet_open", co.params.OpenTimeout, "breaker_open", own.OpenTimeout,
			"fleet_backoff_max", co.params.BackoffMax, "breaker_backoff_max", own.BackoffMax)
	}
	return co.params
}

// Instance returns the name this instance goes by in the quorum.
func (co *Coordinator) Instance() string { return co.cfg.Instance }

// Degraded reports whether the coordinator is working locally: the store
// failed its last step, answers slower than GateTimeout (so that probe
// candidates decide locally), or a record of an attached breaker could not
// be read. The breakers then behave exactly as without a coordinator.
func (co *Coordinator) Degraded() bool {
	return co.health.down.Load() || co.health.slow.Load() || co.bad.Load() > 0
}

// Stats returns the coordinator's counts.
func (co *Coordinator) Stats() Stats {
	s := &co.stats
	return Stats{
		Degraded: co.Degraded(), Slow: co.health.slow.Load(),
		StoreErrors: s.storeErrors.Load(), BadRecords: s.badRecords.Load(),
		Adopted: s.adopted.Load(), TripsSent: s.tripsSent.Load(), ClosesSent: s.closesSent.Load(),
		ProbesAdmitted: s.admitted.Load(), ProbesRejected: s.rejected.Load(),
		ProbesLocal: s.unknown.Load(), GateTimeouts: s.gateTimeouts.Load(),
		Dropped: s.dropped.Load(), Resyncs: s.resyncs.Load(), Events: s.events.Load(),
		LeasesReturned: s.leasesReturned.Load(),
	}
}

// ErrClosed is returned by the methods of a closed coordinator.
var ErrClosed = errors.New("fleet: coordinator closed")

// owners maps each attached breaker to its coordinator, process-wide: a
// breaker attached to two coordinators would count twice toward a quorum.
var owners struct {
	sync.Mutex
	m map[breaker.Circuit]*Coordinator
}

// own records that co owns c; false if another coordinator (or co) does.
// A circuit whose dynamic type cannot be a map key is not tracked.
func own(c breaker.Circuit, co *Coordinator) bool {
	if !reflect.TypeOf(c).Comparable() {
		return true
	}
	owners.Lock()
	defer owners.Unlock()
	if owners.m == nil {
		owners.m = map[breaker.Circuit]*Coordinator{}
	}
	if owners.m[c] != nil {
		return false
	}
	owners.m[c] = co
	return true
}

func disown(c breaker.Circuit, co *Coordinator) {
	if !reflect.TypeOf(c).Comparable() {
		return
	}
	owners.Lock()
	defer owners.Unlock()
	if owners.m[c] == co {
		delete(owners.m, c)
	}
}

// Attach shares c's circuit with the fleet under c's name, until detach is
// called or the coordinator is closed. It installs a transition listener
// and a probe gate on c, and reads the fleet's record (off the caller's
// path), so that a breaker attached during an outage opens with the fleet.
// Attach each breaker of a group.Group as it is created. A circuit needs a
// name, unique among those attached; a breaker belongs to at most one
// coordinator at a time (attached to two, its trips would count twice
// toward the quorum).
func (co *Coordinator) Attach(c breaker.Circuit) (detach func(), err error) {
	if c == nil || isNil(c) {
		return nil, errors.New("fleet: Attach: the circuit is nil")
	}
	name := c.Name()
	if name == "" {
		return nil, errors.New("fleet: Attach: the circuit has no name; its fleet record is found by name")
	}
	if !own(c, co) {
		return nil, errors.New("fleet: Attach: the breaker " + strconv.Quote(name) + " is already attached to a coordinator; detach it first")
	}
	m := &member{c: c, name: name, params: co.paramsFor(c), leases: map[breaker.ProbeID]heldLease{}}
	m.rules = m.params.Rules()
	m.view.Store(&view{})
	co.mu.Lock()
	switch {
	case co.closed.Load():
		err = ErrClosed
	case co.circuits[name] != nil:
		err = errors.New("fleet: Attach: a circuit named " + strconv.Quote(name) + " is already attached")
	default:
		co.circuits[name] = m
	}
	co.mu.Unlock()
	if err != nil {
		disown(c, co)
		return nil, err
	}
	cancel := c.Subscribe(func(t breaker.Transition) { co.transition(m, t) })
	c.SetProbeGate(&gate{co: co, m: m})
	m.mu.Lock()
	if m.detached.Load() {
		// Close ran meanwhile, and left the undoing to us.
		m.mu.Unlock()
		cancel()
		c.SetProbeGate(nil)
		disown(c, co)
		return nil, ErrClosed
	}
	m.cancel = cancel
	m.mu.Unlock()
	co.enqueue(job{kind: jobSync, m: m})
	var once sync.Once
	return func() { once.Do(func() { co.detach(m) }) }, nil
}

// detach ends m's attachment: from then on no queued work applies a record
// to it or marks it unreadable. It returns the leases of m's probes in
// flight, for Close to give back.
func (co *Coordinator) detach(m *member) []heldLease {
	m.mu.Lock()
	if m.detached.Load() {
		m.mu.Unlock()
		return nil
	}
	m.detached.Store(true)
	cancel := m.cancel
	var held []heldLease
	for _, l := range m.leases {
		held = append(held, l)
	}
	clear(m.leases)
	wasBad := m.bad
	m.bad = false
	m.mu.Unlock()
	if wasBad {
		co.bad.Add(-1)
	}
	if cancel != nil { // else Attach is still setting up, and undoes it
		cancel()
		m.c.SetProbeGate(nil)
		disown(m.c, co)
	}
	co.mu.Lock()
	if co.circuits[m.name] == m {
		delete(co.circuits, m.name)
	}
	co.mu.Unlock()
	return held
}

// Close detaches every breaker, which from then on works alone, stops the
// coordinator's background work and waits for it. It gives back the probe
// leases of this instance's probes still in flight, and sends the probe
// reports still queued, within StepTimeout, so that the fleet does not wait
// out their ProbeTimeout. Close returns ErrClosed if called again. Do not
// call it from a callback of an attached breaker: it waits for the
// goroutines that may be running that callback.
func (co *Coordinator) Close() error {
	co.mu.Lock()
	if co.closed.Load() {
		co.mu.Unlock()
		return ErrClosed
	}
	co.closed.Store(true)
	ms := make([]*member, 0, len(co.circuits))
	for _, m := range co.circuits {
		ms = append(ms, m)
	}
	co.mu.Unlock()
	var back []job
	for _, m := range ms {
		for _, l := range co.detach(m) {
			l.Outcome = breaker.Ignored
			back = append(back, job{kind: jobReport, m: m, rep: l.ProbeReport})
		}
	}
	co.cancel()
	co.wg.Wait()
	for _, j := range co.work.take() {
		if j.kind == jobReport {
			back = append(back, j)
		}
	}
	if len(back) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), co.cfg.StepTimeout)
	defer cancel()
	for _, j := range back {
		if _, err := co.store.ReportProbe(ctx, j.m.name, j.rep, j.m.params); err == nil {
			co.stats.leasesReturned.Add(1)
		}
	}
	return nil
}

func (co *Coordinator) member(name string) *member {
	co.mu.Lock()
	defer co.mu.Unlock()
	return co.circuits[name]
}

func (co *Coordinator) members() []*member {
	co.mu.Lock()
	defer co.mu.Unlock()
	ms := make([]*member, 0, len(co.circuits))
	for _, m := range co.circuits {
		ms = append(ms, m)
	}
	return ms
}
