package breaker

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/internal/fsm"
)

// The hooks of this file let a coordinator (package fleet, for one) share a
// circuit among many instances: it listens to transitions, gates half-open
// probes and adopts outside decisions. None of them is on the path of a
// closed or open call.

// Circuit is what every *Breaker[T] is, whatever its T: what a coordinator
// or a group needs to watch and steer a circuit without knowing the result
// type of its calls.
type Circuit interface {
	// Name returns the breaker's name.
	Name() string
	// State returns the circuit's state, as Breaker.State does.
	State() State
	// Metrics returns a snapshot, as Breaker.Metrics does.
	Metrics() Metrics
	// Subscribe adds a transition listener; see Breaker.Subscribe.
	Subscribe(fn func(Transition)) (cancel func())
	// SetProbeGate sets or (nil) removes the probe gate; see
	// Breaker.SetProbeGate.
	SetProbeGate(g ProbeGate)
	// Adopt applies an outside decision; see Breaker.Adopt.
	Adopt(a Adoption)
	// Act takes an operator's action; see Breaker.Act.
	Act(a Action) error
	// Reconfigure gives the circuit new settings; see
	// Breaker.Reconfigure.
	Reconfigure(s Settings, who, why string) error
	// Settings returns the settings in force; see Breaker.Settings.
	Settings() Settings
	// Transitions returns the last transitions with their evidence; see
	// Breaker.Transitions.
	Transitions() []Transition
}

var _ Circuit = (*Breaker[int])(nil)

// Subscribe adds fn as a listener of every later transition, delivered like
// Config.OnTransition (in order, with no lock held, after OnStateChange and
// OnTransition) until cancel is called. Listeners added earlier are called
// first. cancel may be called any number of times, from anywhere, including
// from fn; a transition being delivered while cancel runs may still reach fn.
// A nil fn adds nothing.
func (b *Breaker[T]) Subscribe(fn func(Transition)) (cancel func()) {
	return b.subscribe(fn)
}

// subscriber is one listener. Its identity (the pointer) is what cancel
// removes.
type subscriber struct{ fn func(Transition) }

// listeners are the Subscribe listeners, copied on every change so that
// delivery reads them with one load and no lock.
type listeners struct {
	mu   sync.Mutex
	list atomic.Pointer[[]*subscriber]
}

func (c *core) subscribe(fn func(Transition)) func() {
	if fn == nil {
		return func() {}
	}
	s := &subscriber{fn: fn}
	l := &c.listeners
	l.mu.Lock()
	var next []*subscriber
	if old := l.list.Load(); old != nil {
		next = append(next, *old...)
	}
	next = append(next, s)
	l.list.Store(&next)
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		old := l.list.Load()
		if old == nil {
			return
		}
		next := make([]*subscriber, 0, len(*old))
		for _, o := range *old {
			if o != s {
				next = append(next, o)
			}
		}
		l.list.Store(&next)
	}
}

// GateVerdict is a probe gate's answer: see [ProbeGate].
type GateVerdict uint8

const (
	// GateUnknown: the gate cannot tell (its store is unreachable, say);
	// the local decision stands and the probe runs. The zero value, so a
	// gate that says nothing changes nothing.
	GateUnknown GateVerdict = iota
	// GateAdmit: the probe may run. The breaker reports how it ended with
	// ProbeDone.
	GateAdmit
	// GateReject: the probe must not run; the call is rejected with an
	// error wrapping ErrOpen, and its local probe slot is freed.
	GateReject
)

// String returns "unknown", "admit" or "reject".
func (v GateVerdict) String() string {
	switch v {
	case GateAdmit:
		return "admit"
	case GateReject:
		return "reject"
	}
	return "unknown"
}

