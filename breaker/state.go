package breaker

import (
	"errors"
	"strconv"
	"time"

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

// ErrOpen is wrapped by the error of every call the breaker rejects, in the
// open state and when every half-open probe slot is in use. Test for it with
// errors.Is; errors.As with an *OpenError tells when to retry.
var ErrOpen = errors.New("breaker: circuit open")

// OpenError is the error of a rejected call. It wraps ErrOpen. The breaker
// builds one per open period and returns the same value for every call it
// rejects then, so rejecting a call does not allocate; treat it as read-only.
type OpenError struct {
	// Name is the breaker's name.
	Name string
	// State is Open, or HalfOpen when the call was rejected because every
	// probe slot was in use.
	State State
	// Until is when the open period ends and probes are let through. For a
	// half-open rejection it has passed already: retry as soon as a probe
	// finishes.
	Until time.Time

	gen uint64
	msg string
	// fast is the one word under which a call may be rejected with this
	// error without further checks (see core.fastRejection), or noWord.
	fast fsm.Word
}

// noWord matches no state word: generations never get that high.
const noWord = ^fsm.Word(0)

func newOpenError(name string, w fsm.Word, until time.Time, probes int) *OpenError {
	e := &OpenError{Name: name, State: State(w.State()), Until: until, gen: w.Gen(), fast: noWord}
	circuit := "circuit"
	if name != "" {
		circuit += " " + strconv.Quote(name)
	}
	if e.State == HalfOpen {
		e.msg = "breaker: " + circuit + " half-open: all " + strconv.Itoa(probes) + " probe slots in use"
	} else {
		e.msg = "breaker: " + circuit + " open until " + until.Format(time.RFC3339Nano)
	}
	return e
}

// Error says which circuit rejected the call and until when it is open.
func (e *OpenError) Error() string { return e.msg }

// Unwrap returns ErrOpen.
func (e *OpenError) Unwrap() error { return ErrOpen }

// RetryAfter returns how long after now probes are let through: zero once
// the open period has ended. It suits a Retry-After header.
func (e *OpenError) RetryAfter(now time.Time) time.Duration {
	return max(e.Until.Sub(now), 0)
}
