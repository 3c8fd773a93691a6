package fsm

import "time"

// OpenAsked opens the circuit for d if it is still in w, as TripFrom does,
// but for the period the failed call's dependency asked for, without
// stepping the backoff, and reports whether it did. Its cause is the one
// TripFrom would give: the policy for a closed circuit, the probe for a
// half-open one. A probe whose circuit it does not open keeps its slot:
// the caller frees it, as Release does for a failure. note, when set, is
// called under the lock with the generation of the open word just before
// it is published, so that whoever explains the transition finds the note;
// it must not call back into the machine.
func (m *Machine) OpenAsked(w Word, d time.Duration, now time.Time, note func(gen uint64)) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !same(m.Load(), w) || w.Muted() || m.resetting || m.mode != ModeNone {
		return false
	}
	w = m.Load()
	cause := CausePolicy
	if w.State() == HalfOpen {
		cause = CauseProbe
	}
	if note != nil {
		note(w.Gen() + 1)
	}
	m.openLocked(w, now, d, cause)
	return true
}
