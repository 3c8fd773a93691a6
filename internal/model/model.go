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
	// SlowProbe, when positive, makes a half-open probe that succeeded
	// after running longer than SlowProbe count as failed, as a
	// policy.ProbeJudge such as policy.Slow judges it. 0: probes are judged
	// by their outcome alone, as with Consecutive.
	SlowProbe time.Duration

	State     State
	Gen       int // goes up at every transition and at Reset
	Streak    int // consecutive failures while closed
	Until     time.Time
	InFlight  int // half-open probes in flight
	Succeeded int // half-open probes that succeeded
	Log       []Transition
}

func (m *Breaker) move(to State, now time.Time) {
	if m.State != to {
		m.Log = append(m.Log, Transition{From: m.State, To: to})
	}
	m.State = to
	m.Gen++
	switch to {
	case Open:
		m.Until = now.Add(m.Timeout)
	case HalfOpen:
		m.InFlight, m.Succeeded = 0, 0
	case Closed:
		m.Streak = 0
	}
}

// Observe brings the state up to date at now: an open circuit whose timeout
// has passed is half-open. State() does this; so does every admission.
func (m *Breaker) Observe(now time.Time) State {
	if m.State == Open && !now.Before(m.Until) {
		m.move(HalfOpen, now)
	}
	return m.State
}

// Allow returns whether a call is let through at now.
func (m *Breaker) Allow(now time.Time) (Permit, bool) {
	switch m.Observe(now) {
	case Closed:
		return Permit{Gen: m.Gen, State: Closed, At: now}, true
	case HalfOpen:
		if m.InFlight < m.Probes {
			m.InFlight++
			return Permit{Gen: m.Gen, State: HalfOpen, At: now}, true
		}
	}
	return Permit{}, false
}

// Done reports the outcome of a permitted call at now.
func (m *Breaker) Done(p Permit, o Outcome, now time.Time) {
	if p.Gen != m.Gen {
		return // from an earlier state: changes nothing
	}
	switch p.State {
	case Closed:
		switch o {
		case Failure:
			if m.Streak++; m.Streak >= m.Threshold {
				m.move(Open, now)
			}
		case Success:
			m.Streak = 0
		}
	case HalfOpen:
		if o == Success && m.SlowProbe > 0 && now.Sub(p.At) > m.SlowProbe {
			o = Failure
		}
		switch o {
		case Failure:
			m.move(Open, now)
		case Success:
			m.InFlight--
			if m.Succeeded++; m.Succeeded == m.Probes {
				m.move(Closed, now)
			}
		case Ignored:
			m.InFlight--
		}
	}
}

// Trip opens the circuit, as the breaker's Trip does.
func (m *Breaker) Trip(now time.Time) {
	if m.Observe(now) != Open {
		m.move(Open, now)
	}
}

// Reset closes the circuit and clears the policy.
func (m *Breaker) Reset(now time.Time) { m.move(Closed, now) }