// ProbeGate lets a coordinator bound the half-open probes of many breakers
// together, for instance to K probes per generation across a fleet. The
// breaker consults it only where it would admit a half-open probe, after
// taking a local probe slot (so HalfOpenProbes still bounds the probes in
// flight locally); it is never on the path of a closed or open call. A
// gate is called with no lock of the breaker held and must be safe for
// concurrent use.
type ProbeGate interface {
	// AcquireProbe is called where the breaker would admit a half-open
	// probe, with the breaker's generation. It may block briefly: the gate
	// bounds how long. With GateAdmit it returns the probe's identity,
	// which the breaker hands back to ProbeDone, so that a gate with many
	// probes in flight knows which one ended (the other verdicts' id is
	// not used). If it panics, the local slot is freed, no probe runs, and
	// the panic goes on up to the caller of Execute or Allow.
	AcquireProbe(gen uint64) (GateVerdict, ProbeID)
	// ProbeDone reports how the probe id, which AcquireProbe admitted
	// (GateAdmit) for gen, ended: Success, Failure or Ignored (ignored also
	// for a permit released unreported). It is called once per admitted
	// probe, and must not block. If it panics, the probe's local slot is
	// freed all the same (its outcome counts), and the panic goes on up to
	// the caller that reported the probe.
	ProbeDone(gen uint64, id ProbeID, o Outcome)
}

// ProbeID is a probe's identity, chosen by the [ProbeGate] that admitted it
// and handed back to its ProbeDone: a coordinator uses it to find the lease
// it holds for that probe, among the others of the same generation.
type ProbeID uint64

// SetProbeGate makes g the breaker's probe gate; nil removes it. Probes
// admitted by an earlier gate report to that gate.
func (b *Breaker[T]) SetProbeGate(g ProbeGate) {
	if g == nil || isNilPointer(g) {
		b.gate.Store(nil)
		return
	}
	b.gate.Store(&gateBox{g})
}

// gateBox holds a ProbeGate behind a pointer, so that it can be swapped
// atomically and remembered by a probe's ticket.
type gateBox struct{ g ProbeGate }

// askGate asks the gate, if any, whether the probe that just took a slot
// in w may run. It returns the gate to report the probe to (nil: none),
// the probe's id, and whether the probe may run. A panicking gate frees
// the slot.
func (c *core) askGate(w fsm.Word, now time.Time) (*gateBox, ProbeID, bool) {
	g := c.gate.Load()
	if g == nil {
		return nil, 0, true
	}
	answered := false
	defer func() {
		if !answered {
			c.m.Release(w, fsm.Ignored, now)
		}
	}()
	v, id := g.g.AcquireProbe(w.Gen())
	answered = true
	switch v {
	case GateAdmit:
		return g, id, true
	case GateReject:
		c.m.Release(w, fsm.Ignored, now)
		return nil, 0, false
	}
	return nil, 0, true
}

// OpenTiming is how a breaker times its open periods: what a coordinator
// that shares the circuit with a fleet follows for the fleet's own, unless
// told otherwise (package fleet does).
type OpenTiming struct {
	// Timeout is the first open period: Config.OpenTimeout, or its default.
	Timeout time.Duration
	// Backoff is a copy of Config.Backoff with its defaults filled in (its
	// Rand left out), or nil for a breaker without one.
	Backoff *Backoff
}

// OpenTiming returns how the breaker times its open periods, for a
// coordinator that shares the circuit: see [OpenTiming]. Each call returns
// a fresh copy.
func (b *Breaker[T]) OpenTiming() OpenTiming {
	t := b.live.Load().timing
	if t.Backoff != nil {
		bo := *t.Backoff
		t.Backoff = &bo
	}
	return t
}

// AdoptionKind says what outside decision [Breaker.Adopt] applies.
type AdoptionKind uint8

const (
	// AdoptOpen opens the circuit for Adoption.For, without stepping the
	// Backoff (as TripFor does), in place of any open period or mode.
	AdoptOpen AdoptionKind = iota + 1
	// AdoptClose closes an open or half-open circuit (the policy is reset
	// and a forced-open mode ends, as when probes close it). A closed
	// circuit, disabled or not, is left as it is, its policy untouched.
	AdoptClose
	// AdoptForceOpen forces the circuit open, as ForceOpen does.
	AdoptForceOpen
	// AdoptDisable disables the circuit, as Disable does.
	AdoptDisable
	// AdoptClearMode ends a manual mode: a forced-open circuit gets an
	// ordinary open period from now (as Trip gives it), a disabled one
	// closes with its policy reset. Without a mode it does nothing.
	AdoptClearMode
)

