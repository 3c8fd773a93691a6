package fsm

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/internal/fastrec"
	"github.com/tripwire-go/tripwire/policy"
)

// Config is what a Machine needs to know. All fields are required except the
// hooks; the breaker validates and fills in defaults before calling New.
type Config struct {
	// Policy decides when a closed circuit opens.
	Policy policy.Policy
	// OpenFor returns how long the circuit stays open after its trips-th
	// consecutive trip (1 for the first trip after the circuit was closed).
	// It lets the breaker back off; a constant function keeps a fixed
	// timeout.
	OpenFor func(trips int) time.Duration
	// Probes is the most probe calls in flight while half-open. 1..MaxProbes.
	Probes int
	// CloseAfter is the number of successful probes that closes a half-open
	// circuit. 1..MaxProbes.
	CloseAfter int
	// Opened, when set, is called with the machine's lock held each time the
	// circuit opens, with the word it opened under and how long it stays
	// open; d is negative for an open period with no end (forced open), and
	// zero for one that has already ended, whose word is published with the
	// due flag set. The breaker uses it to arm a timer that calls MarkDue;
	// it must not call back into the machine.
	Opened func(w Word, d time.Duration)
	// Notify makes the machine queue every transition for Flush. Without
	// it, transitions are not recorded at all.
	Notify bool
	// ProbeTimeout, when positive, lets a half-open circuit reclaim its
	// probe slots once every slot has been busy for that long with no probe
	// admitted or finished: the probes still in flight are forgotten (their
	// results change nothing) and new probes are let in. See Reclaim.
	ProbeTimeout time.Duration
	// Forget, when positive, makes the backoff remember across closes by
	// probes: see forgetLocked. Zero: every close starts the count over.
	Forget time.Duration
	// Ramp, when positive, is how long after a close by probes the circuit
	// admits only a rising share of calls; see Ramp.
	Ramp time.Duration
	// Stamp, when set, gives a closed call carried over a Reconfigure
	// what the policy now in force needs and the call, finished under
	// another policy, may lack: its time. Reconfigure keeps it.
	Stamp func(policy.Call) policy.Call
}

// period is one open period: when it ends, or that it has no end. It is
// published through a pointer so that readers without the lock see a whole
// time.Time.
type period struct {
	until  time.Time
	forced bool // open until a manual action ends it; until is zero
}

// over reports whether the open period has ended at now.
func (p *period) over(now time.Time) bool { return !p.forced && !now.Before(p.until) }

// Machine is the circuit's state machine. Its zero value is not usable; see
// New. All methods are safe for concurrent use.
//
// The hot path is Load: one atomic read of a word holding state and
// generation. Everything that changes the state takes mu and re-checks the
// word it decided on, so a caller acting on a stale word changes nothing.
// The machine never reads a clock; callers pass the time in.
type Machine struct {
	// word is read by every call and written only under mu. The padding
	// keeps the probe counter, which half-open calls write, off its cache
	// line.
	word atomic.Uint64
	_    [56]byte
	// slots counts half-open probes; see slots.go.
	slots atomic.Uint64
	_     [56]byte
	// open describes the current or last open period. It is stored before
	// the word that announces the period, so a reader that sees an open word
	// finds its period (or a newer one).
	open atomic.Pointer[period]
	// probeAt is when a probe of the current half-open period was last
	// admitted or finished (or the period began), in nanoseconds since
	// epoch. Kept only with a ProbeTimeout.
	probeAt atomic.Int64
	epoch   time.Time

	// rec registers the calls inside Record; see close.
	rec recorders
	// fast is the policy's fast path for closed successes, which need no
	// registration (see internal/fastrec), or nil. Reconfigure replaces
	// it, before it publishes the word of the new policy.
	fast atomic.Pointer[fastBox]

	// lim holds the settings that half-open calls read without the lock;
	// Reconfigure replaces it.
	lim atomic.Pointer[limits]
	// carryFrom is the generation of the last word published by anything
	// but a reconfiguration: a closed call admitted under a plain word of
	// that generation or later, whose word only reconfigurations replaced,
	// still counts (see carried).
	carryFrom atomic.Uint64
	// swapping is set while a reconfiguration of a closed circuit hands
	// the policy's counts over: a closed call that finishes meanwhile
	// waits for it to end (see recordLate).
	swapping atomic.Bool

	// closing serialises closes (see close). It is taken before mu, and
	// held while the policy's Reset runs, without mu.
	closing sync.Mutex

	mu        sync.Mutex
	closedGen uint64 // the generation of the last plain closed word
	// decisions counts the transitions that are decisions (every open, a
	// Disable, a close), as opposed to the moves that time makes (an open
	// period ending, probe slots reclaimed): a close that finds it changed
	// after the policy's Reset knows that a later decision stands.
	decisions uint64
	// resetting is set while a close runs the policy's Reset without mu:
	// a probe admitted before the close cannot open the circuit then (see
	// close).
	resetting bool
	cfg       Config
	since     time.Time // when the current state began
	mode      Mode      // the manual mode in force
	trips     int       // consecutive trips since the circuit last closed
	opens     Opens     // opens since the machine was made, by cause
	queue     []Transition
	head      int
	flushing  bool
	queued    atomic.Int32 // len(queue)-head, readable without mu

	// closedAt is when the circuit last closed by probes, for Forget.
	closedAt time.Time

	// ramp is the ramp of the last close by probes (with Config.Ramp),
	// stored before the word that announces it.
	ramp atomic.Pointer[Ramp]
}

