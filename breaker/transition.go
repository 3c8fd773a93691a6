package breaker

import (
	"strconv"
	"time"

	"github.com/tripwire-go/tripwire/internal/fsm"
)

// Cause is why a transition happened, as [Transition] reports it. The zero
// value is no cause: every reported transition has one of the causes below.
type Cause uint8

const (
	// CausePolicy: the policy tripped a closed circuit.
	CausePolicy Cause = iota + 1
	// CauseProbe: half-open probes closed the circuit, or a failed probe
	// opened it again.
	CauseProbe
	// CauseTimeout: the open period ended and the circuit went half-open.
	CauseTimeout
	// CauseManual: Trip, TripFor, ForceOpen, Disable or Reset.
	CauseManual
	// CauseExternal: a decision adopted from outside with [Breaker.Adopt],
	// such as a fleet coordinator's. A coordinator skips these, so that it
	// never echoes back what it adopted.
	CauseExternal
	// CauseReconfigure: [Breaker.Reconfigure] gave the circuit new
	// settings. The state and the mode stay (From == To); the generation
	// rises. Also [Breaker.ReconfigureShadows]'s change of candidates,
	// marked Shadow, which keeps the generation: it moves nothing.
	CauseReconfigure
)

// String returns "policy", "probe", "timeout", "manual", "external" or
// "reconfigure".
func (c Cause) String() string {
	switch c {
	case CausePolicy:
		return "policy"
	case CauseProbe:
		return "probe"
	case CauseTimeout:
		return "timeout"
	case CauseManual:
		return "manual"
	case CauseExternal:
		return "external"
	case CauseReconfigure:
		return "reconfigure"
	}
	return "Cause(" + strconv.Itoa(int(c)) + ")"
}

// Mode is the manual mode in force: see [Breaker.ForceOpen] and
// [Breaker.Disable]. The zero value is ModeNone.
type Mode uint8

const (
	// ModeNone: no manual mode; the policy and the probes decide.
	ModeNone Mode = iota
	// ModeForcedOpen: open until Reset, Disable, Trip or TripFor; every
	// call is rejected and no probe runs, whatever time passes.
	ModeForcedOpen
	// ModeDisabled: closed until Reset, ForceOpen, Trip or TripFor; every
	// call runs and nothing trips the circuit.
	ModeDisabled
)

// String returns "none", "forced-open" or "disabled".
func (m Mode) String() string {
	switch m {
	case ModeNone:
		return "none"
	case ModeForcedOpen:
		return "forced-open"
	case ModeDisabled:
		return "disabled"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Transition describes one change of a circuit, for [Config.OnTransition]
// and [Breaker.Subscribe]: a change of state, or a change of manual mode or
// open period with the state unchanged (then From == To). Read in order,
// transitions form a chain: each From is the previous To.
type Transition struct {
	// Name is the breaker's name.
	Name string
	// From and To are the states before and after.
	From, To State
	// Cause is why it happened.
	Cause Cause
	// Mode is the manual mode in force after the transition.
	Mode Mode
	// Generation is the circuit's generation after the transition. It
	// rises with each transition (and with each Reset, reported or not),
	// so a coordinator can tell an older decision from a newer one; a
	// change of candidates (ReconfigureShadows), which moves nothing,
	// keeps it.
	Generation uint64
	// At is when it happened, on the breaker's clock. A circuit that went
	// half-open because its open period ended did so at the end of the
	// period, whenever a call or State noticed.
	At time.Time
	// Until is, when To is Open with a timed period, when probes are let
	// through; the zero time otherwise (and while forced open).
	Until time.Time
	// Evidence is why it happened: the policy's account, the failures
	// that led to it, the probe, or who acted and why. Assembled when the
	// transition is delivered; shared by its listeners, read-only.
	Evidence *Evidence
	// Shadow is set on a transition that changed nothing for calls: one
	// of a shadow candidate (Config.Shadows; Candidate names it), of a
	// breaker that is Config.ShadowOnly, or a change of candidates
	// (ReconfigureShadows). A listener that acts on opens (a
	// coordinator, an alert) should skip these; a log should say "shadow".
	Shadow bool
	// Candidate is the name of the shadow candidate whose transition this
	// is, or "" for the breaker's own. Each candidate's transitions form a
	// chain of their own, apart from the breaker's.
	Candidate string
}

func (c *core) transition(t fsm.Transition) Transition {
	tr := Transition{
		Name:       c.name,
		From:       State(t.From),
		To:         State(t.To),
		Cause:      Cause(t.Cause),
		Mode:       Mode(t.Mode),
		Generation: t.Gen,
		At:         t.At,
		Until:      t.Until,
	}
	c.markShadow(&tr)
	if t.Cause == fsm.CauseNote {
		c.noted(&tr) // a change of candidates: see reshadow.go
	}
	return tr
}
