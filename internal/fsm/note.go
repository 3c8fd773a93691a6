package fsm

import "time"

// CauseNote: a change beside the circuit that its listeners hear of in
// order with its transitions (the breaker's shadow candidates were
// replaced). The state, the mode and the generation stay.
const CauseNote Cause = CauseReconfigure + 1

// Note queues a transition of cause CauseNote that changes nothing: From
// and To are the current state, Gen the current generation, and no call in
// flight is touched. It is for a change that the circuit's listeners must
// hear of in order with its transitions, but that must not move it.
// noted, if not nil, is called with the machine's lock held once the
// transition is queued, so that the caller keeps what goes with it in the
// same order as the queue; it must not call the machine.
func (m *Machine) Note(now time.Time, noted func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.cfg.Notify {
		return
	}
	w := m.Load()
	t := Transition{From: w.State(), To: w.State(), Cause: CauseNote, Mode: m.mode, Gen: w.Gen(), At: now}
	if p := m.open.Load(); w.State() == Open && !p.forced {
		t.Until = p.until
	}
	m.queue = append(m.queue, t)
	m.queued.Add(1)
	if noted != nil {
		noted()
	}
}
