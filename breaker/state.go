package breaker

import (
	"errors"
	"strconv"
	"strings"

	"github.com/tripwire-go/tripwire/internal/fsm"
)

// State is the position of a circuit. The zero value is Closed. It
// marshals to text (and so to JSON) as its String: "closed", "half-open",
// "open".
type State uint8

const (
	// Closed: every call runs, and its outcome goes to the policy.
	Closed State = 0
	// HalfOpen: a few probe calls run to test the dependency; the rest are
	// rejected.
	HalfOpen State = 1
	// Open: every call is rejected at once with an error wrapping ErrOpen.
	Open State = 2
)

// String returns "closed", "half-open" or "open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half-open"
	case Open:
		return "open"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText returns the state's String, for encoding/json and other
// text formats. A value other than the three states is an error.
func (s State) MarshalText() ([]byte, error) {
	if s > Open {
		return nil, errors.New("breaker: cannot marshal " + s.String())
	}
	return []byte(s.String()), nil
}

// UnmarshalText sets s from the text MarshalText writes, in any case.
func (s *State) UnmarshalText(text []byte) error {
	for v := Closed; v <= Open; v++ {
		if strings.EqualFold(string(text), v.String()) {
			*s = v
			return nil
		}
	}
	return errors.New("breaker: unknown State " + strconv.Quote(string(text)) + `: want "closed", "half-open" or "open"`)
}

// Outcome is how a finished call counts, as decided by Config.Classify. It
// marshals to text as its String: "failure", "success", "ignored".
//
// The zero value is Failure, so that a Classify that falls through every
// case without deciding (returning a zero Outcome) counts the call against
// the dependency rather than for its health: a mistake there can open the
// circuit too early, never keep it closed over a failing dependency. A
// value above Ignored counts as a Failure too.
type Outcome uint8

const (
	// Failure counts against the dependency's health: the policy may trip,
	// and a failed probe opens the circuit again. It is the zero Outcome.
	Failure Outcome = 0
	// Success counts towards it; in half-open, enough successes close the
	// circuit.
	Success Outcome = 1
	// Ignored counts for nothing; an ignored probe frees its slot.
	Ignored Outcome = 2
)

// String returns "failure", "success" or "ignored".
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Ignored:
		return "ignored"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// MarshalText returns the outcome's String. A value other than the three
// outcomes is an error.
func (o Outcome) MarshalText() ([]byte, error) {
	if o > Ignored {
		return nil, errors.New("breaker: cannot marshal " + o.String())
	}
	return []byte(o.String()), nil
}

// UnmarshalText sets o from the text MarshalText writes, in any case.
func (o *Outcome) UnmarshalText(text []byte) error {
	for v := Failure; v <= Ignored; v++ {
		if strings.EqualFold(string(text), v.String()) {
			*o = v
			return nil
		}
	}
	return errors.New("breaker: unknown Outcome " + strconv.Quote(string(text)) + `: want "success", "failure" or "ignored"`)
}

// The breaker hands States, Outcomes and the probe limit to internal/fsm by
// value. Each line below stops compiling if a value here and the fsm's
// differ (a negative index or one past the array's end).
func _() {
	var x [1]struct{}
	_ = x[Closed-State(fsm.Closed)]
	_ = x[State(fsm.Closed)-Closed]
	_ = x[HalfOpen-State(fsm.HalfOpen)]
	_ = x[State(fsm.HalfOpen)-HalfOpen]
	_ = x[Open-State(fsm.Open)]
	_ = x[State(fsm.Open)-Open]
	_ = x[Success-Outcome(fsm.Success)]
	_ = x[Outcome(fsm.Success)-Success]
	_ = x[Failure-Outcome(fsm.Failure)]
	_ = x[Outcome(fsm.Failure)-Failure]
	_ = x[Ignored-Outcome(fsm.Ignored)]
	_ = x[Outcome(fsm.Ignored)-Ignored]
	_ = x[MaxHalfOpenProbes-fsm.MaxProbes]
	_ = x[fsm.MaxProbes-MaxHalfOpenProbes]
}
