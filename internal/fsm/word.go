package fsm

import (
	"strconv"
	"time"
)

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

// Layout: bits 0-1 the state, bit 2 the due flag (of an open word, or of a
// Reconfigure's closed fence), bit 3 the mute flag, bit 4 the ramp flag
// (closed), the rest the generation.
const (
	stateMask = 1<<2 - 1
	dueBit    = 1 << 2
	muteBit   = 1 << 3
	rampBit   = 1 << 4
	genShift  = 5
)

func makeWord(s State, gen uint64) Word { return Word(gen<<genShift | uint64(s)) }

// State returns the state part of w.
func (w Word) State() State { return State(w & stateMask) }

// Gen returns the generation part of w.
func (w Word) Gen() uint64 { return uint64(w) >> genShift }

// Muted reports whether w is a closed word under which the policy records
// nothing: the circuit is disabled, or being reset. Calls run; their results
// are not counted.
func (w Word) Muted() bool { return w&muteBit != 0 }

// Plain reports whether w is closed and not muted: a call under it runs and
// its result goes to the policy. It is the test of the breaker's fastest path.
// A ramping word is not plain, so the breaker's fastest path needs no test
// of its own for a ramp.
func (w Word) Plain() bool { return w&(stateMask|muteBit|rampBit) == 0 }

// Ramping reports whether w is a closed word under which calls are admitted
// in a rising share (see Ramp): the circuit closed by probes not long ago.
func (w Word) Ramping() bool { return w&(stateMask|rampBit) == rampBit }

// counted reports whether results of calls under w go to the policy: w is
// closed and not muted, ramping or not.
func (w Word) counted() bool { return w&(stateMask|muteBit) == 0 }

// same reports whether the current word cur still admits results of calls
// admitted under w: it is w, or w's twin once its ramp has ended.
func same(cur, w Word) bool { return cur == w || cur == w&^rampBit }

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

// Mode is the manual mode in force. The values match breaker.Mode.
type Mode uint8

// The modes.
const (
	ModeNone       Mode = iota // no manual mode: the policy and the probes decide
	ModeForcedOpen             // open until reset: every call rejected, no probes
	ModeDisabled               // closed until reset: every call runs, nothing recorded
)

// Cause is why a transition happened. The values match breaker.Cause.
type Cause uint8

// The causes.
const (
	CausePolicy   Cause = iota + 1 // the policy tripped a closed circuit
	CauseProbe                     // probes closed a half-open circuit, or a failed probe opened it
	CauseTimeout                   // the open period ended
	CauseManual                    // Trip, TripFor, ForceOpen, Disable or Reset
	CauseExternal                  // a decision adopted from outside (a coordinator)
	// CauseReconfigure follows: see reconfigure.go
)

// Transition is one change of state or of manual mode, in the order it
// happened.
type Transition struct {
	From, To State
	Cause    Cause
	Mode     Mode      // the mode in force after the transition
	Gen      uint64    // the generation after the transition
	At       time.Time // when it happened
	Until    time.Time // To == Open with a timed period: its end; else zero
}

// Rejecting reports whether w is an open word without the due flag: a call
// under it is rejected without looking at the clock.
func (w Word) Rejecting() bool { return w&(stateMask|dueBit) == Word(Open) }