// Opens counts the times a circuit opened, by what opened it.
type Opens struct {
	Trips    uint64 // closed to open, by the policy
	Reopens  uint64 // half-open to open, by a failed probe
	Manual   uint64 // by Trip, TripFor or ForceOpen
	External uint64 // adopted from outside
}

// New returns a closed machine. now is the time it starts in its state.
func New(cfg Config, now time.Time) *Machine {
	m := &Machine{cfg: cfg, since: now, epoch: now}
	m.fast.Store(fastOf(cfg.Policy))
	m.lim.Store(limitsOf(cfg))
	m.open.Store(&period{until: now})
	return m
}

// Word returns the atomic that holds the state word, for a caller that
// keeps it at hand: the Go compiler does not inline Load into generic code,
// and the breaker's hot path is generic.
func (m *Machine) Word() *atomic.Uint64 { return &m.word }

// Load returns the current word. A caller admitted under a word reports its
// result with that word, so results from an earlier state are recognised.
func (m *Machine) Load() Word { return Word(m.word.Load()) }

// Record gives the policy a call that finished in the closed state it was
// admitted under (w). It returns true when the policy asks to trip and the
// circuit is still in w; the caller then calls TripFrom(w, now).
//
// A call admitted under an older word is dropped unseen: a late result must
// not count towards a circuit that has moved on. So is a call admitted under
// a muted word (a disabled circuit).
//
// While it checks w and records, it is registered with the recorders, so
// that close can wait for it before resetting the policy: a result that
// passed the check reaches the policy before the Reset, never after it.
// A success for a policy with a fast path is not registered: it reads the
// policy's window before it checks w again, which keeps it out of the
// policy after a Reset or a Reconfigure by itself (see internal/fastrec).
func (m *Machine) Record(w Word, c policy.Call) bool {
	if w&rampBit != 0 {
		return m.recordRamp(w, c)
	}
	if m.Load() != w || w&(muteBit|dueBit) != 0 {
		return m.recordLate(w, c) // or muted, or fenced by a Reconfigure
	}
	if f := m.fast.Load(); f != nil && !c.Failed {
		win := f.r.Window()
		if m.Load() == w {
			if trip, ok := f.r.RecordSuccess(win, c.At); ok {
				return trip
			}
		}
	}
	n := m.rec.enter(w.Gen())
	if m.Load() != w {
		n.Add(-1)
		return m.recordLate(w, c)
	}
	defer n.Add(-1)
	return m.cfg.Policy.Record(c)
}

// TripFrom opens the circuit if it is still in w, and reports whether it did:
// the policy tripped a closed circuit, or a probe of a half-open one failed.
// While a close resets the policy it does nothing: the call that failed
// was admitted before the close, and changes nothing (see close).
func (m *Machine) TripFrom(w Word, now time.Time) bool {
	m.mu.Lock()
	for w.State() == Closed && !w.Muted() && m.swapping.Load() && w.Gen() >= m.carryFrom.Load() && !m.carried(w, m.Load()) {
		// The policy decided just before a reconfiguration began: the
		// decision stands once it is over (see carried).
		m.mu.Unlock()
		runtime.Gosched()
		m.mu.Lock()
	}
	defer m.mu.Unlock()
	if w&rampBit != 0 && m.Load() != w {
		w &^= rampBit // the ramp ended, or the word moved on: judge it as its plain twin
	}
	if cur := m.Load(); cur != w && m.carried(w, cur) {
		w = cur // a closed call from before a reconfiguration
	}
	if m.Load() != w || w.Muted() || m.resetting {
		return false
	}
	cause := CausePolicy
	if w.State() == HalfOpen {
		cause = CauseProbe
	}
	m.openLocked(w, now, m.stepLocked(now), cause)
	return true
}

