package fsm

import (
	"sync"
	"sync/atomic"
	"time"

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
	// Probes is the most probe calls in flight while half-open, and the
	// number of successful probes that closes the circuit. 1..MaxProbes.
	Probes int
	// Opened, when set, is called with the machine's lock held each time the
	// circuit opens, with the word it opened under and how long it stays
	// open. The breaker uses it to arm a timer that calls MarkDue; it must
	// not call back into the machine.
	Opened func(w Word, d time.Duration)
	// Notify makes the machine queue every transition for Flush. Without
	// it, transitions are not recorded at all.
	Notify bool
	// ProbeTimeout, when positive, lets a half-open circuit reclaim its
	// probe slots once every slot has been busy for that long with no probe
	// admitted or finished: the probes still in flight are forgotten (their
	// results change nothing) and new probes are let in. See Reclaim.
	ProbeTimeout time.Duration
}

// period is one open period: when it ends. It is published through a
// pointer so that readers without the lock see a whole time.Time.
type period struct {
	until time.Time
}

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

	mu       sync.Mutex
	cfg      Config
	since    time.Time // when the current state began
	trips    int       // consecutive trips since the circuit last closed
	total    uint64    // trips since the machine was made
	queue    []Transition
	head     int
	flushing bool
	queued   atomic.Int32 // len(queue)-head, readable without mu
}

