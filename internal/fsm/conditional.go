package fsm

import "time"

// The conditional actions of this file are those of a coordinator that
// decided on what it read of the circuit: each takes effect only if the
// circuit's word is still of generation gen when it would, checked under
// the lock that makes the change, and reports whether it did. Every
// decision, manual or automatic, and every change of state starts a new
// generation, so a decision taken on a stale read loses to whatever came
// since: the last word stands.

// TripForAt is TripFor, at generation gen only.
func (m *Machine) TripForAt(gen uint64, d time.Duration, now time.Time, cause Cause) bool {
	return m.lockedAt(gen, func(w Word) {
		m.mode = ModeNone
		m.openLocked(w, now, d, cause)
	})
}

// lockedAt runs act with the lock held and the current word, if that word
// is of generation gen, and reports whether it was.
func (m *Machine) lockedAt(gen uint64, act func(w Word)) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.Load()
	if w.Gen() != gen {
		return false
	}
	act(w)
	return true
}

// ForceOpenAt is ForceOpen, at generation gen only.
func (m *Machine) ForceOpenAt(gen uint64, now time.Time, cause Cause) bool {
	return m.lockedAt(gen, func(w Word) {
		if m.mode != ModeForcedOpen {
			m.mode = ModeForcedOpen
			m.openLocked(w, now, 0, cause)
		}
	})
}

// DisableAt is Disable, at generation gen only.
func (m *Machine) DisableAt(gen uint64, now time.Time, cause Cause) bool {
	return m.lockedAt(gen, func(w Word) {
		if m.mode != ModeDisabled {
			m.mode = ModeDisabled
			m.trips = 0
			m.decisions++
			m.publish(w, makeWord(Closed, w.Gen()+1)|muteBit, now, cause, true)
		}
	})
}

// CloseAt is Close, at generation gen only. A close that starts still
// yields to a decision made while the policy is reset, as every close does.
func (m *Machine) CloseAt(gen uint64, now time.Time, cause Cause) bool {
	stale := false
	m.close(now, cause, func(w Word, _ Mode) bool {
		stale = w.Gen() != gen
		return !stale && w.State() != Closed
	})
	return !stale
}

// ClearModeAt is ClearMode, at generation gen only.
func (m *Machine) ClearModeAt(gen uint64, now time.Time, cause Cause) bool {
	forced := false
	if !m.lockedAt(gen, func(Word) {
		if forced = m.mode == ModeForcedOpen; forced {
			d := m.stepLocked(now)
			m.mode = ModeNone
			m.openLocked(m.Load(), now, d, cause)
		}
	}) {
		return false
	}
	if forced {
		return true
	}
	// Disabled, or no mode: closing takes the lock itself.
	stale := false
	m.close(now, cause, func(w Word, mode Mode) bool {
		stale = w.Gen() != gen
		return !stale && mode == ModeDisabled
	})
	return !stale
}
