package fleetsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/policy"
)

// Start is where a run's clock starts unless Options.Start says otherwise:
// a fixed date of today's era, never 1970, so that a run repeats.
var Start = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)

// Circuit is the name of the one circuit every instance of a run shares.
const Circuit = "dep"

// Options configure one run: one seed.
type Options struct {
	// Seed decides every choice of the run.
	Seed uint64
	// Steps is the number of steps of the chaotic phase. 0 means 300.
	Steps int
	// Start is where the clock starts. The zero value means [Start].
	Start time.Time
	// NewClock, when set, builds the run's clock at start (a store with a
	// clock of its own needs one that moves it). nil: a [VirtualClock].
	NewClock func(start time.Time) Clock
	// NewStore builds the store the instances share, reading time from
	// clk. nil: a fleet.Memory.
	NewStore func(clk Clock) (Target, error)

	// CallbacksUseCoordinator lets user callbacks call the coordinator
	// (Sync, and Disable fleet-wide) and not only the breaker: the rule
	// "no user callback while the coordinator holds a lock" promises that
	// this is safe.
	CallbacksUseCoordinator bool
	// Without names kinds of step the run never takes (see Kinds), to
	// look at one fault at a time.
	Without map[string]bool
	// Ignore names invariants the run does not check, to look past a
	// fault that is found often to those found rarely.
	Ignore map[string]bool
	// Echo, when set, receives every line of the trace as it is written
	// (a passing seed's trace is otherwise not kept).
	Echo func(line string)

	// Stall is how long, in real time, one step may run before the
	// watchdog fails the seed as blocked. 0 means 5s.
	Stall time.Duration
	// NestWait is how often, in real time, the run looks whether a step
	// that interrupts another (at one of its store calls, or calls to the
	// breaker) and has not finished is parked on a lock or a channel: it
	// then waits for the interrupted step, and is let run concurrently
	// until the step ends. 0 means 1ms.
	NestWait time.Duration
}

// Kinds are the kinds of step a run draws from, as Options.Without names
// them.
var Kinds = []string{"advance", "call", "burst", "hold", "finish", "step", "sync", "event", "dependency",
	"faults", "cut", "drop", "local", "fleet", "detach", "attach", "close", "restart", "double",
	"nest", "callback"}

// Target is the store of a run, as Options.NewStore builds it.
type Target struct {
	Store fleet.Store
	// Drop makes the store lose the record of name, as a flushed or
	// restarted server does. nil: the run loses no record.
	Drop func(name string)
	// Close releases the store; nil: nothing to release.
	Close func()
}

// The invariants, as a Failure names them; the package doc states each.
const (
	InvNoBlock     = "no-block"
	InvNoPanic     = "no-panic"
	InvProbeBound  = "probe-bound"
	InvOwnLease    = "own-lease"
	InvMonotonic   = "monotonic"
	InvDetached    = "detached"
	InvCountsOnce  = "counts-once"
	InvQuorumOpens = "quorum-opens"
	InvQuorumSound = "quorum-sound"
	InvLeasesBack  = "leases-back"
	InvLocalStands = "local-stands"
	InvConverge    = "converge"
)

// Failure is a seed that broke an invariant.
type Failure struct {
	Seed      uint64
	Invariant string
	Detail    string
	// Trace is every step of the run up to the failure, in order.
	Trace []string
	// Stacks holds the stacks of every goroutine when the watchdog fired.
	Stacks string
}

// Error names the seed and the invariant, says what happened and how to
// replay it.
func (f *Failure) Error() string {
	return fmt.Sprintf("fleetsim: seed %d broke %s: %s (replay: go test ./fleet -run TestSim -sim.seed=%d -v)", f.Seed, f.Invariant, f.Detail, f.Seed)
}

// Report is Error followed by the trace and, for a blocked step, the
// goroutine stacks.
func (f *Failure) Report() string {
	var b strings.Builder
	b.WriteString(f.Error())
	b.WriteString("\ntrace:\n")
	for i, l := range f.Trace {
		fmt.Fprintf(&b, "%4d %s\n", i, l)
	}
	if f.Stacks != "" {
		b.WriteString("goroutines:\n")
		b.WriteString(f.Stacks)
	}
	return b.String()
}

// errDown is the dependency's error while it fails.
var errDown = errors.New("fleetsim: dependency down")

// errInjected is a store step the fault layer failed.
var errInjected = errors.New("fleetsim: injected store error")

var discard = slog.New(slog.DiscardHandler)

type key struct {
	inc string
	gen uint64
}

func (k key) String() string {
	inc := k.inc
	if len(inc) > 4 {
		inc = inc[:4]
	}
	return fmt.Sprintf("%s/%d", inc, k.gen)
}

func keyOf(r fleet.Record) key { return key{r.Incarnation, r.Generation} }

