// Package model is the reference that the state machine and the breaker are
// tested against: the contract's behaviour written as plainly as possible,
// for one caller at a time, with the default Consecutive policy, optionally
// with half-open probes judged by their duration as a policy.ProbeJudge
// judges them. Tests drive it and the real thing with the same steps and
// compare what they see.
package model

import "time"

// State mirrors breaker.State; its values are those of breaker.Closed,
// breaker.HalfOpen and breaker.Open.
type State uint8

// The states, valued as breaker's.
const (
	Closed State = iota
	HalfOpen
	Open
)

// Outcome mirrors breaker.Outcome; its values are those of
// breaker.Success, breaker.Failure and breaker.Ignored.
type Outcome uint8

// The outcomes, valued as breaker's.
const (
	Failure Outcome = iota
	Success
	Ignored
)

// Transition is one change of state.
type Transition struct{ From, To State }

// Mode mirrors breaker.Mode: the manual mode in force.
type Mode uint8

// The modes, valued as breaker's.
const (
	ModeNone Mode = iota
	ModeForcedOpen
	ModeDisabled
)

// Cause mirrors breaker.Cause: why a transition happened.
type Cause uint8

// The causes, valued as breaker's.
const (
	CausePolicy Cause = iota + 1
	CauseProbe
	CauseTimeout
	CauseManual
	CauseExternal
	CauseReconfigure
)

// Event is one transition as Config.OnTransition reports it: a change of
// state, or of mode or open period with the state unchanged.
type Event struct {
	From, To State
	Cause    Cause
	Mode     Mode // in force after the event
}

// Permit is a call the model let through.
type Permit struct {
	Gen   int       // the generation it was admitted in
	State State     // the state it was admitted in
	At    time.Time // when it was admitted
}

// Breaker is the reference circuit breaker. Its zero value is not usable;
// set the first three parameters.
type Breaker struct {
	Threshold int           // Consecutive(Threshold)
	Timeout   time.Duration // OpenTimeout
	Probes    int           // HalfOpenProbes
	// CloseAfter is the number of successful probes that closes a
	// half-open circuit; 0 means Probes.
	CloseAfter int
	// SlowProbe, when positive, makes a half-open probe that succeeded
	// after running longer than SlowProbe count as failed, as a
	// policy.ProbeJudge such as policy.Slow judges it. 0: probes are judged
	// by their outcome alone, as with Consecutive.
	SlowProbe time.Duration
	// ProbeTimeout, when positive, reclaims the probe slots of a half-open
	// circuit once all are taken and no probe was admitted or finished for
	// that long: the probes in flight are forgotten (a new generation) and
	// new ones are let in. 0: slots are held as long as probes run.
	ProbeTimeout time.Duration
	// Ramp, when positive, is Config.RampUp: after a close by probes, a
	// closed circuit admits a rising share of calls for that long (see
	// rampAdmits).
	Ramp time.Duration
	// Shed, when set, is what the policy's shedder answers now: a closed
	// circuit, not disabled, rejects the calls its ramp (if any) admitted.
	Shed bool

	State State
	Mode  Mode
	Gen   int // goes up at every transition and at Reset
	// CarryFrom is the generation of the last transition that was not a
	// reconfiguration: a closed permit of that generation or later still
	// counts while the circuit is closed with no mode (see Reconfigure).
	CarryFrom int
	Streak    int // consecutive failures while closed
	Until     time.Time
	InFlight  int       // half-open probes in flight
	Succeeded int       // half-open probes that succeeded
	ProbeAt   time.Time // when a probe was last admitted or finished, or half-open began
	// Ramping: the circuit closed by probes at RampStart and its ramp has
	// not ended; RampCredit is the ramp's credit in millionths of a call.
	Ramping    bool
	RampStart  time.Time
	RampCredit int64
	// Rejected says why the last call Allow refused was refused: "open",
	// "half-open", "ramp" or "shed".
	Rejected string
	Log      []Transition
	Events   []Event
}