// New returns a closed machine. now is the time it starts in its state.
func New(cfg Config, now time.Time) *Machine {
	m := &Machine{cfg: cfg, since: now, epoch: now}
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
// not count towards a circuit that has moved on.
func (m *Machine) Record(w Word, c policy.Call) bool {
	if m.Load() != w {
		return false
	}
	return m.cfg.Policy.Record(c)
}

// TripFrom opens the circuit if it is still in w, and reports whether it did.
func (m *Machine) TripFrom(w Word, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Load() != w {
		return false
	}
	m.openLocked(w, now)
	return true
}

// Trip opens the circuit now, as if the policy had tripped. An open circuit
// whose timeout has not passed stays as it is; one whose timeout has passed
// goes through half-open first, so the transitions still form a chain.
func (m *Machine) Trip(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.Load()
	if w.State() == Open {
		if now.Before(m.open.Load().until) {
			return
		}
		w = m.halfOpenLocked(w, now)
	}
	m.openLocked(w, now)
}

// Reset closes the circuit now and resets the policy. On a closed circuit
// it records no transition, but still starts a new generation, so calls
// admitted before the Reset change nothing when they finish.
func (m *Machine) Reset(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closeLocked(m.Load(), now)
}

// Expire moves an open circuit whose timeout has passed at now to half-open
// and returns the current word.
func (m *Machine) Expire(now time.Time) Word {
	w := m.Load()
	if w.State() != Open || now.Before(m.open.Load().until) {
		return w
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	w = m.Load()
	if w.State() == Open && !now.Before(m.open.Load().until) {
		w = m.halfOpenLocked(w, now)
	}
	return w
}

// MarkDue sets the due flag of w, if w is still the current open word: a
// hint, from a timer, that the open period has ended. Callers that see the
// flag read the clock and call Expire.
func (m *Machine) MarkDue(w Word) {
	m.word.CompareAndSwap(uint64(w), uint64(w|dueBit))
}

// Until returns when the newest open period ends (or ended): for a caller
// that has just seen an open word, the end of that period or of a newer one.
func (m *Machine) Until() time.Time { return m.open.Load().until }

// Acquire takes a probe slot in the half-open state w. It returns false when
// every slot is in use or the circuit is no longer in w. now matters only
// with a ProbeTimeout.
func (m *Machine) Acquire(w Word, now time.Time) bool {
	for {
		s := slots(m.slots.Load())
		if !s.matches(w) || m.Load() != w || s.inflight() >= m.cfg.Probes {
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
	if m.cfg.ProbeTimeout > 0 {
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
	if m.cfg.ProbeTimeout <= 0 || w.State() != HalfOpen {
		return false
	}
	idle := func() bool {
		s := slots(m.slots.Load())
		return s.matches(w) && s.inflight() >= m.cfg.Probes &&
			time.Duration(int64(now.Sub(m.epoch))-m.probeAt.Load()) >= m.cfg.ProbeTimeout
	}
	if !idle() {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Load() != w || !idle() {
		return false
	}
	m.halfOpenLocked(w, now)
	return true
}

// Release frees a probe slot granted under w and counts its outcome. A
// failure opens the circuit again; enough successes close it; an ignored
// probe only frees its slot. A slot from an earlier half-open period is gone
// with it, and releasing it changes nothing. now is the time of the outcome.
func (m *Machine) Release(w Word, o Outcome, now time.Time) {
	if o == Failure {
		// The new open period retags the slots, so this probe's slot needs
		// no release of its own. If opening panics (OpenFor runs user
		// code) there is no new period: free the slot as an ignored probe
		// would, or it stays taken for good.
		opened := false
		defer func() {
			if !opened {
				m.Release(w, Ignored, now)
			}
		}()
		m.TripFrom(w, now)
		opened = true
		return
	}
	for {
		s := slots(m.slots.Load())
		if !s.matches(w) {
			return
		}
		n := s - 1<<inflightShift
		// Successes stop counting at Probes. Past it they would never
		// again equal Probes, and in the end overflow into the in-flight
		// count. Normally the close below ends the period first; when it
		// does not (the policy's Reset panicked), each later success
		// tries the close again.
		if o == Success && n.successes() < m.cfg.Probes {
			n++
		}
		if m.slots.CompareAndSwap(uint64(s), uint64(n)) {
			m.probed(now)
			if o == Success && n.successes() == m.cfg.Probes {
				m.mu.Lock()
				defer m.mu.Unlock()
				if m.Load() == w {
					m.closeLocked(w, now)
				}
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
	Since               time.Time // when the current state began
	Until               time.Time // when the last open period ends (or ended)
	Trips               uint64    // how many times the circuit opened
	InFlight, Succeeded int       // half-open probes now in flight, and that succeeded
}

// Status returns the machine's status.
func (m *Machine) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.Load()
	st := Status{Word: w, Since: m.since, Until: m.open.Load().until, Trips: m.total}
	if s := slots(m.slots.Load()); w.State() == HalfOpen && s.matches(w) {
		st.InFlight, st.Succeeded = s.inflight(), s.successes()
	}
	return st
}

// The *Locked methods change the state. They are called with mu held, after
// the caller checked that the word is still w.

func (m *Machine) openLocked(w Word, now time.Time) {
	// OpenFor may run user code (a backoff's random source): call it
	// before changing anything, so that a panic leaves the machine as it
	// was.
	d := m.cfg.OpenFor(m.trips + 1)
	m.trips++
	m.total++
	next := makeWord(Open, w.Gen()+1)
	m.open.Store(&period{until: now.Add(d)})
	m.publish(w, next, now)
	if m.cfg.Opened != nil {
		m.cfg.Opened(next, d)
	}
}

func (m *Machine) halfOpenLocked(w Word, now time.Time) Word {
	next := makeWord(HalfOpen, w.Gen()+1)
	// Slots first: a caller that sees the half-open word must find slots
	// tagged for it.
	m.slots.Store(uint64(makeSlots(next.Gen())))
	m.probed(now)
	m.publish(w, next, now)
	return next
}

func (m *Machine) closeLocked(w Word, now time.Time) {
	m.cfg.Policy.Reset()
	m.trips = 0
	m.publish(w, makeWord(Closed, w.Gen()+1), now)
}

func (m *Machine) publish(from, to Word, now time.Time) {
	m.word.Store(uint64(to))
	if from.State() == to.State() {
		return
	}
	m.since = now
	if m.cfg.Notify {
		m.queue = append(m.queue, Transition{From: from.State(), To: to.State()})
		m.queued.Add(1)
	}
}