// proc is one instance of the fleet: a process with a breaker and its
// coordinator (and, for the step "double", a second coordinator of the
// same process).
type proc struct {
	id   int
	b    *breaker.Breaker[int]
	circ *circuit

	co       *fleet.Coordinator // nil: none running
	coName   string
	detach   func() // of co; nil: not attached to co
	co2      *fleet.Coordinator
	detach2  func()
	attached int // coordinators the breaker is attached to (or being attached to)
	attaches int // Attach calls that succeeded, in all
	restarts int
	closing  bool // inside Detach or Close: adoptions may still land

	cut     bool
	inbox   []fleet.Record
	held    []*permit
	frames  []*permit
	touched bool // a local manual action since the last rejoin
	doubled bool // attached to two coordinators at once, at some time
	lastExt bool // the breaker's last transition was an adoption
	lastTo  breaker.State

	// override is the record known when the breaker was last steered by
	// something other than its coordinator (a local action, or the attach
	// itself); the monotonic check waits for a newer one. overrideFirst:
	// take the first record known after an attach.
	override      key
	overrideFirst bool

	// locals are the breaker's last local decisions (an operator's action,
	// its own transition), each with the generation it started, for
	// "local-stands".
	locals []localDec

	faults   uint64 // faults injected into this process's steps
	steps    uint64 // Steps begun
	sentS    uint64 // counts that reached the store
	sentF    uint64
	sender   string // the Counts.Sender of co's attachment, once seen
	attachS  uint64 // the breaker's totals when co's Attach began
	attachF  uint64
	baseOK   bool // no call of this breaker ended while Attach ran
	flushing int
	flushes  uint64 // flushes that reached the store
	overlap  bool   // two flushes of this process were in flight at once
}

// localDec is a local decision on a breaker: an operator's action, or a
// transition of the breaker's own.
type localDec struct {
	gen  uint64
	what string
	at   time.Time
}

// maxLocals is how many of a breaker's local decisions the run keeps: an
// adoption is judged against those made since its coordinator's read, a
// handful at most.
const maxLocals = 16

func (s *sim) noteLocalLocked(p *proc, gen uint64, what string) {
	if n := len(p.locals); n > 0 && p.locals[n-1].gen == gen {
		return // the transition of an action noted already
	}
	if len(p.locals) == maxLocals {
		p.locals = append(p.locals[:0], p.locals[1:]...)
	}
	p.locals = append(p.locals, localDec{gen: gen, what: what, at: s.clk.Now()})
}

// localStands: an adoption applied at breaker generation at, decided on
// its coordinator's read of generation read, undid no local decision made
// in between (fleet rule 2: what to adopt is decided on a read and adopted
// only at that read's generation; an operator's action or the breaker's
// own transition landing in between stands).
func (s *sim) localStands(p *proc, a breaker.Adoption, read, at uint64) {
	if at <= read {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range p.locals {
		if l.gen > read && l.gen <= at {
			s.violateLocked(InvLocalStands, fmt.Sprintf("i%d's coordinator read its breaker at generation %d and adopted %v (%s) over %s (generation %d, at %v), made after that read",
				p.id, read, a.Kind, a.Why, l.what, l.gen, l.at.Sub(s.o.Start)))
			return
		}
	}
}

type permit struct {
	p        *proc
	pm       breaker.Permit[int]
	lease    *lease
	local    bool // a local probe made under a fleet half-open record
	localKey key
	done     bool
	outcome  breaker.Outcome
}

type lease struct {
	id      string
	p       *proc
	owner   string // the coordinator instance that asked for it
	handed  bool   // its answer reached the coordinator
	ending  bool   // a report of it is on its way to the store
	faults  uint64 // its process's faults when it was granted
	k       key
	expires time.Time
	live    bool
	permit  *permit
}

type openRec struct {
	p         *proc
	co        *fleet.Coordinator
	at        time.Time
	k         key
	faults    uint64
	steps     uint64
	delivered bool
	dAt       time.Time
	how       string // "trip" or "reopen"
	attaches  int    // the attachment it was made under (proc.attaches)
}

type tripRec struct {
	p  *proc
	at time.Time
	k  key
}

type sim struct {
	o        Options
	clk      Clock
	tgt      Target
	params   fleet.Params
	fleetCfg fleet.Config
	n        int
	bound    time.Duration

	progress atomic.Int64

	mu        sync.Mutex
	rng       *rand.Rand
	trace     []string
	fail      *Failure
	phase     int // 0 chaos, 1 calm
	faultRate float64
	dep       int // 0 healthy, 1 down, 2 flaky
	procs     []*proc
	nesting   bool
	pending   []chan struct{}
	cbDepth   int

	rec      fleet.Record
	recAt    time.Time
	recOK    bool
	lastPub  key
	incs     int // incarnations of the record seen
	lastInc  string
	taint    map[key]bool
	taken    map[string][2]uint64 // Counts.Sender → the totals the store took
	leases   map[string]*lease
	trips    []tripRec
	opens    []openRec
	counting bool
}

// Run runs one seed and returns the first invariant it broke, or nil.
func Run(o Options) *Failure {
	if o.Steps == 0 {
		o.Steps = 300
	}
	if o.Stall == 0 {
		o.Stall = 5 * time.Second
	}
	if o.NestWait == 0 {
		o.NestWait = time.Millisecond
	}
	if o.Start.IsZero() {
		o.Start = Start
	}
	s := &sim{o: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		taint: map[key]bool{}, leases: map[string]*lease{}, taken: map[string][2]uint64{}}
	if o.NewClock != nil {
		s.clk = o.NewClock(o.Start)
	} else {
		s.clk = NewVirtualClock(o.Start)
	}
	done := make(chan struct{})
	ids := make(chan int64, 1)
	go func() {
		ids <- goid()
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				s.violate(InvNoPanic, fmt.Sprintf("%v\n%s", v, stack()))
			}
		}()
		s.run()
	}()
	tick := time.NewTicker(o.Stall / 4)
	defer tick.Stop()
	last, since := s.progress.Load(), time.Now()
	for {
		select {
		case <-done:
			s.mu.Lock()
			f := s.fail
			if f != nil {
				f.Trace = s.trace
			}
			var cos []*fleet.Coordinator
			for _, p := range s.procs {
				if p.co != nil {
					cos = append(cos, p.co)
				}
			}
			s.mu.Unlock()
			// The run's coordinators are closed once it has ended, with no
			// lock held (Close may run callbacks): a coordinator left
			// running keeps its breakers in the process-wide table of
			// attached breakers, and with them the whole run, so that a
			// run of many seeds grew by every seed's trace and state.
			for _, co := range cos {
				_ = co.Close()
			}
			if f == nil && s.tgt.Close != nil {
				s.tgt.Close()
			}
			return f
		case <-tick.C:
			if p := s.progress.Load(); p != last {
				last, since = p, time.Now()
				continue
			}
			if time.Since(since) < o.Stall {
				continue
			}
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			s.mu.Lock()
			tr := append([]string(nil), s.trace...)
			s.mu.Unlock()
			return &Failure{Seed: o.Seed, Invariant: InvNoBlock,
				Detail: fmt.Sprintf("step %d has not returned after %v of real time", len(tr)-1, o.Stall),
				Trace:  tr, Stacks: string(buf)}
		}
	}
}

