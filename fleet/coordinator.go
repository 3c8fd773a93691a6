package fleet

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// This file holds the coordinator's shape and its life: New and Close.
// The rest lives beside it, one job per file: config.go reads the Config,
// attach.go attaches and detaches breakers, apply.go adopts records,
// gate.go is the probe gate, work.go runs the hand-offs, flush.go the
// flushes, health.go watches the store, operator.go takes the fleet-wide
// actions, events.go listens, and stats.go counts.

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

	health    health
	bad       atomic.Int64 // attached circuits whose record is unreadable
	nextProbe atomic.Uint64
	attaches  atomic.Uint64 // numbers each attachment's Counts.Sender
	stats     stats

	// afterStateRead, in tests, runs in the applier between its read of
	// a breaker's state and the adoption it decides on that read.
	afterStateRead func()
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
	// fleetMade: the breaker's state and mode are the fleet's, set by an
	// adoption and not changed since by the breaker's own decision (a
	// trip, a probe, a manual action). A newer closed record undoes them,
	// whatever record they came from: one lost since, or a Clear.
	fleetMade mark

	mu          sync.Mutex
	cancel      func() // the subscription's; nil until Attach has set it
	fullUntil   time.Time
	leases      map[breaker.ProbeID]heldLease
	bad         bool   // the last record was unreadable
	sender      string // the Counts.Sender of this attachment
	baseS       uint64 // the breaker's totals when attached: not the fleet's
	baseF       uint64
	ackedS      uint64 // totals since attached that a flush's answer acknowledged
	ackedF      uint64
	closeSent   Record       // the record whose local close was sent last
	closeOwed   CloseRequest // a Closed the store did not hear; see closedAgain
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

// ErrClosed is returned by the methods of a closed coordinator.
var ErrClosed = errors.New("fleet: coordinator closed")

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
	co.mu.Unlock()
	ms := co.members()
	var back []job
	for _, m := range ms {
		for _, l := range co.detach(m, false) {
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

// members returns the attached circuits in the order of their names, so
// that a driven coordinator does the same work in the same order on every
// run.
func (co *Coordinator) members() []*member {
	co.mu.Lock()
	ms := make([]*member, 0, len(co.circuits))
	for _, m := range co.circuits {
		ms = append(ms, m)
	}
	co.mu.Unlock()
	slices.SortFunc(ms, func(a, b *member) int { return strings.Compare(a.name, b.name) })
	return ms
}