// move changes the state to to, in a new generation. The change is logged
// when the state changes, and reported as an event then or when report is
// set (the mode or the open period changed).
func (m *Breaker) move(to State, now time.Time, cause Cause, report bool) {
	if m.State != to {
		m.Log = append(m.Log, Transition{From: m.State, To: to})
		report = true
	}
	if report {
		m.Events = append(m.Events, Event{From: m.State, To: to, Cause: cause, Mode: m.Mode})
	}
	m.State = to
	m.Gen++
	m.Ramping = false
	m.CarryFrom = m.Gen
	switch to {
	case Open:
		m.Until = now.Add(m.Timeout)
	case HalfOpen:
		m.InFlight, m.Succeeded = 0, 0
		m.ProbeAt = now
	case Closed:
		m.Streak = 0
	}
}

// Observe brings the state up to date at now: an open circuit whose timeout
// has passed is half-open, unless it is forced open. State() does this; so
// does every admission.
func (m *Breaker) Observe(now time.Time) State {
	if m.State == Open && m.Mode != ModeForcedOpen && !now.Before(m.Until) {
		m.move(HalfOpen, m.Until, CauseTimeout, false)
	}
	return m.State
}

// Allow returns whether a call is let through at now.
func (m *Breaker) Allow(now time.Time) (Permit, bool) {
	switch m.Observe(now) {
	case Closed:
		if m.Ramping && !m.rampAdmits(now) {
			m.Rejected = "ramp"
			return Permit{}, false
		}
		if m.Shed && m.Mode != ModeDisabled {
			m.Rejected = "shed"
			return Permit{}, false
		}
		return Permit{Gen: m.Gen, State: Closed, At: now}, true
	case HalfOpen:
		m.Rejected = "half-open"
		if m.InFlight >= m.Probes && m.ProbeTimeout > 0 && now.Sub(m.ProbeAt) >= m.ProbeTimeout {
			// Reclaim: still half-open, the probes in flight forgotten.
			m.Gen++
			m.InFlight, m.Succeeded = 0, 0
		}
		if m.InFlight < m.Probes {
			m.InFlight++
			m.ProbeAt = now
			return Permit{Gen: m.Gen, State: HalfOpen, At: now}, true
		}
	default:
		m.Rejected = "open"
	}
	return Permit{}, false
}

// rampAdmits decides a call of a ramping circuit at now: the share of the
// ramp rises in a line from 10% at the close to all calls at its end; each
// call adds the share to a credit, and runs when the credit makes a whole
// call (a million millionths), which it spends. The credit starts whole.
func (m *Breaker) rampAdmits(now time.Time) bool {
	const floor, unit = 0.1, 1_000_000
	e := now.Sub(m.RampStart)
	if e >= m.Ramp {
		m.Ramping = false
		return true
	}
	s := floor
	if e > 0 {
		s = floor + (1-floor)*float64(e)/float64(m.Ramp)
	}
	m.RampCredit += max(int64(s*unit), 1)
	if m.RampCredit >= unit {
		m.RampCredit -= unit
		return true
	}
	return false
}

func (m *Breaker) closeAfter() int {
	if m.CloseAfter == 0 {
		return m.Probes
	}
	return m.CloseAfter
}

// Done reports the outcome of a permitted call at now.
func (m *Breaker) Done(p Permit, o Outcome, now time.Time) {
	carried := p.State == Closed && m.State == Closed && m.Mode == ModeNone && p.Gen >= m.CarryFrom
	if p.Gen != m.Gen && !carried {
		return // from an earlier state: changes nothing
	}
	switch p.State {
	case Closed:
		if m.Mode == ModeDisabled {
			return // the policy records nothing
		}
		switch o {
		case Failure:
			if m.Streak++; m.Streak >= m.Threshold {
				m.move(Open, now, CausePolicy, false)
			}
		case Success:
			m.Streak = 0
		}
	case HalfOpen:
		if o == Success && m.SlowProbe > 0 && now.Sub(p.At) > m.SlowProbe {
			o = Failure
		}
		if o != Failure {
			m.ProbeAt = now
		}
		switch o {
		case Failure:
			m.move(Open, now, CauseProbe, false)
		case Success:
			m.InFlight--
			if m.Succeeded++; m.Succeeded == m.closeAfter() {
				m.move(Closed, now, CauseProbe, false)
				if m.Ramp > 0 {
					m.Ramping, m.RampStart, m.RampCredit = true, now, 1_000_000-1
				}
			}
		case Ignored:
			m.InFlight--
		}
	}
}