func stack() string {
	buf := make([]byte, 64<<10)
	return string(buf[:runtime.Stack(buf, false)])
}

// tracef appends a line to the trace, stamped with the virtual time.
func (s *sim) tracef(format string, args ...any) {
	s.progress.Add(1)
	line := fmt.Sprintf("%9s ", s.clk.Now().Sub(s.o.Start).Truncate(time.Millisecond)) + fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.trace = append(s.trace, line)
	s.mu.Unlock()
	if s.o.Echo != nil {
		s.o.Echo(line)
	}
}

// violate records the first broken invariant.
func (s *sim) violate(inv, detail string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violateLocked(inv, detail)
}

func (s *sim) violateLocked(inv, detail string) {
	if s.fail != nil || s.o.Ignore[inv] {
		return
	}
	s.trace = append(s.trace, "VIOLATION "+inv+": "+detail)
	s.fail = &Failure{Seed: s.o.Seed, Invariant: inv, Detail: detail}
}

func (s *sim) failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fail != nil
}

func (s *sim) intn(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.IntN(n)
}

func (s *sim) chance(p float64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64() < p
}

func pick[T any](s *sim, xs ...T) T { return xs[s.intn(len(xs))] }

// run is the seed: the fleet's rules, the chaotic phase, the calm one.
func (s *sim) run() {
	if s.o.NewStore != nil {
		t, err := s.o.NewStore(s.clk)
		if err != nil {
			s.violate("options", "NewStore: "+err.Error())
			return
		}
		s.tgt = t
	} else {
		m := fleet.NewMemory(s.clk)
		s.tgt = Target{Store: m, Drop: m.Drop}
	}
	s.n = 2 + s.intn(4)
	cfg := fleet.Config{
		Quorum:        1 + s.intn(min(3, s.n)),
		QuorumWindow:  pick(s, 2*time.Second, 5*time.Second, 10*time.Second),
		OpenTimeout:   pick(s, time.Second, 3*time.Second, 5*time.Second),
		Backoff:       &breaker.Backoff{Factor: 2},
		Probes:        1 + s.intn(4),
		ProbeTimeout:  pick(s, 2*time.Second, 5*time.Second),
		FlushInterval: pick(s, 500*time.Millisecond, time.Second, 2*time.Second),
	}
	cfg.Backoff.Max = 4 * cfg.OpenTimeout
	if s.chance(0.5) {
		cfg.FailureRate, cfg.MinCalls, cfg.RateWindow = 0.5, 5+s.intn(16), 5*time.Second
	}
	s.params = fleet.Params{Quorum: cfg.Quorum, QuorumWindow: cfg.QuorumWindow, Probes: cfg.Probes,
		ProbeTimeout: cfg.ProbeTimeout, FailureRate: cfg.FailureRate, BackoffMax: cfg.Backoff.Max}
	s.counting = cfg.FailureRate > 0
	s.dep = []int{0, 1, 2}[s.intn(3)]
	localMax := time.Duration(0)
	s.tracef("seed %d: %d instances; fleet quorum %d in %v, K %d, open %v..%v, lease %v, flush %v, rate %v/%d",
		s.o.Seed, s.n, cfg.Quorum, cfg.QuorumWindow, cfg.Probes, cfg.OpenTimeout, cfg.Backoff.Max, cfg.ProbeTimeout, cfg.FlushInterval, cfg.FailureRate, cfg.MinCalls)
	for i := range s.n {
		p := &proc{id: i}
		open := pick(s, time.Second, 2*time.Second, 5*time.Second)
		localMax = max(localMax, open)
		bc := breaker.Config[int]{
			Name: Circuit, Policy: policy.Consecutive(1 + s.intn(4)), OpenTimeout: open,
			HalfOpenProbes: 1 + s.intn(3), Clock: s.clk, CountCalls: true,
			OnTransition: func(t breaker.Transition) { s.callback(p, t) },
		}
		b, err := breaker.New(bc)
		if err != nil {
			s.violate("options", err.Error())
			return
		}
		p.b = b
		p.circ = &circuit{Breaker: b, s: s, p: p}
		s.tracef("i%d: breaker %v, open %v, half-open probes %d", i, bc.Policy, open, bc.HalfOpenProbes)
		s.procs = append(s.procs, p)
	}
	// The convergence bound: the longest fleet open period, a lease's
	// life, the longest local open period, the coordinator's guard
	// breaker's open period, three flushes and the FullFor cache.
	s.bound = cfg.Backoff.Max + cfg.ProbeTimeout + localMax + 2*time.Second + 3*cfg.FlushInterval + fleet.DefaultFullFor
	s.fleetCfg = cfg
	for _, p := range s.procs {
		s.startCo(p)
		if s.failed() {
			return
		}
	}
	for i := 0; i < s.o.Steps && !s.failed(); i++ {
		s.chaosStep()
		s.endStep()
	}
	if s.failed() {
		return
	}
	s.calm()
}