// Trip opens the circuit now, as if the policy had tripped, and ends a
// manual mode. An open circuit whose period has not ended stays as it is;
// one whose period has ended goes through half-open first, so the
// transitions still form a chain. A forced-open circuit gets an ordinary
// open period from now.
func (m *Machine) Trip(now time.Time, cause Cause) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.expiredLocked(now)
	if w.State() == Open && m.mode != ModeForcedOpen {
		return
	}
	d := m.stepLocked(now)
	m.mode = ModeNone
	m.openLocked(w, now, d, cause)
}

// TripFor opens the circuit now for d (or for no time at all when d is
// negative), ends a manual mode and does not step the backoff: the next trip
// lasts what it would have lasted without it. An open circuit gets the new
// period in place of its own.
func (m *Machine) TripFor(d time.Duration, now time.Time, cause Cause) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.Load()
	m.mode = ModeNone
	m.openLocked(w, now, d, cause)
}

// ForceOpen opens the circuit until Reset, Disable, Trip or TripFor: every
// call is rejected and no probe is let through, whatever time passes.
func (m *Machine) ForceOpen(now time.Time, cause Cause) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mode == ModeForcedOpen {
		return
	}
	w := m.Load()
	m.mode = ModeForcedOpen
	m.openLocked(w, now, 0, cause)
}

// Disable closes the circuit until Reset, ForceOpen, Trip or TripFor: every
// call runs and the policy records nothing. The policy is not reset here:
// every way out of the mode resets it before it records again.
func (m *Machine) Disable(now time.Time, cause Cause) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mode == ModeDisabled {
		return
	}
	w := m.Load()
	m.mode = ModeDisabled
	m.trips = 0
	m.decisions++
	m.publish(w, makeWord(Closed, w.Gen()+1)|muteBit, now, cause, true)
}

// Reset closes the circuit now, ends a manual mode and resets the policy. On
// a closed circuit with no mode it records no transition, but still starts a
// new generation, so calls admitted before the Reset change nothing when they
// finish. See close for how the policy's Reset is fenced.
func (m *Machine) Reset(now time.Time, cause Cause) {
	m.close(now, cause, func(Word, Mode) bool { return true })
}

// Close closes an open or half-open circuit now, as probes would, resetting
// the policy and ending a forced-open mode. A closed circuit, disabled or
// not, stays as it is.
func (m *Machine) Close(now time.Time, cause Cause) {
	m.close(now, cause, func(w Word, _ Mode) bool { return w.State() != Closed })
}

// ClearMode ends a manual mode: a forced-open circuit gets an ordinary open
// period from now, as Trip gives it; a disabled one is closed with its policy
// reset. Without a mode it does nothing.
func (m *Machine) ClearMode(now time.Time, cause Cause) {
	m.mu.Lock()
	if m.mode == ModeForcedOpen {
		defer m.mu.Unlock()
		d := m.stepLocked(now)
		m.mode = ModeNone
		m.openLocked(m.Load(), now, d, cause)
		return
	}
	m.mu.Unlock()
	m.close(now, cause, func(_ Word, mode Mode) bool { return mode == ModeDisabled })
}

// Mode returns the manual mode in force.
func (m *Machine) Mode() Mode {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mode
}

// expiredLocked moves an open circuit whose period has ended at now to
// half-open, and returns the current word.
func (m *Machine) expiredLocked(now time.Time) Word {
	w := m.Load()
	if p := m.open.Load(); w.State() == Open && p.over(now) {
		w = m.halfOpenLocked(w, p.until, true)
	}
	return w
}

