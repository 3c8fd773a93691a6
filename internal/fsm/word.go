package fsm

import "strconv"

// State is the position of a circuit.
type State uint8

// The values match breaker.State, which converts by value.
const (
	Closed State = iota
	HalfOpen
	Open
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

// Word packs a state and a generation into the one value that every call
// reads. The generation goes up by one at every change of state (and at every
// Reset), so a call that remembers the Word it was admitted under can tell,
// with one comparison, whether anything happened since.
type Word uint64

// Layout: bits 0-1 the state, bit 2 the due flag, the rest the generation.
const (
	stateMask = 1<<2 - 1
	dueBit    = 1 << 2
	genShift  = 3
)

func makeWord(s State, gen uint64) Word { return Word(gen<<genShift | uint64(s)) }

// State returns the state part of w.
func (w Word) State() State { return State(w & stateMask) }

// Gen returns the generation part of w.
func (w Word) Gen() uint64 { return uint64(w) >> genShift }

// Due reports whether an open circuit has been told (by MarkDue) that its
// timeout has passed, so that the next caller should read the clock.
func (w Word) Due() bool { return w&dueBit != 0 }

// Outcome is how a finished call is counted.
type Outcome uint8

// The values match breaker.Outcome, which converts by value.
const (
	Failure Outcome = iota
	Success
	Ignored
)

// Transition is one change of state, in the order it happened.
type Transition struct {
	From, To State
}

// Rejecting reports whether w is an open word without the due flag: a call
// under it is rejected without looking at the clock.
func (w Word) Rejecting() bool { return w&(stateMask|dueBit) == Word(Open) }