func (s *sim) without(kind string) bool { return s.o.Without[kind] }

// startCo builds a new coordinator for p and attaches p's breaker.
func (s *sim) startCo(p *proc) {
	cfg := s.fleetCfg
	cfg.Clock = s.clk
	cfg.Logger = discard
	cfg.Driven = true
	// A process keeps its instance name across its coordinators (the
	// quorum counts instances by name, so a process that renamed itself
	// would count twice); the run tells its coordinators apart by a label
	// of its own, with which their leases are matched.
	s.mu.Lock()
	cfg.Instance = fmt.Sprintf("i%d", p.id)
	label := cfg.Instance
	if p.restarts > 0 {
		label += fmt.Sprintf(".%d", p.restarts)
	}
	p.restarts++
	s.mu.Unlock()
	cfg.Store = &faultStore{s: s, p: p, co: label}
	co, err := fleet.New(cfg)
	if err != nil {
		s.violate("options", err.Error())
		return
	}
	s.mu.Lock()
	p.co, p.coName, p.inbox = co, label, nil
	s.mu.Unlock()
	s.tracef("i%d: new coordinator %s", p.id, label)
	s.attach(p)
}

func (s *sim) attach(p *proc) {
	s.mu.Lock()
	co := p.co
	if co == nil || p.detach != nil {
		s.mu.Unlock()
		return
	}
	p.attached++
	s.mu.Unlock()
	s.tracef("i%d: attach to %s", p.id, p.coName)
	mt := p.b.Metrics()
	d, err := co.Attach(p.circ)
	mt2 := p.b.Metrics()
	s.mu.Lock()
	defer s.mu.Unlock()
	// A call that ended while Attach ran may or may not be the fleet's.
	p.baseOK = mt.Successes == mt2.Successes && mt.Failures == mt2.Failures
	p.attachS, p.attachF, p.sender = mt.Successes, mt.Failures, ""
	if err != nil {
		p.attached--
		s.trace = append(s.trace, "  attach: "+err.Error())
		return
	}
	if p.co != co {
		// Closed while Attach ran, and Attach said yes all the same (X3):
		// the closed coordinator's gate would stay on the breaker.
		p.attached--
		s.violateLocked(InvDetached, fmt.Sprintf("i%d: Attach returned a detach function and no error, but its coordinator was closed while it ran", p.id))
		return
	}
	p.detach = d
	p.attaches++
	p.overrideFirst = true
}

