package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"os"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// Defaults used for the zero values of [Config].
const (
	DefaultQuorum        = 2
	DefaultQuorumWindow  = 10 * time.Second
	DefaultOpenTimeout   = breaker.DefaultOpenTimeout
	DefaultProbes        = breaker.DefaultHalfOpenProbes
	DefaultProbeTimeout  = 10 * time.Second
	DefaultRateWindow    = 10 * time.Second
	DefaultMinCalls      = 20
	DefaultRetention     = 24 * time.Hour
	DefaultFlushInterval = time.Second
	DefaultGateTimeout   = 20 * time.Millisecond
	DefaultFullFor       = 100 * time.Millisecond
	DefaultStepTimeout   = time.Second
)

// Config configures a [Coordinator]. Store is required; every other zero
// field means its documented default. Every instance of a fleet should use
// the same rules (Quorum through Retention): each step follows the rules
// of the instance that takes it.
type Config struct {
	// Store keeps the fleet's records. Required.
	Store Store

	// Instance names this instance in the quorum. Empty means the host
	// name, the process id and a random suffix: unique per process.
	Instance string

	// Quorum is how many distinct instances must trip within QuorumWindow
	// for the fleet to open: 1 means one instance that trips stops all.
	// 0 means DefaultQuorum (2); QuorumWindow 0 means DefaultQuorumWindow.
	Quorum       int
	QuorumWindow time.Duration

	// OpenTimeout is the fleet's open period. 0 means DefaultOpenTimeout.
	// Backoff, when set, lengthens it after each failed probe (its Factor
	// and Max; Jitter is not used: the fleet has one period, measured on
	// the store's clock; a zero Max means the breaker's
	// DefaultBackoffMaxFactor times OpenTimeout).
	OpenTimeout time.Duration
	Backoff     *breaker.Backoff

	// Probes is K: the most probes in flight fleet-wide per half-open
	// period, and the successes that close the fleet. 0 means
	// DefaultProbes. ProbeTimeout is how long a probe's lease lasts; 0
	// means DefaultProbeTimeout.
	Probes       int
	ProbeTimeout time.Duration

	// FailureRate, when positive, also opens the fleet once, within
	// RateWindow, at least MinCalls calls were counted fleet-wide and at
	// least that fraction failed. It needs breakers built with CountCalls;
	// their counts are sent with each flush. 0 means off. MinCalls 0 means
	// DefaultMinCalls, RateWindow 0 DefaultRateWindow.
	FailureRate float64
	MinCalls    int
	RateWindow  time.Duration

	// Retention is how long the store keeps a record no instance touched.
	// 0 means DefaultRetention.
	Retention time.Duration

	// FlushInterval is how often the coordinator sends its counts and
	// reads the records of its breakers, all in one batch: that is how it
	// learns changes whose events it missed. 0 means DefaultFlushInterval.
	FlushInterval time.Duration

	// GateTimeout bounds how long a half-open probe candidate waits for
	// the store; then the local decision stands. 0 means
	// DefaultGateTimeout (20ms). FullFor is how long a "full" answer is
	// believed: meanwhile other candidates are rejected with no round
	// trip. 0 means DefaultFullFor.
	GateTimeout time.Duration
	FullFor     time.Duration

	// StepTimeout bounds each step taken off the call path (trips, probe
	// reports, flushes). 0 means DefaultStepTimeout.
	StepTimeout time.Duration

	// Clock is where the coordinator reads the time, for its own timing
	// (the FullFor cache, its guard breaker). nil means the real clock.
	Clock breaker.Clock

	// Logger receives a line when the coordinator starts or stops working
	// locally, and for each unreadable record. nil means slog.Default().
	Logger *slog.Logger

	// Driven makes the coordinator run no goroutine and no timer of its
	// own, so that a simulation can drive it on a virtual Clock and get the
	// same run every time (package lab does). Hand-offs (trips, probe
	// reports, the first read of an attached breaker) wait in a queue until
	// [Coordinator.Step] runs them, with a flush when FlushInterval has
	// passed on Clock; the probe gate asks the store on the caller's
	// goroutine, so GateTimeout does not apply; no events are received:
	// call [Coordinator.Sync] to learn the other instances' changes. The
	// default, false, is the coordinator that runs itself.
	Driven bool
}

// ConfigError is the error New returns for an invalid Config. It wraps
// breaker.ErrInvalidConfig.
type ConfigError struct {
	// Field is the Config field at fault, as written in Go.
	Field string
	why   string
}

// Problem says what is wrong with the field.
func (e *ConfigError) Problem() string { return e.why }