// String returns "open", "close", "force-open", "disable" or "clear-mode".
func (k AdoptionKind) String() string {
	switch k {
	case AdoptOpen:
		return "open"
	case AdoptClose:
		return "close"
	case AdoptForceOpen:
		return "force-open"
	case AdoptDisable:
		return "disable"
	case AdoptClearMode:
		return "clear-mode"
	}
	return "AdoptionKind(" + strconv.Itoa(int(k)) + ")"
}

// Adoption is a decision taken outside the breaker, by a coordinator, for
// the breaker to apply with [Breaker.Adopt].
type Adoption struct {
	// Kind is what to do.
	Kind AdoptionKind
	// For is how long an AdoptOpen keeps the circuit open; negative counts
	// as zero (open, then half-open at the next look). Other kinds ignore
	// it.
	For time.Duration
	// Who decided and Why, for the evidence of the transitions the
	// adoption causes: a coordinator names itself and describes the
	// record it adopts. Optional.
	Who, Why string
}

// Adopt applies a decision taken outside the breaker, such as a fleet's.
// Every transition it causes is reported with CauseExternal, so that the
// coordinator that listens to the breaker can tell its own decisions from
// local ones and never echoes them back. An Adoption of an unknown Kind
// does nothing. Like a manual action, the last decision wins: a later
// Trip, Reset or ForceOpen replaces an adopted one, and the other way round.
func (b *Breaker[T]) Adopt(a Adoption) { b.adopt(a, 0, false) }

// AdoptAt is Adopt for a decision taken on what the coordinator read of the
// circuit: it applies a only if the circuit is still at generation gen
// (the Generation of the Metrics or the Transition it decided on), and
// reports whether it did. Whatever changed the circuit since that read (an
// operator's Reset, Trip, TripFor, ForceOpen or Disable, another adoption,
// the policy, a probe, the end of an open period, a Reconfigure) started a
// new generation, and stands: an automatic decision made on a stale state
// never replaces a later word, such as an operator's Disable that landed
// between a group's outlier detector's read and its open. The check and
// the change are one step under the breaker's lock; a stale decision
// changes nothing and reports nothing. A coordinator that still wants its
// decision reads the circuit again and decides again.
//
// A close (AdoptClose, or AdoptClearMode of a disabled circuit) that
// started still yields to a decision made while it resets the policy, as
// every close does; AdoptAt reports true for it.
func (b *Breaker[T]) AdoptAt(gen uint64, a Adoption) (applied bool) {
	return b.adopt(a, gen, true)
}

// adopt applies a; with at, only at generation gen, and reports whether
// it did.
func (c *core) adopt(a Adoption, gen uint64, at bool) (applied bool) {
	var f func(now time.Time)
	switch a.Kind {
	case AdoptOpen:
		f = func(now time.Time) {
			if !at {
				c.m.TripFor(a.For, now, fsm.CauseExternal)
				applied = true
				return
			}
			applied = c.m.TripForAt(gen, a.For, now, fsm.CauseExternal)
		}
	case AdoptClose:
		f = func(now time.Time) {
			if !at {
				c.m.Close(now, fsm.CauseExternal)
				applied = true
				return
			}
			applied = c.m.CloseAt(gen, now, fsm.CauseExternal)
		}
	case AdoptForceOpen:
		f = func(now time.Time) {
			if !at {
				c.m.ForceOpen(now, fsm.CauseExternal)
				applied = true
				return
			}
			applied = c.m.ForceOpenAt(gen, now, fsm.CauseExternal)
		}
	case AdoptDisable:
		f = func(now time.Time) {
			if !at {
				c.m.Disable(now, fsm.CauseExternal)
				applied = true
				return
			}
			applied = c.m.DisableAt(gen, now, fsm.CauseExternal)
		}
	case AdoptClearMode:
		f = func(now time.Time) {
			if !at {
				c.m.ClearMode(now, fsm.CauseExternal)
				applied = true
				return
			}
			applied = c.m.ClearModeAt(gen, now, fsm.CauseExternal)
		}
	default:
		return false
	}
	action := "adopt " + a.Kind.String()
	if a.Kind == AdoptOpen {
		action += " " + max(a.For, 0).String()
	}
	c.act(action, a.Who, a.Why, f)
	return applied
}