func (s *sim) detachCo(p *proc) {
	s.mu.Lock()
	d := p.detach
	if d == nil {
		s.mu.Unlock()
		return
	}
	p.detach = nil
	p.closing = true
	s.mu.Unlock()
	s.tracef("i%d: detach from %s", p.id, p.coName)
	d()
	s.mu.Lock()
	p.closing = false
	p.attached--
	// The breaker keeps what its coordinator adopted, and works alone: a
	// state no coordinator owns, as after a local action; the calm phase
	// rejoins it.
	p.touched = true
	s.mu.Unlock()
}

func (s *sim) closeCo(p *proc) {
	s.mu.Lock()
	co, name := p.co, p.coName
	if co == nil {
		s.mu.Unlock()
		return
	}
	p.co = nil
	wasAttached := p.detach != nil
	p.detach = nil
	p.closing = true
	faults := p.faults
	p.inbox = nil
	s.mu.Unlock()
	s.tracef("i%d: close %s", p.id, name)
	_ = co.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	p.closing = false
	p.touched = true // as after detach
	if wasAttached {
		p.attached--
	}
	if p.faults != faults || s.phase != 0 {
		return
	}
	now := s.clk.Now()
	for _, l := range s.sortedLeases() {
		// A lease whose answer is still on its way (Close interrupted
		// that step) is not held yet when Close looks, and one whose
		// report is on its way is handed back already: the steps that
		// Close interrupted end them.
		// A fault in the process's steps since the grant may have lost
		// the lease's report (a lost report costs the fleet the lease's
		// life, as a crash does).
		if l.live && l.owner == name && l.handed && !l.ending && l.faults == p.faults && s.recOK && l.k == keyOf(s.rec) && now.Before(l.expires) {
			s.violateLocked(InvLeasesBack, fmt.Sprintf("i%d closed coordinator %s with the store answering, and still holds lease %s of %v for %v more", p.id, name, l.id, l.k, l.expires.Sub(now)))
			return
		}
	}
}

func (s *sim) sortedLeases() []*lease {
	ls := make([]*lease, 0, len(s.leases))
	for _, l := range s.leases {
		ls = append(ls, l)
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].id < ls[j].id })
	return ls
}

// live returns the instances whose coordinator runs, in order.
func (s *sim) live() []*proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ps []*proc
	for _, p := range s.procs {
		if p.co != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

func (s *sim) anyProc() *proc { return s.procs[s.intn(len(s.procs))] }

// outcome draws the dependency's answer to one call.
func (s *sim) outcome() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.dep {
	case 1:
		return errDown
	case 2:
		if s.rng.IntN(2) == 0 {
			return errDown
		}
	}
	return nil
}

func outcomeOf(err error) breaker.Outcome {
	if err == nil {
		return breaker.Success
	}
	return breaker.Failure
}

// chaosStep draws and takes one step of the chaotic phase.
func (s *sim) chaosStep() {
	type kind struct {
		name string
		w    int
	}
	kinds := []kind{{"advance", 14}, {"call", 14}, {"burst", 6}, {"hold", 8}, {"finish", 7}, {"step", 16}, {"sync", 3},
		{"event", 8}, {"dependency", 5}, {"faults", 3}, {"cut", 1}, {"drop", 1}, {"local", 3}, {"fleet", 1},
		{"detach", 1}, {"attach", 2}, {"close", 1}, {"restart", 1}, {"double", 1}}
	total := 0
	for _, k := range kinds {
		if !s.without(k.name) {
			total += k.w
		}
	}
	r := s.intn(total)
	var name string
	for _, k := range kinds {
		if s.without(k.name) {
			continue
		}
		if r < k.w {
			name = k.name
			break
		}
		r -= k.w
	}
	s.act(name, s.anyProc(), false)
}