// Error names the field and says what is wrong with it.
func (e *ConfigError) Error() string { return "fleet: invalid config: " + e.Field + ": " + e.why }

// Unwrap returns breaker.ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return breaker.ErrInvalidConfig }

func (c *Config) params() (Params, error) {
	bad := func(f, why string) (Params, error) { return Params{}, &ConfigError{Field: f, why: why} }
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Store == nil || isNil(c.Store) {
		return bad("Store", "is nil; a coordinator needs a store to share through")
	}
	for _, d := range []struct {
		f string
		v time.Duration
	}{{"QuorumWindow", c.QuorumWindow}, {"OpenTimeout", c.OpenTimeout}, {"ProbeTimeout", c.ProbeTimeout},
		{"RateWindow", c.RateWindow}, {"Retention", c.Retention}, {"FlushInterval", c.FlushInterval},
		{"GateTimeout", c.GateTimeout}, {"FullFor", c.FullFor}, {"StepTimeout", c.StepTimeout}} {
		if d.v < 0 {
			return bad(d.f, "must not be negative, got "+d.v.String())
		}
	}
	switch {
	case c.Quorum < 0:
		return bad("Quorum", "must not be negative, got "+strconv.Itoa(c.Quorum))
	case c.Probes < 0 || c.Probes > breaker.MaxHalfOpenProbes:
		return bad("Probes", "must be in [0, "+strconv.Itoa(breaker.MaxHalfOpenProbes)+"], got "+strconv.Itoa(c.Probes))
	case c.MinCalls < 0:
		return bad("MinCalls", "must not be negative, got "+strconv.Itoa(c.MinCalls))
	case !(c.FailureRate >= 0 && c.FailureRate <= 1):
		return bad("FailureRate", "must be in [0, 1], got "+strconv.FormatFloat(c.FailureRate, 'g', -1, 64))
	}
	if c.Quorum == 0 {
		c.Quorum = DefaultQuorum
	}
	if c.Probes == 0 {
		c.Probes = DefaultProbes
	}
	if c.MinCalls == 0 {
		c.MinCalls = DefaultMinCalls
	}
	def(&c.QuorumWindow, DefaultQuorumWindow)
	def(&c.OpenTimeout, DefaultOpenTimeout)
	def(&c.ProbeTimeout, DefaultProbeTimeout)
	def(&c.RateWindow, DefaultRateWindow)
	def(&c.Retention, DefaultRetention)
	def(&c.FlushInterval, DefaultFlushInterval)
	def(&c.GateTimeout, DefaultGateTimeout)
	def(&c.FullFor, DefaultFullFor)
	def(&c.StepTimeout, DefaultStepTimeout)
	p := Params{
		Quorum: c.Quorum, QuorumWindow: c.QuorumWindow,
		OpenTimeout: c.OpenTimeout, BackoffFactor: 1, BackoffMax: c.OpenTimeout,
		Probes: c.Probes, ProbeTimeout: c.ProbeTimeout,
		FailureRate: c.FailureRate, MinCalls: c.MinCalls, RateWindow: c.RateWindow,
		Retention: c.Retention,
	}
	if bo := c.Backoff; bo != nil {
		p.BackoffFactor, p.BackoffMax = bo.Factor, bo.Max
		if p.BackoffFactor == 0 {
			p.BackoffFactor = breaker.DefaultBackoffFactor
		}
		if !(p.BackoffFactor >= 1) {
			return bad("Backoff.Factor", "must be at least 1, got "+strconv.FormatFloat(bo.Factor, 'g', -1, 64))
		}
		if bo.Max == 0 {
			// As the breaker reads it: DefaultBackoffMaxFactor times
			// OpenTimeout, saturating.
			p.BackoffMax = c.OpenTimeout * breaker.DefaultBackoffMaxFactor
			if c.OpenTimeout > math.MaxInt64/breaker.DefaultBackoffMaxFactor {
				p.BackoffMax = math.MaxInt64
			}
		}
		if p.BackoffMax < c.OpenTimeout {
			return bad("Backoff.Max", "must be at least OpenTimeout ("+c.OpenTimeout.String()+"), got "+bo.Max.String())
		}
	}
	if c.Instance == "" {
		host, _ := os.Hostname()
		c.Instance = host + "-" + strconv.Itoa(os.Getpid()) + "-" + randomID()[:6]
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return p, nil
}

// isNil reports whether v holds a nil pointer (a typed nil is not a nil
// interface, and its methods would panic later, deep inside a step).
func isNil(v any) bool {
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// Coordinator shares the circuits of the breakers attached to it with the
// other instances of a fleet, through a [Store]. Build one per process
// with [New], attach breakers with [Coordinator.Attach], and Close it when
// done. The zero value is not usable. All methods are safe for concurrent
// use.
//
// What it does for each attached breaker:
//
//   - A trip of the breaker's policy is handed off (no call waits for it)
//     and sent to the store, which opens the fleet's record at a quorum.
//   - A record newer than the one it knows, learnt from a step's answer,
//     an event or the periodic flush, is adopted: open for the remaining
//     time, closed, forced open or disabled. Adopted transitions carry
//     breaker.CauseExternal and are never sent back.
//   - A half-open probe candidate asks the store for one of the fleet's K
//     probe leases, waiting at most GateTimeout; a "full" answer is
//     believed for FullFor, rejecting other candidates with no round trip.
//   - Every store failure (and the coordinator's own guard breaker around
//     the store) turns it degraded: the breakers work exactly as local
//     ones until the store answers again, when it reads every record anew.
//
// Its background work (the flush ticker, the hand-offs, the events) runs in
// goroutines it owns; Close stops them all.
//
// Adopting a record calls the breaker's Adopt, which delivers transitions to
// the breaker's callbacks (OnStateChange, OnTransition, Subscribe) on the
// adopting goroutine, with the coordinator's lock of that circuit held: a
// callback must not call the coordinator's ForceOpen, Disable, Clear or
// Sync itself (hand the call to a goroutine instead).
type Coordinator struct {
	cfg    Config
	params Params
	store  Store
	log    *slog.Logger
	guard  *breaker.Breaker[struct{}]

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	work   chan job
	kick   chan struct{} // asks the loop for a flush now

	mu       sync.Mutex
	circuits map[string]*member
	closed   bool

	stepMu    sync.Mutex // Driven: one Step at a time
	lastFlush time.Time  // Driven: when Step last flushed
	// Driven: the hand-offs waiting for Step, in place of work, whose
	// buffer would be allocated up front (a simulation builds thousands).
	queueMu sync.Mutex
	queue   []job

	down   atomic.Bool // the last store step failed; written under downMu
	downMu sync.Mutex
	bad    atomic.Int64 // circuits whose record is unreadable
	stats  stats
}

type stats struct {
	storeErrors, badRecords, adopted, tripsSent, admitted, rejected, unknown,
	gateTimeouts, dropped, resyncs, events atomic.Uint64
}

// Stats are a coordinator's counts since it was built, for dashboards: see
// [Coordinator.Stats].
type Stats struct {
	// Degraded is Coordinator.Degraded.
	Degraded bool
	// StoreErrors counts failed store steps (and steps the guard breaker
	// refused); BadRecords the records it could not read.
	StoreErrors, BadRecords uint64
	// Adopted counts the fleet's decisions applied to local breakers.
	Adopted uint64
	// TripsSent counts local trips sent to the store.
	TripsSent uint64
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
}

// member is one attached breaker.
type member struct {
	c      breaker.Circuit
	name   string
	cancel func()

	// known is the newest record seen; nil before the first. Read without
	// a lock by the transition listener, which may run inside Adopt.
	known atomic.Pointer[Record]
	// adoptMu orders observations, so that an older record is never
	// adopted after a newer one.
	adoptMu sync.Mutex
	bad     bool // under adoptMu: the last record was unreadable

	mu        sync.Mutex
	fullUntil time.Time
	leases    map[uint64][]lease // local generation → leases of its probes
	sentS     uint64             // counts already flushed
	sentF     uint64
}

type lease struct {
	inc string
	gen uint64
	id  string
}

type jobKind uint8

const (
	jobTrip jobKind = iota + 1
	jobReport
	jobSync
	jobBarrier // for tests: closes done once the jobs before it are done
)

type job struct {
	kind jobKind
	m    *member
	trip TripRequest
	rep  ProbeReport
	done chan struct{}
}

// New returns a coordinator configured by cfg and starts its background
// work. An invalid cfg gives an error that wraps breaker.ErrInvalidConfig
// and names the field.
func New(cfg Config) (*Coordinator, error) {
	p, err := cfg.params()
	if err != nil {
		return nil, err
	}
	guard, err := breaker.New(breaker.Config[struct{}]{
		Name:           "fleet-store",
		Policy:         policy.Consecutive(3),
		OpenTimeout:    2 * time.Second,
		HalfOpenProbes: 1,
		Clock:          cfg.Clock,
		Classify: func(_ struct{}, err error) breaker.Outcome {
			if err == nil || errors.Is(err, ErrProtocol) || errors.Is(err, context.Canceled) {
				return breaker.Success // the store answered, or we gave up
			}
			return breaker.Failure
		},
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	co := &Coordinator{
		cfg: cfg, params: p, store: cfg.Store, log: cfg.Logger, guard: guard,
		ctx: ctx, cancel: cancel,
		kick:     make(chan struct{}, 1),
		circuits: map[string]*member{},
	}
	if !cfg.Driven {
		co.work = make(chan job, maxQueued)
	} else {
		co.lastFlush = cfg.Clock.Now()
		return co, nil
	}
	co.wg.Add(2)
	go co.loop()
	go co.events()
	return co, nil
}

// Step runs, on the caller's goroutine, the work a coordinator built with
// Config.Driven has queued: the hand-offs (trips, probe reports, first
// reads), then a flush if FlushInterval has passed on Config.Clock since
// the last one (or if the store answered again after failing). It returns
// the number of hand-offs it ran: none means no step of this instance can
// have changed a record. A coordinator that runs itself does this work in
// its own goroutines; there Step does nothing and returns 0.
func (co *Coordinator) Step() int {
	if !co.cfg.Driven {
		return 0
	}
	co.stepMu.Lock()
	defer co.stepMu.Unlock()
	n := 0
	for {
		co.queueMu.Lock()
		if len(co.queue) == 0 {
			co.queue = nil
			co.queueMu.Unlock()
			break
		}
		j := co.queue[0]
		co.queue = co.queue[1:]
		co.queueMu.Unlock()
		co.do(j)
		n++
	}
	now := co.cfg.Clock.Now()
	kicked := false
	select {
	case <-co.kick:
		kicked = true
	default:
	}
	if kicked || now.Sub(co.lastFlush) >= co.cfg.FlushInterval {
		co.lastFlush = now
		_ = co.flush(co.ctx)
		// A flush that found the store back asks for another; it has
		// just been done.
		select {
		case <-co.kick:
		default:
		}
	}
	return n
}

// Params returns the rules the coordinator sends with each step, its
// Config's with the defaults filled in.
func (co *Coordinator) Params() Params { return co.params }

// Instance returns the name this instance goes by in the quorum.
func (co *Coordinator) Instance() string { return co.cfg.Instance }

// Degraded reports whether the coordinator is working locally: the store
// failed its last step, or a record of an attached breaker could not be
// read. The breakers then behave exactly as without a coordinator.
func (co *Coordinator) Degraded() bool { return co.down.Load() || co.bad.Load() > 0 }

// Stats returns the coordinator's counts.
func (co *Coordinator) Stats() Stats {
	s := &co.stats
	return Stats{
		Degraded:    co.Degraded(),
		StoreErrors: s.storeErrors.Load(), BadRecords: s.badRecords.Load(),
		Adopted: s.adopted.Load(), TripsSent: s.tripsSent.Load(),
		ProbesAdmitted: s.admitted.Load(), ProbesRejected: s.rejected.Load(),
		ProbesLocal: s.unknown.Load(), GateTimeouts: s.gateTimeouts.Load(),
		Dropped: s.dropped.Load(), Resyncs: s.resyncs.Load(), Events: s.events.Load(),
	}
}

// ErrClosed is returned by the methods of a closed coordinator.
var ErrClosed = errors.New("fleet: coordinator closed")

// Attach shares c's circuit with the fleet under c's name, until detach is
// called or the coordinator is closed. It installs a transition listener
// and a probe gate on c, and reads the fleet's record (off the caller's
// path), so that a breaker attached during an outage opens with the fleet.
// Attach each breaker of a group.Group as it is created. A circuit needs a
// name, unique among those attached.
func (co *Coordinator) Attach(c breaker.Circuit) (detach func(), err error) {
	name := c.Name()
	if name == "" {
		return nil, errors.New("fleet: Attach: the circuit has no name; its fleet record is found by name")
	}
	m := &member{c: c, name: name, leases: map[uint64][]lease{}}
	co.mu.Lock()
	if co.closed {
		co.mu.Unlock()
		return nil, ErrClosed
	}
	if co.circuits[name] != nil {
		co.mu.Unlock()
		return nil, errors.New("fleet: Attach: a circuit named " + strconv.Quote(name) + " is already attached")
	}
	co.circuits[name] = m
	co.mu.Unlock()
	m.cancel = c.Subscribe(func(t breaker.Transition) { co.transition(m, t) })
	c.SetProbeGate(&gate{co: co, m: m})
	co.enqueue(job{kind: jobSync, m: m})
	var once sync.Once
	return func() { once.Do(func() { co.detach(m) }) }, nil
}

func (co *Coordinator) detach(m *member) {
	m.cancel()
	m.c.SetProbeGate(nil)
	co.mu.Lock()
	if co.circuits[m.name] == m {
		delete(co.circuits, m.name)
	}
	co.mu.Unlock()
	m.adoptMu.Lock()
	if m.bad {
		m.bad = false
		co.bad.Add(-1)
	}
	m.adoptMu.Unlock()
}

// Close stops the coordinator's background work, waits for it, and
// detaches every breaker, which from then on works alone. Probe leases
// still held expire in the store after ProbeTimeout. Close returns
// ErrClosed if called again.
func (co *Coordinator) Close() error {
	co.mu.Lock()
	if co.closed {
		co.mu.Unlock()
		return ErrClosed
	}
	co.closed = true
	ms := make([]*member, 0, len(co.circuits))
	for _, m := range co.circuits {
		ms = append(ms, m)
	}
	co.mu.Unlock()
	for _, m := range ms {
		co.detach(m)
	}
	co.cancel()
	co.wg.Wait()
	return nil
}

// ForceOpen forces the circuit name open on every instance: every call is
// rejected and no probe runs until Clear or Disable. It returns once the
// store has taken it (this instance's breaker adopts it at once; the
// others on the event, or at their next flush).
func (co *Coordinator) ForceOpen(ctx context.Context, name string) error {
	return co.force(ctx, name, ModeForcedOpen)
}

// Disable disables the circuit name on every instance: every call runs
// and nothing trips it, until Clear or ForceOpen.
func (co *Coordinator) Disable(ctx context.Context, name string) error {
	return co.force(ctx, name, ModeDisabled)
}

// Clear ends a fleet-wide mode and closes the fleet's circuit, as Reset
// closes a breaker.
func (co *Coordinator) Clear(ctx context.Context, name string) error {
	return co.force(ctx, name, ModeNone)
}

func (co *Coordinator) force(ctx context.Context, name string, mode Mode) error {
	if name == "" {
		return errors.New("fleet: a circuit needs a name")
	}
	var rec Record
	err := co.step(ctx, func(ctx context.Context) (err error) {
		rec, err = co.store.Force(ctx, name, mode, co.params)
		return err
	})
	if err != nil {
		return err
	}
	if m := co.member(name); m != nil {
		co.observe(m, rec)
	}
	return nil
}

// Sync sends the counts and reads the records of every attached breaker
// now, as the periodic flush does, and adopts what changed.
func (co *Coordinator) Sync(ctx context.Context) error {
	return co.flush(ctx)
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

// maxQueued is how many hand-offs may wait for the loop (or for Step).
const maxQueued = 1024

// enqueue hands j to the loop without blocking. A full queue drops it: a
// lost trip is made up by the local breaker's own protection and the next
// one, a lost probe report by its lease's expiry.
func (co *Coordinator) enqueue(j job) {
	if co.cfg.Driven {
		co.queueMu.Lock()
		defer co.queueMu.Unlock()
		if len(co.queue) < maxQueued {
			co.queue = append(co.queue, j)
		} else {
			co.stats.dropped.Add(1)
		}
		return
	}
	select {
	case co.work <- j:
	default:
		co.stats.dropped.Add(1)
	}
}

// transition is the listener of every attached breaker. It may run on the
// path of a call (the call that tripped), so it only hands off.
func (co *Coordinator) transition(m *member, t breaker.Transition) {
	if t.Cause != breaker.CausePolicy || t.To != breaker.Open {
		// External: adopted from the fleet, never echoed. Probe results
		// reach the store through the gate; timeouts are the breaker's
		// own; manual actions are local (the fleet's are Force).
		return
	}
	tr := TripRequest{Instance: co.cfg.Instance}
	if k := m.known.Load(); k != nil {
		tr.Incarnation, tr.Generation = k.Incarnation, k.Generation
	}
	co.enqueue(job{kind: jobTrip, m: m, trip: tr})
}

// loop runs the hand-offs and the periodic flush until Close.
func (co *Coordinator) loop() {
	defer co.wg.Done()
	tick := time.NewTicker(co.cfg.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-co.ctx.Done():
			return
		case j := <-co.work:
			co.do(j)
		case <-tick.C:
			_ = co.flush(co.ctx)
		case <-co.kick:
			_ = co.flush(co.ctx)
		}
	}
}

func (co *Coordinator) do(j job) {
	var rec Record
	var err error
	switch j.kind {
	case jobTrip:
		err = co.step(co.ctx, func(ctx context.Context) (err error) {
			rec, err = co.store.Trip(ctx, j.m.name, j.trip, co.params)
			return err
		})
		if err == nil {
			co.stats.tripsSent.Add(1)
		}
	case jobReport:
		err = co.step(co.ctx, func(ctx context.Context) (err error) {
			rec, err = co.store.ReportProbe(ctx, j.m.name, j.rep, co.params)
			return err
		})
	case jobBarrier:
		close(j.done)
		return
	case jobSync:
		var recs []Record
		var errs []error
		err = co.step(co.ctx, func(ctx context.Context) (err error) {
			recs, errs, err = co.store.Flush(ctx, []Counts{{Name: j.m.name, Instance: co.cfg.Instance}}, co.params)
			return err
		})
		if err == nil {
			if len(recs) != 1 || errs[0] != nil {
				co.unreadable(j.m, firstErr(errs, len(recs)))
				return
			}
			rec = recs[0]
		}
	}
	if err != nil {
		co.unreadableIf(j.m, err)
		return
	}
	co.observe(j.m, rec)
}

func firstErr(errs []error, n int) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return errors.New("fleet: store returned " + strconv.Itoa(n) + " records for 1")
}

// flush sends the counts and reads the records of every attached breaker,
// in one batch.
func (co *Coordinator) flush(ctx context.Context) error {
	ms := co.members()
	if len(ms) == 0 {
		return nil
	}
	batch := make([]Counts, len(ms))
	sent := make([][2]uint64, len(ms))
	for i, m := range ms {
		batch[i] = Counts{Name: m.name, Instance: co.cfg.Instance}
		if co.params.FailureRate > 0 {
			if mt := m.c.Metrics(); mt.Counted {
				m.mu.Lock()
				batch[i].Successes, batch[i].Failures = mt.Successes-m.sentS, mt.Failures-m.sentF
				m.mu.Unlock()
				sent[i] = [2]uint64{mt.Successes, mt.Failures}
			}
		}
	}
	var recs []Record
	var errs []error
	err := co.step(ctx, func(ctx context.Context) (err error) {
		recs, errs, err = co.store.Flush(ctx, batch, co.params)
		return err
	})
	if err != nil {
		return err
	}
	if len(recs) != len(ms) || len(errs) != len(ms) {
		err := errors.New("fleet: store returned " + strconv.Itoa(len(recs)) + " records for " + strconv.Itoa(len(ms)))
		co.failed(err)
		return err
	}
	for i, m := range ms {
		if co.params.FailureRate > 0 && sent[i] != ([2]uint64{}) {
			m.mu.Lock()
			m.sentS, m.sentF = sent[i][0], sent[i][1]
			m.mu.Unlock()
		}
		if errs[i] != nil {
			co.unreadable(m, errs[i])
			continue
		}
		co.observe(m, recs[i])
	}
	return nil
}

// step runs one store step through the guard breaker, with StepTimeout,
// and notes whether the store answered.
func (co *Coordinator) step(ctx context.Context, f func(ctx context.Context) error) error {
	_, err := co.guard.Execute(ctx, func(ctx context.Context) (struct{}, error) {
		ctx, cancel := context.WithTimeout(ctx, co.cfg.StepTimeout)
		defer cancel()
		return struct{}{}, f(ctx)
	})
	if err == nil || errors.Is(err, ErrProtocol) {
		co.answered()
	} else if co.ctx.Err() == nil {
		co.failed(err)
	}
	return err
}

// answered notes that the store answered; after an outage it reads every
// record again, since events were lost meanwhile.
func (co *Coordinator) answered() {
	if !co.down.Load() {
		return
	}
	co.downMu.Lock()
	defer co.downMu.Unlock()
	if co.down.Load() {
		co.log.Info("fleet: store answers again; resynchronising", "instance", co.cfg.Instance)
		co.down.Store(false)
		co.stats.resyncs.Add(1)
		select {
		case co.kick <- struct{}{}:
		default:
		}
	}
}

// failed notes that a step failed. The log line is written before the
// coordinator reports itself degraded, so that whoever sees Degraded also
// finds the line.
func (co *Coordinator) failed(err error) {
	co.stats.storeErrors.Add(1)
	if co.down.Load() {
		return
	}
	co.downMu.Lock()
	defer co.downMu.Unlock()
	if !co.down.Load() {
		co.log.Warn("fleet: store failed; breakers work locally until it answers", "instance", co.cfg.Instance, "err", err)
		co.down.Store(true)
	}
}

func (co *Coordinator) unreadableIf(m *member, err error) {
	if errors.Is(err, ErrProtocol) {
		co.unreadable(m, err)
	}
}

// unreadable notes that m's record cannot be read: m works locally until a
// readable record comes.
func (co *Coordinator) unreadable(m *member, err error) {
	co.stats.badRecords.Add(1)
	m.adoptMu.Lock()
	defer m.adoptMu.Unlock()
	if !m.bad {
		m.bad = true
		co.bad.Add(1)
		co.log.Error("fleet: unreadable record; this breaker works locally", "circuit", m.name, "err", err)
	}
}

// observe adopts rec, the answer of a step, if it is newer than what m
// knows.
func (co *Coordinator) observe(m *member, rec Record) { co.observeFrom(m, rec, false) }

// observeEvent adopts rec, received as an event, if it is newer than what m
// knows. An event of another incarnation may be older or newer than the
// record known (events are not ordered with the answers of steps, and
// incarnations are not ordered at all): then it asks the store instead.
func (co *Coordinator) observeEvent(m *member, rec Record) { co.observeFrom(m, rec, true) }

func (co *Coordinator) observeFrom(m *member, rec Record, event bool) {
	if err := rec.Validate(); err != nil {
		co.unreadable(m, err)
		return
	}
	m.adoptMu.Lock()
	defer m.adoptMu.Unlock()
	if k := m.known.Load(); event && k != nil && k.Incarnation != rec.Incarnation {
		co.enqueue(job{kind: jobSync, m: m})
		return
	}
	if m.bad {
		m.bad = false
		co.bad.Add(-1)
	}
	old := m.known.Load()
	if old != nil && rec.Incarnation == old.Incarnation && rec.Generation <= old.Generation {
		return
	}
	m.known.Store(&rec)
	m.mu.Lock()
	m.fullUntil = time.Time{}
	m.mu.Unlock()
	if co.isClosed() {
		return
	}
	co.adopt(m, rec, old)
}

func (co *Coordinator) isClosed() bool {
	co.mu.Lock()
	defer co.mu.Unlock()
	return co.closed
}

// adopt applies rec, newer than old (nil: the first record seen), to m's
// breaker.
func (co *Coordinator) adopt(m *member, rec Record, old *Record) {
	do := func(a breaker.Adoption) {
		co.stats.adopted.Add(1)
		m.c.Adopt(a)
	}
	switch rec.Mode {
	case ModeForcedOpen:
		do(breaker.Adoption{Kind: breaker.AdoptForceOpen})
		return
	case ModeDisabled:
		do(breaker.Adoption{Kind: breaker.AdoptDisable})
		return
	}
	if old != nil && old.Mode == ModeDisabled {
		do(breaker.Adoption{Kind: breaker.AdoptClearMode})
	}
	switch rec.State {
	case breaker.Open:
		do(breaker.Adoption{Kind: breaker.AdoptOpen, For: rec.Remaining})
	case breaker.HalfOpen:
		do(breaker.Adoption{Kind: breaker.AdoptOpen})
	case breaker.Closed:
		// A closed record is adopted only as news: the close of an open
		// record this instance knew. A record seen for the first time, or
		// created again after a loss, knows nothing of this breaker's
		// failures, so its breaker keeps its own state.
		if old != nil && old.Incarnation == rec.Incarnation {
			do(breaker.Adoption{Kind: breaker.AdoptClose})
		}
	}
}

// events adopts the records the store pushes, subscribing again after the
// subscription fails, until Close.
func (co *Coordinator) events() {
	defer co.wg.Done()
	for co.ctx.Err() == nil {
		ch, err := co.store.Events(co.ctx)
		if err != nil {
			if co.ctx.Err() != nil {
				return
			}
			co.failed(err)
			t := time.NewTimer(co.cfg.FlushInterval)
			select {
			case <-co.ctx.Done():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		for rec := range ch {
			co.stats.events.Add(1)
			if m := co.member(rec.Name); m != nil {
				co.observeEvent(m, rec)
			}
		}
	}
}

// gate is the probe gate of one attached breaker.
type gate struct {
	co *Coordinator
	m  *member
}

type acquired struct {
	v   Verdict
	rec Record
	err error
}

// AcquireProbe asks the store for one of the fleet's probe leases, waiting
// at most GateTimeout. Unknown (the local decision stands) when the store
// is down, slow or the fleet's circuit is closed.
func (g *gate) AcquireProbe(gen uint64) breaker.GateVerdict {
	co, m := g.co, g.m
	k := m.known.Load()
	if k == nil || k.State == breaker.Closed || co.down.Load() || co.guard.State() == breaker.Open || co.ctx.Err() != nil {
		co.stats.unknown.Add(1)
		return breaker.GateUnknown
	}
	now := co.cfg.Clock.Now()
	m.mu.Lock()
	full := now.Before(m.fullUntil)
	m.mu.Unlock()
	if full {
		co.stats.rejected.Add(1)
		return breaker.GateReject
	}
	l := lease{inc: k.Incarnation, gen: k.Generation, id: co.cfg.Instance + "/" + randomID()}
	var a acquired
	ok := true
	if co.cfg.Driven {
		a.err = co.step(co.ctx, func(ctx context.Context) (err error) {
			a.v, a.rec, err = co.store.AcquireProbe(ctx, m.name, ProbeRequest{Incarnation: l.inc, Generation: l.gen, Lease: l.id}, co.params)
			return err
		})
	} else if a, ok = g.acquire(l); !ok {
		return breaker.GateUnknown // it waited the whole GateTimeout
	}
	if a.err != nil {
		co.unreadableIf(m, a.err)
		co.stats.unknown.Add(1)
		return breaker.GateUnknown
	}
	switch a.v {
	case ProbeAdmit:
		m.mu.Lock()
		m.leases[gen] = append(m.leases[gen], l)
		// A permit that is never reported leaves its lease here (the store
		// lets it expire); generations only rise, so forget old ones.
		for g := range m.leases {
			if g+maxLeaseGens < gen {
				delete(m.leases, g)
			}
		}
		m.mu.Unlock()
		co.stats.admitted.Add(1)
		return breaker.GateAdmit
	case ProbeFull:
		m.mu.Lock()
		m.fullUntil = co.cfg.Clock.Now().Add(co.cfg.FullFor)
		m.mu.Unlock()
		co.observe(m, a.rec)
		co.stats.rejected.Add(1)
		return breaker.GateReject
	case ProbeReopened, ProbeNotDue:
		co.observe(m, a.rec)
		if a.v == ProbeNotDue && a.rec.Generation == l.gen {
			// Our period ended before the store's: take its remaining time.
			co.stats.adopted.Add(1)
			m.c.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: a.rec.Remaining})
		}
		co.stats.rejected.Add(1)
		return breaker.GateReject
	}
	// Stale: the fleet's circuit is not the open one we knew. If it
	// closed, observe adopts the close; if it is closed and was never open
	// for us, the local decision stands.
	co.observe(m, a.rec)
	co.stats.unknown.Add(1)
	return breaker.GateUnknown
}

// acquire asks the store for lease l on a goroutine of the coordinator's,
// waiting at most GateTimeout; false if it gave up waiting.
func (g *gate) acquire(l lease) (acquired, bool) {
	co, m := g.co, g.m
	// The step runs on a goroutine of the coordinator's so that the wait is
	// bounded by the timer below whatever the store does with its context.
	// Whoever loses the race for state handles the answer: the gate, or,
	// once the gate gave up, the goroutine, which gives back a lease granted
	// too late.
	var state atomic.Int32 // 0 waiting, 1 taken by the gate, 2 abandoned
	res := make(chan acquired, 1)
	co.wg.Add(1)
	go func() {
		defer co.wg.Done()
		var a acquired
		// The step has the whole StepTimeout: a store that answers after
		// the gate gave up is slow, not down, and its late lease is given
		// back below.
		a.err = co.step(co.ctx, func(ctx context.Context) (err error) {
			a.v, a.rec, err = co.store.AcquireProbe(ctx, m.name, ProbeRequest{Incarnation: l.inc, Generation: l.gen, Lease: l.id}, co.params)
			return err
		})
		if state.CompareAndSwap(0, 1) {
			res <- a
			return
		}
		if a.err == nil && a.v == ProbeAdmit {
			co.enqueue(job{kind: jobReport, m: m, rep: ProbeReport{Incarnation: l.inc, Generation: l.gen, Lease: l.id, Outcome: breaker.Ignored}})
		}
	}()
	timer := time.NewTimer(co.cfg.GateTimeout)
	defer timer.Stop()
	select {
	case a := <-res:
		return a, true
	case <-timer.C:
		if state.CompareAndSwap(0, 2) {
			co.stats.gateTimeouts.Add(1)
			co.stats.unknown.Add(1)
			return acquired{}, false
		}
		return <-res, true
	}
}

// maxLeaseGens is how many local generations back the leases of
// unreported probes are remembered.
const maxLeaseGens = 16

// ProbeDone reports a leased probe's outcome to the store, off the path of
// the call.
func (g *gate) ProbeDone(gen uint64, o breaker.Outcome) {
	m := g.m
	m.mu.Lock()
	ls := m.leases[gen]
	if len(ls) == 0 {
		m.mu.Unlock()
		return
	}
	l := ls[len(ls)-1]
	if len(ls) == 1 {
		delete(m.leases, gen)
	} else {
		m.leases[gen] = ls[:len(ls)-1]
	}
	m.mu.Unlock()
	g.co.enqueue(job{kind: jobReport, m: m, rep: ProbeReport{Incarnation: l.inc, Generation: l.gen, Lease: l.id, Outcome: o}})
}