// Trip opens the circuit, as the breaker's Trip does: an open circuit stays
// as it is, unless it is forced open, which Trip turns into an ordinary open
// period.
func (m *Breaker) Trip(now time.Time) {
	if m.Observe(now) != Open || m.Mode == ModeForcedOpen {
		m.Mode = ModeNone
		m.move(Open, now, CauseManual, true)
	}
}

// TripFor opens the circuit for d, as the breaker's TripFor does, in place
// of any open period or mode.
func (m *Breaker) TripFor(d time.Duration, now time.Time) { m.tripFor(d, now, CauseManual) }

func (m *Breaker) tripFor(d time.Duration, now time.Time, cause Cause) {
	m.Mode = ModeNone
	m.move(Open, now, cause, true)
	m.Until = now.Add(max(d, 0))
}

// ForceOpen opens the circuit until another manual action.
func (m *Breaker) ForceOpen(now time.Time) { m.forceOpen(now, CauseManual) }

func (m *Breaker) forceOpen(now time.Time, cause Cause) {
	if m.Mode != ModeForcedOpen {
		m.Mode = ModeForcedOpen
		m.move(Open, now, cause, true)
		m.Until = time.Time{}
	}
}

// Disable closes the circuit until another manual action; the policy
// records nothing meanwhile.
func (m *Breaker) Disable(now time.Time) { m.disable(now, CauseManual) }

func (m *Breaker) disable(now time.Time, cause Cause) {
	if m.Mode != ModeDisabled {
		m.Mode = ModeDisabled
		m.move(Closed, now, cause, true)
	}
}

// Reset closes the circuit, clears the policy and ends any mode.
func (m *Breaker) Reset(now time.Time) { m.close(now, CauseManual) }

func (m *Breaker) close(now time.Time, cause Cause) {
	report := m.Mode != ModeNone
	m.Mode = ModeNone
	m.move(Closed, now, cause, report)
}

// The Adopt methods apply a decision taken outside the breaker, as
// breaker.Adopt does, with CauseExternal.

// AdoptOpen opens the circuit for d, as TripFor does.
func (m *Breaker) AdoptOpen(d time.Duration, now time.Time) { m.tripFor(d, now, CauseExternal) }

// AdoptClose closes an open or half-open circuit, as probes would, and ends
// a forced-open mode. A closed circuit, disabled or not, stays as it is. It
// does not look at the clock: an open circuit whose period has ended closes
// from open.
func (m *Breaker) AdoptClose(now time.Time) {
	if m.State != Closed {
		m.close(now, CauseExternal)
	}
}

// AdoptForceOpen forces the circuit open, as ForceOpen does.
func (m *Breaker) AdoptForceOpen(now time.Time) { m.forceOpen(now, CauseExternal) }

// AdoptDisable disables the circuit, as Disable does.
func (m *Breaker) AdoptDisable(now time.Time) { m.disable(now, CauseExternal) }

// AdoptClearMode ends a manual mode: a forced-open circuit gets an ordinary
// open period from now, a disabled one closes.
func (m *Breaker) AdoptClearMode(now time.Time) {
	switch m.Mode {
	case ModeForcedOpen:
		m.Mode = ModeNone
		m.move(Open, now, CauseExternal, true)
	case ModeDisabled:
		m.close(now, CauseExternal)
	}
}

// Reconfigure gives the circuit new parameters, as the breaker's
// Reconfigure does with a Consecutive policy that takes over the streak:
// the state, the mode, the streak and the open period in force stay; the
// new Timeout applies from the next open period. A half-open circuit
// starts its half-open period again (the probes in flight are forgotten).
// Closed permits admitted before count as if admitted after (CarryFrom
// does not move). threshold, timeout, probes and the others are the new
// Threshold, Timeout, Probes, CloseAfter and ProbeTimeout.
func (m *Breaker) Reconfigure(threshold int, timeout time.Duration, probes, closeAfter int, probeTimeout time.Duration, now time.Time) {
	m.Threshold, m.Timeout, m.Probes, m.CloseAfter, m.ProbeTimeout = threshold, timeout, probes, closeAfter, probeTimeout
	m.Events = append(m.Events, Event{From: m.State, To: m.State, Cause: CauseReconfigure, Mode: m.Mode})
	m.Gen++
	m.Ramping = false // a reconfiguration ends a ramp-up
	if m.State == HalfOpen {
		m.InFlight, m.Succeeded = 0, 0
		m.ProbeAt = now
	}
}
