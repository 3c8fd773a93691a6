package breaker

import (
	"strconv"

	"github.com/tripwire-go/tripwire/internal/fsm"
)

// State is the position of a circuit. The zero value is Closed.
type State uint8

const (
	// Closed: every call runs, and its outcome goes to the policy.
	Closed State = State(fsm.Closed)
	// HalfOpen: a few probe calls run to test the dependency; the rest are
	// rejected.
	HalfOpen State = State(fsm.HalfOpen)
	// Open: every call is rejected at once with an error wrapping ErrOpen.
	Open State = State(fsm.Open)
)

// String returns "closed", "half-open" or "open".
func (s State) String() string {
	switch s {
	case Closed, HalfOpen, Open:
		return fsm.State(s).String()
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Outcome is how a finished call counts, as decided by Config.Classify.
type Outcome uint8

const (
	// Success counts towards the dependency's health; in half-open,
	// enough successes close the circuit.
	Success Outcome = Outcome(fsm.Success)
	// Failure counts against it: the policy may trip, and a failed probe
	// opens the circuit again.
	Failure Outcome = Outcome(fsm.Failure)
	// Ignored counts for nothing; an ignored probe frees its slot.
	Ignored Outcome = Outcome(fsm.Ignored)
)

// String returns "success", "failure" or "ignored".
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