// Expire moves an open circuit whose period has ended at now to half-open
// and returns the current word.
func (m *Machine) Expire(now time.Time) Word {
	w := m.Load()
	if w.State() != Open || !m.open.Load().over(now) {
		return w
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.expiredLocked(now)
}

// MarkDue sets the due flag of w, if w is still the current open word: a
// hint, from a timer, that the open period has ended. Callers that see the
// flag read the clock and call Expire.
func (m *Machine) MarkDue(w Word) {
	m.word.CompareAndSwap(uint64(w), uint64(w|dueBit))
}

// Until returns when the newest open period ends (or ended): for a caller
// that has just seen an open word, the end of that period or of a newer one.
// It is the zero time for a forced-open period, which has no end.
func (m *Machine) Until() time.Time { return m.open.Load().until }

// Period returns what Until returns, and whether the period is forced open
// (it has no end).
func (m *Machine) Period() (until time.Time, forced bool) {
	p := m.open.Load()
	return p.until, p.forced
}

// Acquire takes a probe slot in the half-open state w. It returns false when
// every slot is in use or the circuit is no longer in w. now matters only
// with a ProbeTimeout.
func (m *Machine) Acquire(w Word, now time.Time) bool {
	for {
		s := slots(m.slots.Load())
		if !s.matches(w) || m.Load() != w || s.inflight() >= int(m.lim.Load().probes) {
			return false
		}
		if m.slots.CompareAndSwap(uint64(s), uint64(s)+1<<inflightShift) {
			m.probed(now)
			return true
		}
	}
}

// probed notes probe activity at now, for Reclaim.
func (m *Machine) probed(now time.Time) {
	if m.lim.Load().probeTimeout > 0 {
		m.probeAt.Store(int64(now.Sub(m.epoch)))
	}
}

// Reclaim frees every probe slot of the half-open state w when all of them
// have been busy for ProbeTimeout with no probe admitted or finished, and
// reports whether it did. The circuit stays half-open, in a new generation:
// the probes still in flight are forgotten, like calls from an earlier
// state, and the caller may try Acquire again. It protects against probes
// that never return (a hung call, a Permit never reported), which would
// otherwise keep the circuit half-open and rejecting forever.
func (m *Machine) Reclaim(w Word, now time.Time) bool {
	lim := m.lim.Load()
	if lim.probeTimeout <= 0 || w.State() != HalfOpen {
		return false
	}
	idle := func() bool {
		s := slots(m.slots.Load())
		return s.matches(w) && s.inflight() >= int(lim.probes) &&
			sinceNanos(int64(now.Sub(m.epoch)), m.probeAt.Load()) >= lim.probeTimeout
	}
	if !idle() {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Load() != w || !idle() {
		return false
	}
	m.halfOpenLocked(w, now, false)
	return true
}

// sinceNanos returns now - then, two counts of nanoseconds since the
// machine's epoch, saturated to the range of a Duration instead of wrapping:
// with a clock stepped back before the epoch, or a breaker older than the
// 292 years a Duration holds, the plain difference overflows, and a wrapped
// negative one would keep the slots from ever being reclaimed.
func sinceNanos(now, then int64) time.Duration {
	d := now - then
	switch {
	case then < 0 && d < now: // overflowed upwards
		return math.MaxInt64
	case then > 0 && d > now: // overflowed downwards
		return math.MinInt64
	}
	return time.Duration(d)
}

// Release frees a probe slot granted under w and counts its outcome. A
// failure opens the circuit again; CloseAfter successes close it; an ignored
// probe only frees its slot. A slot from an earlier half-open period is gone
// with it, and releasing it changes nothing. now is the time of the outcome.
func (m *Machine) Release(w Word, o Outcome, now time.Time) {
	if o == Failure {
		// A new open period retags the slots, so this probe's slot needs
		// no release of its own. If the circuit does not open (OpenFor
		// runs user code and panicked, or a close is resetting the policy
		// and the probe came too late to count), free the slot as an
		// ignored probe would, or it stays taken for good.
		opened := false
		defer func() {
			if !opened {
				m.Release(w, Ignored, now)
			}
		}()
		opened = m.TripFrom(w, now)
		return
	}
	closeAfter := int(m.lim.Load().closeAfter)
	for {
		s := slots(m.slots.Load())
		if !s.matches(w) {
			return
		}
		n := s - 1<<inflightShift
		// Successes stop counting at CloseAfter. Past it they would never
		// again equal CloseAfter, and in the end overflow into the
		// in-flight count. Normally the close below ends the period first;
		// when it does not (the policy's Reset panicked), each later
		// success tries the close again.
		if o == Success && n.successes() < closeAfter {
			n++
		}
		if m.slots.CompareAndSwap(uint64(s), uint64(n)) {
			m.probed(now)
			if o == Success && n.successes() == closeAfter {
				m.close(now, CauseProbe, func(cur Word, _ Mode) bool { return cur == w })
			}
			return
		}
	}
}

// Flush delivers queued transitions, oldest first, one at a time and with no
// lock held, so that deliver may call back into the machine. Only one caller
// delivers at a time; a transition queued while another caller delivers is
// delivered by that caller, which keeps the order. If deliver panics, the
// panic goes on up and the transitions still queued wait for the next Flush.
func (m *Machine) Flush(deliver func(Transition)) {
	if m.queued.Load() == 0 {
		return
	}
	m.mu.Lock()
	if m.flushing {
		m.mu.Unlock()
		return
	}
	m.flushing = true
	locked := true
	defer func() {
		// Runs on a normal return and when deliver panics; either way the
		// next Flush must be able to deliver.
		if !locked {
			m.mu.Lock()
		}
		m.flushing = false
		m.mu.Unlock()
	}()
	for m.head < len(m.queue) {
		t := m.queue[m.head]
		m.head++
		if m.head == len(m.queue) {
			m.queue, m.head = m.queue[:0], 0
		}
		m.queued.Add(-1)
		m.mu.Unlock()
		locked = false
		deliver(t)
		m.mu.Lock()
		locked = true
	}
}

// Status is a consistent picture of the machine, for metrics.
type Status struct {
	Word                Word
	Mode                Mode
	Since               time.Time // when the current state began
	Until               time.Time // when the last open period ends (or ended); zero if forced
	Forced              bool      // the open period has no end
	Opens               Opens
	InFlight, Succeeded int // half-open probes now in flight, and that succeeded
}

// Status returns the machine's status.
func (m *Machine) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.Load()
	p := m.open.Load()
	st := Status{Word: w, Mode: m.mode, Since: m.since, Until: p.until, Forced: p.forced, Opens: m.opens}
	if s := slots(m.slots.Load()); w.State() == HalfOpen && s.matches(w) {
		st.InFlight, st.Succeeded = s.inflight(), s.successes()
	}
	return st
}

// The *Locked methods change the state. They are called with mu held, after
// the caller checked that the word is still w.

// stepLocked returns the length of the next open period of the backoff and
// counts the trip. OpenFor may run user code (a backoff's random source): it
// is called before anything changes, so that a panic leaves the machine as
// it was.
func (m *Machine) stepLocked(now time.Time) time.Duration {
	m.forgetLocked(now)
	d := m.cfg.OpenFor(m.trips + 1)
	m.trips++
	return d
}

// openLocked opens the circuit for d (none if negative: a period that has
// ended), or with no end when the mode is forced open.
func (m *Machine) openLocked(w Word, now time.Time, d time.Duration, cause Cause) {
	next := makeWord(Open, w.Gen()+1)
	p := &period{forced: m.mode == ModeForcedOpen}
	if p.forced {
		d = -1 // for Opened: no end
	} else {
		d = max(d, 0)
		p.until = now.Add(d)
		if d == 0 {
			// The period has ended already: the next caller must read
			// the clock and find the circuit half-open, without waiting
			// for a timer to flag the word.
			next |= dueBit
		}
	}
	m.decisions++
	switch {
	case cause == CausePolicy:
		m.opens.Trips++
	case cause == CauseProbe:
		m.opens.Reopens++
	case cause == CauseExternal:
		m.opens.External++
	default:
		m.opens.Manual++
	}
	m.open.Store(p)
	// An open circuit that opens again (a new period, a forced mode) is
	// reported too: the state is the same, its period or mode is not.
	m.publish(w, next, now, cause, true)
	if m.cfg.Opened != nil {
		m.cfg.Opened(next, d)
	}
}

// halfOpenLocked moves to half-open at the time at: the end of the open
// period (timeout true), or now for a reclaim, which stays half-open.
func (m *Machine) halfOpenLocked(w Word, at time.Time, timeout bool) Word {
	next := makeWord(HalfOpen, w.Gen()+1)
	// Slots first: a caller that sees the half-open word must find slots
	// tagged for it.
	m.slots.Store(uint64(makeSlots(next.Gen())))
	m.probed(at)
	m.publish(w, next, at, CauseTimeout, timeout)
	return next
}

// close closes the circuit if want, called with the lock held, accepts the
// current word and mode; it ends any manual mode and resets the policy.
//
// The policy's Reset runs with no lock of the machine held, so that a
// custom Reset may call the breaker (Metrics, State), and only once no
// result admitted under an earlier closed word can still reach the policy:
// otherwise a call admitted before a Reset would count after it. Closed
// results reach the policy only through Record, which registers with the
// recorders while it checks its word and records, so close
//   - first makes sure no call can pass Record's check: an open or half-open
//     word lets none pass; a closed one is replaced by a muted word (calls
//     admitted under it run and are not recorded, as calls made during the
//     Reset);
//   - then waits for the recorders of the last closed word to finish;
//   - resets the policy;
//   - and publishes the closed word, unless another transition came first,
//     in which case that one stands (the last action wins).
//
// While the policy's Reset runs, the circuit may move without a decision:
// its open period may end, its probe slots be reclaimed. The close goes on
// from where those moves left it. What it must not do is let a call
// admitted before it decide: a half-open probe that fails then would open
// the circuit again, and the close, finding a newer open word, would drop
// itself, so a Reset returned with the circuit open. So resetting is set
// meanwhile, and TripFrom refuses every call (a closed call is fenced by
// the muted word already; a probe's slot is freed as ignored).
//
// Closes are serialised by closing, so two of them never interleave their
// steps. If the policy's Reset panics, the circuit stays as it was (a muted
// word is replaced by its unmuted twin), no transition is reported, and the
// panic goes on up.
func (m *Machine) close(now time.Time, cause Cause, want func(Word, Mode) bool) {
	m.closing.Lock()
	defer m.closing.Unlock()
	m.mu.Lock()
	w := m.Load()
	if !want(w, m.mode) {
		m.mu.Unlock()
		return
	}
	fence := w
	if w.State() == Closed {
		fence = makeWord(Closed, w.Gen()+1) | muteBit
		m.word.Store(uint64(fence))
	}
	last := m.closedGen
	decisions := m.decisions
	m.resetting = true
	m.mu.Unlock()

	reset := false
	defer func() {
		if reset {
			return
		}
		// The policy's Reset panicked: leave the circuit as it was.
		m.mu.Lock()
		defer m.mu.Unlock()
		m.resetting = false
		if m.Load() == fence && fence != w {
			m.storeWord(makeWord(Closed, fence.Gen()+1) | w&muteBit)
		}
	}()
	m.rec.drain(last)
	m.cfg.Policy.Reset()
	reset = true

	m.mu.Lock()
	defer m.mu.Unlock()
	m.resetting = false
	// Only a decision made meanwhile stands against the close: comparing
	// the word lost the close to the due flag a real-clock timer sets,
	// to an open period that ended, and to a probe admitted before it.
	if m.decisions != decisions {
		return // a later decision came first: the last one wins
	}
	cur := m.Load()
	report := m.mode != ModeNone
	m.mode = ModeNone
	m.closedLocked(now, cause)
	m.decisions++
	next := makeWord(Closed, cur.Gen()+1)
	if cause == CauseProbe && m.cfg.Ramp > 0 {
		// Before the word: a caller that sees the ramp flag finds its ramp.
		m.ramp.Store(NewRamp(next.Gen(), now, m.cfg.Ramp))
		next |= rampBit
	}
	m.publish(cur, next, now, cause, report)
}

// storeWord publishes w, noting the generation of a plain closed word for
// close's drain, and that calls admitted before it are not carried over.
func (m *Machine) storeWord(w Word) { m.storeWordCarrying(w, false) }

// storeWordCarrying is storeWord, which keeps the closed calls admitted
// before w if carry is set: for a reconfiguration.
func (m *Machine) storeWordCarrying(w Word, carry bool) {
	if w.counted() {
		m.closedGen = w.Gen()
	}
	if !carry {
		// Before the word: a caller that reads the word, then carryFrom,
		// finds carryFrom at least as new as the word.
		m.carryFrom.Store(w.Gen())
	}
	m.word.Store(uint64(w))
}

// publish makes to the current word, and queues a transition when the state
// changed or report is set (the mode or the open period changed).
func (m *Machine) publish(from, to Word, now time.Time, cause Cause, report bool) {
	m.storeWordCarrying(to, cause == CauseReconfigure)
	if from.State() == to.State() && !report {
		return
	}
	if from.State() != to.State() {
		m.since = now
	}
	if m.cfg.Notify {
		t := Transition{From: from.State(), To: to.State(), Cause: cause, Mode: m.mode, Gen: to.Gen(), At: now}
		if p := m.open.Load(); to.State() == Open && !p.forced {
			t.Until = p.until
		}
		m.queue = append(m.queue, t)
		m.queued.Add(1)
	}
}

// fastBox holds a policy's fastrec.Recorder.
type fastBox struct{ r fastrec.Recorder }

// fastOf returns p's fast path, or nil.
func fastOf(p policy.Policy) *fastBox {
	if r := fastrec.Of(p); r != nil {
		return &fastBox{r}
	}
	return nil
}