// act takes one step of kind name at p. nested: it interrupts another
// step, at one of its calls to the store or the breaker.
func (s *sim) act(name string, p *proc, nested bool) {
	s.mu.Lock()
	co := p.co
	s.mu.Unlock()
	ctx := context.Background()
	switch name {
	case "advance":
		d := pick(s, time.Millisecond, 10*time.Millisecond, 100*time.Millisecond, 500*time.Millisecond, time.Second, 3*time.Second)
		s.clk.Advance(d)
		s.tracef("advance %v", d)
	case "call":
		s.call(p, "")
	case "burst":
		for _, q := range s.procs {
			s.call(q, "")
		}
	case "hold":
		s.hold(p, "")
	case "finish":
		s.finish(p)
	case "step":
		s.step(p)
	case "sync":
		if co != nil {
			s.tracef("i%d: Sync", p.id)
			err := co.Sync(ctx)
			s.tracef("i%d: Sync: %v", p.id, err)
		}
	case "event":
		s.event(p)
	case "dependency":
		d := []int{0, 1, 1, 2}[s.intn(4)]
		s.mu.Lock()
		s.dep = d
		s.mu.Unlock()
		s.tracef("dependency %s", []string{"healthy", "down", "flaky"}[d])
	case "faults":
		r := 0.0
		if s.chance(0.5) {
			r = pick(s, 0.1, 0.3, 0.6)
		}
		s.mu.Lock()
		s.faultRate = r
		s.mu.Unlock()
		s.tracef("store faults at rate %v", r)
	case "cut":
		s.mu.Lock()
		p.cut = !p.cut
		c := p.cut
		s.mu.Unlock()
		s.tracef("i%d: cut off from the store: %v", p.id, c)
	case "drop":
		if s.tgt.Drop != nil {
			s.tracef("store loses the record")
			s.tgt.Drop(Circuit)
			s.mu.Lock()
			s.recOK = false
			// What the store took went with the record: it adds again
			// what was never acknowledged.
			clear(s.taken)
			for _, p := range s.procs {
				p.sentS, p.sentF = 0, 0
			}
			s.trips = nil
			s.mu.Unlock()
		}
	case "local":
		s.local(p, "")
	case "fleet":
		if co != nil {
			op := s.intn(3)
			var err error
			s.tracef("i%d: fleet %s", p.id, []string{"ForceOpen", "Disable", "Clear"}[op])
			switch op {
			case 0:
				err = co.ForceOpen(ctx, Circuit)
			case 1:
				err = co.Disable(ctx, Circuit)
			default:
				err = co.Clear(ctx, Circuit)
			}
			s.tracef("i%d: fleet op: %v", p.id, err)
		}
	case "detach":
		s.detachCo(p)
	case "attach":
		s.attach(p)
	case "close":
		s.closeCo(p)
	case "restart":
		if co == nil && !nested {
			s.startCo(p)
		}
	case "double":
		s.double(p)
	}
}

// double attaches p's breaker to a second coordinator of the same process.
func (s *sim) double(p *proc) {
	s.mu.Lock()
	if p.co2 != nil || p.attached == 0 {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	cfg := s.fleetCfg
	cfg.Clock, cfg.Logger, cfg.Driven = s.clk, discard, true
	cfg.Instance = fmt.Sprintf("i%d-second", p.id)
	cfg.Store = &faultStore{s: s, p: p, co: cfg.Instance}
	co2, err := fleet.New(cfg)
	if err != nil {
		return
	}
	s.mu.Lock()
	p.co2 = co2
	p.attached++
	s.mu.Unlock()
	s.tracef("i%d: attach the same breaker to a second coordinator %s", p.id, cfg.Instance)
	d, err := co2.Attach(p.circ)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		p.attached--
		s.trace = append(s.trace, "  refused: "+err.Error())
		return
	}
	p.detach2 = d
	p.touched = true
	p.doubled = true
	p.attaches++
}

func (s *sim) step(p *proc) {
	s.mu.Lock()
	co, co2 := p.co, p.co2
	if co == nil {
		s.mu.Unlock()
		return
	}
	p.steps++
	steps, flushes := p.steps, p.flushes
	s.mu.Unlock()
	s.tracef("i%d: Step", p.id)
	n := co.Step()
	if co2 != nil {
		n += co2.Step()
	}
	s.tracef("i%d: Step ran %d hand-offs", p.id, n)
	s.delivered(p, co, steps, flushes)
}

// call runs one call through p's breaker with Execute.
func (s *sim) call(p *proc, why string) {
	pm := &permit{p: p}
	s.push(p, pm)
	_, err := p.b.Execute(context.Background(), func(context.Context) (int, error) {
		err := s.outcome()
		s.mu.Lock()
		pm.done, pm.outcome = true, outcomeOf(err)
		s.mu.Unlock()
		return 0, err
	})
	s.pop(p)
	s.tracef("i%d: %scall: %v%s", p.id, why, errText(err), pm.leaseText())
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	if errors.Is(err, breaker.ErrOpen) {
		return "rejected"
	}
	return err.Error()
}

func (pm *permit) leaseText() string {
	if pm.lease != nil {
		return " (lease " + pm.lease.id + ")"
	}
	if pm.local {
		return " (local probe)"
	}
	return ""
}

// hold asks p's breaker for a permit and keeps it: a call in flight.
func (s *sim) hold(p *proc, why string) {
	pm := &permit{p: p}
	before := p.b.Metrics()
	s.push(p, pm)
	perm, err := p.b.Allow()
	s.pop(p)
	if err != nil {
		s.tracef("i%d: %sallow: %v", p.id, why, errText(err))
		return
	}
	after := p.b.Metrics()
	s.mu.Lock()
	pm.pm = perm
	if pm.lease == nil && before.State == breaker.HalfOpen && before.Mode == breaker.ModeNone && after.ProbesInFlight > 0 &&
		s.recOK && s.effState() == breaker.HalfOpen && s.rec.Mode == fleet.ModeNone {
		if k, ok := s.knownLocked(p); ok && k == keyOf(s.rec) {
			pm.local, pm.localKey = true, k
		}
	}
	p.held = append(p.held, pm)
	s.mu.Unlock()
	s.tracef("i%d: %sallow: holding a call%s", p.id, why, pm.leaseText())
}

