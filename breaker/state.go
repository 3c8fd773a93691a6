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

// MarshalText returns the mode's String: "none", "forced-open" or
// "disabled", so that json.Marshal(b.Metrics()) writes the mode as a word.
// A value other than the three modes is an error.
func (m Mode) MarshalText() ([]byte, error) {
	if m > ModeDisabled {
		return nil, errors.New("breaker: cannot marshal " + m.String())
	}
	return []byte(m.String()), nil
}

// UnmarshalText sets m from the text MarshalText writes, in any case.
func (m *Mode) UnmarshalText(text []byte) error {
	for v := ModeNone; v <= ModeDisabled; v++ {
		if strings.EqualFold(string(text), v.String()) {
			*m = v
			return nil
		}
	}
	return errors.New("breaker: unknown Mode " + strconv.Quote(string(text)) + `: want "none", "forced-open" or "disabled"`)
}

// MarshalText returns the cause's String: "policy", "probe", "timeout",
// "manual" or "external". The zero Cause, which no transition has, and
// values past CauseExternal are an error.
func (c Cause) MarshalText() ([]byte, error) {
	if c < CausePolicy || c > CauseReconfigure {
		return nil, errors.New("breaker: cannot marshal " + c.String())
	}
	return []byte(c.String()), nil
}

// UnmarshalText sets c from the text MarshalText writes, in any case.
func (c *Cause) UnmarshalText(text []byte) error {
	for v := CausePolicy; v <= CauseReconfigure; v++ {
		if strings.EqualFold(string(text), v.String()) {
			*c = v
			return nil
		}
	}
	return errors.New("breaker: unknown Cause " + strconv.Quote(string(text)) + `: want "policy", "probe", "timeout", "manual", "external" or "reconfigure"`)
}

// The breaker and internal/fsm exchange States, Outcomes, Modes, Causes
// and the probe limit by value. Each line below stops compiling if a value here and the fsm's
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
	_ = x[ModeNone-Mode(fsm.ModeNone)]
	_ = x[Mode(fsm.ModeNone)-ModeNone]
	_ = x[ModeForcedOpen-Mode(fsm.ModeForcedOpen)]
	_ = x[Mode(fsm.ModeForcedOpen)-ModeForcedOpen]
	_ = x[ModeDisabled-Mode(fsm.ModeDisabled)]
	_ = x[Mode(fsm.ModeDisabled)-ModeDisabled]
	_ = x[CausePolicy-Cause(fsm.CausePolicy)]
	_ = x[Cause(fsm.CausePolicy)-CausePolicy]
	_ = x[CauseExternal-Cause(fsm.CauseExternal)]
	_ = x[Cause(fsm.CauseExternal)-CauseExternal]
	_ = x[CauseReconfigure-Cause(fsm.CauseReconfigure)]
	_ = x[Cause(fsm.CauseReconfigure)-CauseReconfigure]
	_ = x[MaxHalfOpenProbes-fsm.MaxProbes]
	_ = x[fsm.MaxProbes-MaxHalfOpenProbes]
}
