package otelbreaker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// The span events that [Execute], [Watch] and [AddRejectionEvent] add.
const (
	// RejectedEvent is added to the span of a call the breaker rejected. Its
	// attributes: NameKey, StateKey (the state that rejected it: "open" or
	// "half-open"), ForcedKey and, unless forced, UntilKey.
	RejectedEvent = "tripwire.breaker.rejected"
	// StateChangeEvent is added to the span of a call during which the
	// breaker changed state (see [SpanEvents] for which call gets it). Its
	// attributes: NameKey, FromKey, ToKey, CauseKey and ModeKey (the manual
	// mode in force after it), and from its evidence WhyKey, and when
	// there are any RuleKey and PathKey (a trip's rule) and WhoKey (an
	// operator's action); for a shadow's change, which rejected nothing,
	// ShadowKey and CandidateKey.
	StateChangeEvent = "tripwire.breaker.state_change"
)

// The attributes of the span events, beside NameKey and StateKey.
const (
	// FromKey and ToKey are the states of a StateChangeEvent.
	FromKey = attribute.Key("breaker.from")
	ToKey   = attribute.Key("breaker.to")
	// CauseKey is why a StateChangeEvent happened: "policy", "probe",
	// "timeout", "manual" or "external" (breaker.Cause).
	CauseKey = attribute.Key("breaker.cause")
	// ForcedKey tells whether a rejected call met a circuit forced open,
	// which has no retry time.
	ForcedKey = attribute.Key("breaker.forced")
	// UntilKey is when the open period that rejected a call ends, in RFC
	// 3339 form, on the breaker's clock.
	UntilKey = attribute.Key("breaker.until")
	// WhyKey is a StateChangeEvent's evidence in one line
	// (breaker.Evidence.Text): "rate: 12 of 31 calls failed (38.7% ≥ 25%)
	// in the last 10s; last failure: ...".
	WhyKey = attribute.Key("breaker.why")
	// RuleKey and PathKey are the rule of the policy that decided a trip
	// and, in Any or All, which child (policy.Account's Rule and Path).
	RuleKey = attribute.Key("breaker.rule")
	PathKey = attribute.Key("breaker.path")
	// ShadowKey is true on a StateChangeEvent of a shadow (a shadow
	// candidate's, or a shadow-only breaker's; breaker.Transition.Shadow),
	// which rejected nothing; CandidateKey names the candidate. Neither is
	// set on the others. CandidateKey is on every measurement of the
	// tripwire.shadow instruments too.
	ShadowKey    = attribute.Key("breaker.shadow")
	CandidateKey = attribute.Key("breaker.candidate")
	// WhoKey is who took the action that caused a StateChangeEvent.
	WhoKey = attribute.Key("breaker.who")
)

// AddRejectionEvent adds a RejectedEvent to the span of ctx if err is a
// rejection by a breaker (it wraps breaker.ErrOpen), and reports whether
// it was one. Call it where a call's error is at hand, in code that does
// not go through [Execute]: after Allow, say.
func AddRejectionEvent(ctx context.Context, err error) bool {
	if !errors.Is(err, breaker.ErrOpen) {
		return false
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return true
	}
	var oe *breaker.OpenError
	if !errors.As(err, &oe) {
		span.AddEvent(RejectedEvent)
		return true
	}
	attrs := []attribute.KeyValue{NameKey.String(oe.Name()), StateKey.String(oe.State().String()), ForcedKey.Bool(oe.Forced())}
	if !oe.Forced() {
		attrs = append(attrs, UntilKey.String(oe.Until().Format(time.RFC3339Nano)))
	}
	span.AddEvent(RejectedEvent, trace.WithAttributes(attrs...))
	return true
}

// SpanEvents adds the state changes of breakers to the spans of the calls
// during which they happened. Make one, give its OnTransition to the
// breakers (Config.OnTransition, or inside group.Config.New for every
// breaker of a group, or Breaker.Subscribe), and run calls through [Execute], or between [Watch]
// and End. Build one with [NewSpanEvents]; the zero value is not usable. It
// is safe for concurrent use.
//
// # Which span gets a state change
//
// A breaker reports a state change through a callback that has no
// context, so it cannot reach the span of the call that caused it. What
// SpanEvents knows is which traced calls were running: it numbers each
// breaker's state changes, and when a traced call ends, it takes the
// changes made while the call ran that no other traced call has taken, and
// adds them to the call's span, each with the time it was reported. With
// one call at a time, that is exactly the call that caused the change: the
// breaker reports a change before the call that caused it returns. With
// calls running at once, each change goes to exactly one of the calls that
// were running when it happened, the first to end — most often the one
// that caused it, which ends right after. Changes made while no traced call
// ran (Trip by an operator, say) go to no span: the metrics and logs show
// them. A call that saw more than 16 changes of its breaker keeps the last
// 16.
//
// Breakers are told apart by name: give each breaker that SpanEvents
// follows its own name. SpanEvents keeps the last 16 state changes of each
// name that changed state, about 2 KB a name; for a group whose keys come
// and go, call [SpanEvents.Forget] from group.Config.OnEvict.
type SpanEvents struct {
	logs sync.Map // breaker name → *changeLog
}