// knownLocked reads what p's coordinator knows. View takes only the
// coordinator's leaf lock, so it is safe with s.mu held.
// known returns the record co applied to the run's circuit (its View).
func known(co *fleet.Coordinator) (fleet.Record, bool) {
	v, ok := co.View(Circuit)
	return v.Record, ok && v.Known
}

func (s *sim) knownLocked(p *proc) (key, bool) {
	if p.co == nil {
		return key{}, false
	}
	r, ok := known(p.co)
	return keyOf(r), ok
}

// finish ends one call in flight: done with the dependency's answer, or
// released.
func (s *sim) finish(p *proc) {
	s.mu.Lock()
	if len(p.held) == 0 {
		s.mu.Unlock()
		return
	}
	i := s.rng.IntN(len(p.held))
	pm := p.held[i]
	p.held = append(p.held[:i], p.held[i+1:]...)
	release := s.rng.IntN(5) == 0
	s.mu.Unlock()
	if release {
		s.mu.Lock()
		pm.done, pm.outcome = true, breaker.Ignored
		s.mu.Unlock()
		s.tracef("i%d: release a held call%s", p.id, pm.leaseText())
		pm.pm.Release()
		return
	}
	err := s.outcome()
	s.mu.Lock()
	pm.done, pm.outcome = true, outcomeOf(err)
	s.mu.Unlock()
	s.tracef("i%d: a held call ends: %v%s", p.id, errText(err), pm.leaseText())
	pm.pm.Done(0, err)
}

func (s *sim) push(p *proc, pm *permit) {
	s.mu.Lock()
	p.frames = append(p.frames, pm)
	s.mu.Unlock()
}

func (s *sim) pop(p *proc) {
	s.mu.Lock()
	if n := len(p.frames); n > 0 {
		p.frames = p.frames[:n-1]
	}
	s.mu.Unlock()
}

// local takes a manual action on p's breaker alone.
func (s *sim) local(p *proc, why string) {
	op := s.intn(5)
	d := pick(s, time.Duration(0), 100*time.Millisecond, time.Second)
	s.override(p)
	s.tracef("i%d: %slocal %s", p.id, why, []string{"ForceOpen", "Disable", "Reset", "Trip", "TripFor " + d.String()}[op])
	switch op {
	case 0:
		p.b.ForceOpen()
	case 1:
		p.b.Disable()
	case 2:
		p.b.Reset()
	case 3:
		p.b.Trip()
	default:
		p.b.TripFor(d)
	}
	gen := p.b.Metrics().Generation
	s.mu.Lock()
	s.noteLocalLocked(p, gen, "a local "+[]string{"ForceOpen", "Disable", "Reset", "Trip", "TripFor"}[op])
	s.mu.Unlock()
}

// override notes that p's breaker is steered by hand: its mode need not
// follow the record its coordinator knows until a newer one comes.
func (s *sim) override(p *proc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.touched = true
	if k, ok := s.knownLocked(p); ok {
		p.override, p.overrideFirst = k, false
	} else {
		p.overrideFirst = true
	}
}

// event delivers, drops, duplicates, delays or reorders p's events.
func (s *sim) event(p *proc) {
	s.mu.Lock()
	co := p.co
	if co == nil || len(p.inbox) == 0 {
		s.mu.Unlock()
		return
	}
	i, how := 0, s.rng.IntN(5)
	if how == 1 {
		i = s.rng.IntN(len(p.inbox))
	}
	rec := p.inbox[i]
	if how != 3 {
		p.inbox = append(p.inbox[:i], p.inbox[i+1:]...)
	}
	s.mu.Unlock()
	switch how {
	case 2:
		s.tracef("i%d: event %v dropped", p.id, keyOf(rec))
		return
	case 4:
		s.tracef("i%d: events delayed", p.id)
		return
	}
	s.tracef("i%d: event %v %s delivered", p.id, keyOf(rec), []string{"", "(out of order)", "", "(duplicate)"}[how])
	co.Deliver(rec)
}

// callback is every breaker's OnTransition: the run's bookkeeping, then a
// user's callback, which may call back into the breaker (and, with
// CallbacksUseCoordinator, the coordinator).
func (s *sim) callback(p *proc, t breaker.Transition) {
	s.observeTransition(p, t)
	s.mu.Lock()
	if s.cbDepth >= 2 || s.o.Without["callback"] || s.rng.Float64() >= 0.3 {
		s.mu.Unlock()
		return
	}
	s.cbDepth++
	op := s.rng.IntN(8)
	chaos := s.phase == 0
	co := p.co
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.cbDepth--
		s.mu.Unlock()
	}()
	why := fmt.Sprintf("callback on %v>%v %v: ", t.From, t.To, t.Cause)
	switch {
	case op == 0:
		st := p.b.State()
		s.tracef("i%d: %sState %v", p.id, why, st)
	case op <= 2:
		s.call(p, why)
	case op == 3:
		s.hold(p, why)
	case op == 4 && chaos:
		s.local(p, why)
	case op == 5 && s.o.CallbacksUseCoordinator && co != nil:
		s.tracef("i%d: %sSync", p.id, why)
		_ = co.Sync(context.Background())
	case op == 6 && s.o.CallbacksUseCoordinator && co != nil && chaos:
		s.tracef("i%d: %sfleet Disable", p.id, why)
		_ = co.Disable(context.Background(), Circuit)
	}
}

