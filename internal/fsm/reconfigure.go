package fsm

import (
	"runtime"
	"time"

	"github.com/tripwire-go/tripwire/policy"
)

// CauseReconfigure: Reconfigure gave the circuit new settings. The state
// and the mode stay; the generation rises.
const CauseReconfigure Cause = CauseExternal + 1

// limits are the settings that half-open calls read without the lock.
type limits struct {
	probes, closeAfter int32
	probeTimeout       time.Duration
}

func limitsOf(cfg Config) *limits {
	return &limits{probes: int32(cfg.Probes), closeAfter: int32(cfg.CloseAfter), probeTimeout: cfg.ProbeTimeout}
}

// Reconfigure gives the machine cfg's policy and settings (cfg.Opened and
// cfg.Notify are kept from before) without a change of state or mode, and
// reports it as a transition of cause CauseReconfigure with the state the
// same. handover, called with no lock held once no result can reach the
// old policy any more and before any reaches the new one, lets the new
// policy take over the old one's counts.
//
// What happens to the calls in flight, by the state they were admitted in:
//
//   - closed: each is counted once, by the old policy if its result
//     reached it before the handover, by the new one otherwise. The new
//     word is a later generation, but a closed call whose word only
//     reconfigurations replaced is carried over to it (see carried);
//     one that finishes while the counts are handed over waits for the
//     handover to end.
//   - half-open: the half-open period starts again with the new number of
//     slots, as after a reclaim: the probes in flight are forgotten.
//   - open: the open period keeps its end; the new open timeout applies
//     from the next trip, and the backoff keeps its count of trips.
//
// Reconfigurations and closes are serialised. If handover panics, nothing
// changes but the generation (the calls in flight are carried over, to the
// old policy), no transition is reported, and the panic goes on up.
func (m *Machine) Reconfigure(cfg Config, now time.Time, handover func()) {
	m.closing.Lock()
	defer m.closing.Unlock()
	m.mu.Lock()
	w := m.Load()
	fence := w
	if w.counted() { // plain or ramping: a Reconfigure ends a ramp
		// As close does: no result of w may pass Record's check while
		// the counts move. Those that find the fence wait (recordLate).
		// The fence is a closed word with the due flag, which no other
		// closed word has: calls admitted under it run as under a plain
		// word (Plain holds), and Record makes their results wait too.
		fence = makeWord(Closed, w.Gen()+1) | dueBit
		m.swapping.Store(true)
		m.word.Store(uint64(fence))
	}
	last := m.closedGen
	m.resetting = true // a probe admitted before cannot open the circuit meanwhile
	m.mu.Unlock()

	// The old policy's fast path: sealed once the registered calls are
	// drained, so that a success that passed its check before the fence
	// either counts before the handover reads the old policy, or fails
	// and goes to the new one (see internal/fastrec).
	old := m.fast.Load()
	if next := fastOf(cfg.Policy); old != nil && next != nil && next.r == old.r {
		old = nil // the same policy again: it goes on counting
	}
	done := false
	defer func() {
		if done {
			return
		}
		if old != nil {
			old.r.Unseal()
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		m.resetting = false
		if m.Load() == fence && fence != w {
			// Carried: the calls of w go on to the old policy.
			m.storeWordCarrying(makeWord(Closed, fence.Gen()+1), true)
		}
		m.swapping.Store(false)
	}()
	m.rec.drain(last)
	if old != nil {
		old.r.Seal()
	}
	if handover != nil {
		handover()
	}
	done = true
	if old != nil {
		// Its counts are the new policy's now; a success still on its
		// way to its sealed window fails there and goes to the new one.
		old.r.Retire()
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	m.resetting = false
	m.cfg.Policy, m.cfg.OpenFor, m.cfg.Probes, m.cfg.CloseAfter, m.cfg.ProbeTimeout, m.cfg.Forget =
		cfg.Policy, cfg.OpenFor, cfg.Probes, cfg.CloseAfter, cfg.ProbeTimeout, cfg.Forget
	m.lim.Store(limitsOf(m.cfg))
	m.fast.Store(fastOf(m.cfg.Policy)) // before the word: see Record
	cur := m.Load()
	switch cur.State() {
	case Closed:
		next := makeWord(Closed, cur.Gen()+1) | cur&muteBit
		if cur == fence && fence != w {
			next = makeWord(Closed, cur.Gen()+1) // the fence's plain twin
		}
		m.publish(cur, next, now, CauseReconfigure, true)
	case HalfOpen:
		next := makeWord(HalfOpen, cur.Gen()+1)
		m.slots.Store(uint64(makeSlots(next.Gen())))
		m.probed(now)
		m.publish(cur, next, now, CauseReconfigure, true)
	case Open:
		p := m.open.Load()
		next := makeWord(Open, cur.Gen()+1)
		d := time.Duration(-1)
		if !p.forced {
			d = max(p.until.Sub(now), 0)
			if d == 0 {
				next |= dueBit
			}
		}
		m.publish(cur, next, now, CauseReconfigure, true)
		if m.cfg.Opened != nil {
			m.cfg.Opened(next, d)
		}
	}
	m.swapping.Store(false)
}

// carried reports whether a closed call admitted under w still counts
// now that the word is cur: w is plain (or a Reconfigure's fence), cur is
// plain, not a fence, and later, and only reconfigurations came between
// them.
func (m *Machine) carried(w, cur Word) bool {
	return w.Plain() && cur.Plain() && !cur.Due() && w.Gen() < cur.Gen() && w.Gen() >= m.carryFrom.Load()
}

// recordLate is Record for a call whose word w is no longer current: it
// goes to the policy if only reconfigurations replaced w, after waiting
// for one that is handing the counts over; otherwise it is dropped. The
// wait is a yield loop, as drain's: a handover is short, and only calls
// that finish during one wait.
func (m *Machine) recordLate(w Word, c policy.Call) bool {
	if !w.Plain() {
		return false // muted: a disabled circuit, or a Reset's fence
	}
	for {
		cur := m.Load()
		if !m.carried(w, cur) {
			// Wait while a Reconfigure hands the counts over; and look
			// again if the word moved since cur (a handover that ended
			// meanwhile has cleared swapping).
			if w.Gen() >= m.carryFrom.Load() && (m.swapping.Load() || m.Load() != cur) {
				runtime.Gosched()
				continue
			}
			return false
		}
		n := m.rec.enter(cur.Gen())
		if m.Load() != cur {
			n.Add(-1)
			continue
		}
		if m.cfg.Stamp != nil {
			c = m.cfg.Stamp(c)
		}
		trip := m.cfg.Policy.Record(c)
		n.Add(-1)
		return trip
	}
}