// changeLog is one breaker's recent state changes, numbered from 1.
type changeLog struct {
	mu      sync.Mutex
	ring    [16]change
	seq     atomic.Uint64 // changes reported
	claimed atomic.Uint64 // changes up to this number have been added to a span
}

type change struct {
	t  breaker.Transition
	at time.Time // wall time, as spans have it; t.At is on the breaker's clock
}

// NewSpanEvents returns a SpanEvents that follows no breaker yet.
func NewSpanEvents() *SpanEvents { return &SpanEvents{} }

// log returns the change log of name, made on its first change.
func (s *SpanEvents) log(name string) *changeLog {
	if l, ok := s.logs.Load(name); ok {
		return l.(*changeLog)
	}
	l, _ := s.logs.LoadOrStore(name, new(changeLog))
	return l.(*changeLog)
}

// Forget drops what s keeps about the breaker named name. A call watched
// across Forget adds none of the changes made before it.
func (s *SpanEvents) Forget(name string) { s.logs.Delete(name) }

// OnTransition notes a transition of a breaker, if it changed the state
// (a change of manual mode or open period alone is no state change). It
// has the shape of breaker.Config.OnTransition and of a Subscribe
// listener; to keep a callback of your own, call both from one function.
func (s *SpanEvents) OnTransition(t breaker.Transition) {
	if t.From == t.To {
		return
	}
	l := s.log(t.Name)
	l.mu.Lock()
	n := l.seq.Load() + 1
	l.ring[n%uint64(len(l.ring))] = change{t, time.Now()}
	l.seq.Store(n)
	l.mu.Unlock()
}

// A Call is a traced call through one breaker, from [Watch] to End. The
// zero value, and the Call of a context whose span is not recording, do
// nothing.
type Call struct {
	span  trace.Span
	s     *SpanEvents
	log   *changeLog // nil until the breaker's first change
	name  string
	start uint64
}

// Watch begins a traced call through the breaker named name, with the span
// of ctx. Call End when the call has finished (after Permit.Done, for a
// two-step call); use AddRejectionEvent for its error.
func (s *SpanEvents) Watch(ctx context.Context, name string) Call {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return Call{}
	}
	c := Call{span: span, s: s, name: name}
	if l, ok := s.logs.Load(name); ok {
		c.log = l.(*changeLog)
		c.start = c.log.seq.Load()
	}
	return c
}

// End adds to the call's span the state changes of its breaker made since
// Watch that no other call has taken.
func (c Call) End() {
	if c.s == nil {
		return
	}
	if c.log == nil { // no change before the call: its first may have come since
		l, ok := c.s.logs.Load(c.name)
		if !ok {
			return
		}
		c.log = l.(*changeLog)
	}
	end := c.log.seq.Load()
	for {
		taken := c.log.claimed.Load()
		if taken >= end {
			return
		}
		if c.log.claimed.CompareAndSwap(taken, end) {
			c.add(max(taken, c.start), end)
			return
		}
	}
}

// add adds changes from+1 to to to the span.
func (c Call) add(from, to uint64) {
	if from >= to {
		return
	}
	size := uint64(len(c.log.ring))
	c.log.mu.Lock()
	// The ring holds the last size changes: older ones are gone.
	if cur := c.log.seq.Load(); cur > size {
		from = max(from, cur-size)
	}
	var changes []change
	for n := from + 1; n <= to; n++ {
		changes = append(changes, c.log.ring[n%size])
	}
	c.log.mu.Unlock()
	for _, ch := range changes {
		attrs := []attribute.KeyValue{
			NameKey.String(c.name), FromKey.String(ch.t.From.String()), ToKey.String(ch.t.To.String()),
			CauseKey.String(ch.t.Cause.String()), ModeKey.String(ch.t.Mode.String()),
		}
		if ch.t.Shadow {
			attrs = append(attrs, ShadowKey.Bool(true))
			if ch.t.Candidate != "" {
				attrs = append(attrs, CandidateKey.String(ch.t.Candidate))
			}
		}
		if e := ch.t.Evidence; e != nil {
			attrs = append(attrs, WhyKey.String(e.Text))
			if a := e.Account; a != nil {
				attrs = append(attrs, RuleKey.String(a.Rule), PathKey.String(a.Path))
			}
			if e.Who != "" {
				attrs = append(attrs, WhoKey.String(e.Who))
			}
		}
		c.span.AddEvent(StateChangeEvent, trace.WithTimestamp(ch.at), trace.WithAttributes(attrs...))
	}
}

// Execute runs fn through b, as b.Execute does, and adds span events to
// the span of ctx: a RejectedEvent if b rejected the call, and a
// StateChangeEvent for each state change of b that s gives the call (see
// [SpanEvents]). When the span of ctx is not recording it adds nothing and
// costs a context lookup; it allocates nothing either way (BenchmarkExecute
// measures both).
func Execute[T any](ctx context.Context, s *SpanEvents, b *breaker.Breaker[T], fn func(context.Context) (T, error)) (T, error) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return b.Execute(ctx, fn)
	}
	c := s.Watch(ctx, b.Name())
	defer c.End() // deferred, so that a panic in fn still reports the change it made
	res, err := b.Execute(ctx, fn)
	AddRejectionEvent(ctx, err)
	return res, err
}