// preempt may interrupt a step at one of its calls to the store or to the
// breaker with another step, as a concurrent goroutine would: on a
// goroutine of its own, waited for (so the order stays the seed's) unless
// it blocks on a lock the interrupted step holds, when it is let run
// concurrently and joined at the end of the step.
func (s *sim) preempt(p *proc, where string) {
	s.mu.Lock()
	odds := 0.08
	if strings.HasPrefix(where, "AcquireProbe answer") && !strings.HasSuffix(where, "admit") {
		odds = 0.4
	}
	if where == "AdoptAt" || where == "Adopt" {
		odds = 0.3
	}
	if s.phase != 0 || s.nesting || s.fail != nil || s.o.Without["nest"] || s.rng.Float64() >= odds {
		s.mu.Unlock()
		return
	}
	s.nesting = true
	kinds := []string{"sync", "fleet", "call", "close", "event", "step", "detach"}
	switch {
	case where == "AdoptAt" || where == "Adopt":
		// Between the coordinator's read of the breaker and its
		// adoption, what matters most is the breaker changing: an
		// operator's action on it, a call that trips it or ends a probe.
		kinds = []string{"local", "local", "call", "hold", "finish", "advance", "sync", "fleet", "event"}
	case strings.Contains(where, "answer") && s.rng.IntN(2) == 0:
		// Between an answer and its handling, what matters most is a
		// newer record reaching the instance another way.
		kinds = []string{"sync", "fleet", "event"}
	}
	name := kinds[s.rng.IntN(len(kinds))]
	other := s.procs[s.rng.IntN(len(s.procs))]
	s.mu.Unlock()
	target := p
	if (name == "fleet" && s.chance(0.5)) || (name == "step" && other != p) {
		target = other
	}
	if name == "step" && target == p {
		name = "sync" // a Step of p waits for p's Step: not an interleaving
	}
	s.tracef("  i%d at %s: interrupted by %s at i%d", p.id, where, name, target.id)
	done := make(chan struct{})
	ids := make(chan int64, 1)
	go func() {
		ids <- goid()
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				s.violate(InvNoPanic, fmt.Sprintf("%v, in %s of i%d interrupting i%d at %s\n%s", v, name, target.id, p.id, where, stack()))
			}
			s.mu.Lock()
			s.nesting = false
			s.mu.Unlock()
		}()
		s.act(name, target, true)
	}()
	// Wait until it is done, or parked on a lock or a channel: it can
	// only be waiting for the interrupted step, which waits for it. A
	// look at its state (not a timeout) decides, so that a slow machine
	// does not change the run.
	id := <-ids
	t := time.NewTicker(s.o.NestWait)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if !parked(id) {
				continue
			}
			s.tracef("  (%s at i%d blocks on the interrupted step: it runs concurrently)", name, target.id)
			s.mu.Lock()
			s.pending = append(s.pending, done)
			s.mu.Unlock()
			return
		}
	}
}

// goid returns the id of the calling goroutine, as its stack names it.
func goid() int64 {
	var buf [64]byte
	f := strings.Fields(string(buf[:runtime.Stack(buf[:], false)]))
	if len(f) < 2 {
		return -1
	}
	id, _ := strconv.ParseInt(f[1], 10, 64)
	return id
}

// parked reports whether goroutine id waits on a lock or a channel.
func parked(id int64) bool {
	buf := make([]byte, 1<<20)
	all := string(buf[:runtime.Stack(buf, true)])
	head := "goroutine " + strconv.FormatInt(id, 10) + " ["
	i := strings.Index(all, head)
	if i < 0 {
		return false
	}
	st := all[i+len(head):]
	if j := strings.IndexAny(st, ",]"); j >= 0 {
		st = st[:j]
	}
	switch st {
	case "sync.Mutex.Lock", "sync.RWMutex.Lock", "sync.RWMutex.RLock", "semacquire", "sync.WaitGroup.Wait",
		"sync.Cond.Wait", "chan receive", "chan send", "select":
		return true
	}
	return false
}

// endStep joins the steps that ran concurrently and checks the
// invariants.
func (s *sim) endStep() {
	for {
		s.mu.Lock()
		if len(s.pending) == 0 {
			s.mu.Unlock()
			break
		}
		d := s.pending[0]
		s.pending = s.pending[1:]
		s.mu.Unlock()
		<-d
	}
	if s.failed() {
		return
	}
	s.check()
}
