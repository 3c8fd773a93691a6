package slogbreaker

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/tripwire-go/tripwire/breaker"
)

// Message is the message of every record that OnStateChange writes, so
// that log queries can find them.
const Message = "circuit breaker state changed"

// ShadowMessage is the message of the records OnTransition writes for a
// shadow's transition (breaker.Transition.Shadow): a shadow candidate's,
// or a shadow-only breaker's. They changed nothing for calls, so a query
// or an alert on Message does not find them.
const ShadowMessage = "circuit breaker shadow state changed"

// OnStateChange returns a function for breaker.Config.OnStateChange that
// logs each transition to logger: at slog.LevelWarn when the circuit
// opens, at slog.LevelInfo otherwise, with the attributes "breaker", "from"
// and "to". A nil logger means slog.Default() at the time of each record.
//
// The function is safe for concurrent use, and may be shared by any number
// of breakers: the records tell them apart by name.
func OnStateChange(logger *slog.Logger) func(name string, from, to breaker.State) {
	return func(name string, from, to breaker.State) {
		l := logger
		if l == nil {
			l = slog.Default()
		}
		level := slog.LevelInfo
		if to == breaker.Open {
			level = slog.LevelWarn
		}
		l.LogAttrs(context.Background(), level, Message,
			slog.String("breaker", name),
			slog.String("from", from.String()),
			slog.String("to", to.String()),
		)
	}
}

// OnTransition returns a function for breaker.Config.OnTransition (or
// Breaker.Subscribe) that logs each transition to logger, saying why it
// happened: the attributes of OnStateChange ("breaker", "from", "to") and
// "cause" (policy, probe, timeout, manual, external), "mode" (none,
// forced-open, disabled) and, for an open period with an end, "until" (as
// a time). A circuit that opens, or stays open under a new period or mode,
// logs at slog.LevelWarn; the other transitions log at slog.LevelInfo. A
// nil logger means slog.Default() at the time of each record.
//
// Use it instead of OnStateChange, not beside it: it also logs the manual
// changes that keep the state (Disable of a closed circuit, ForceOpen of an
// open one), which OnStateChange never sees. The function is safe for
// concurrent use and may be shared by any number of breakers.
//
// The transition's evidence follows: "why" (its one-line text, such as
// "rate: 12 of 31 calls failed (38.7% ≥ 25%) in the last 10s; last
// failure: ..."), and when there are any "rule" and "path" (the policy's
// rule that decided a trip, and in Any or All which child), "who" and
// "action" (an operator's or a coordinator's action), "old" and "new" (the
// settings before and after a Reconfigure), and "failures" (a group of the
// last failed calls, "0", "1"... each "at" and "error").
//
// A shadow's transition (breaker.Transition.Shadow: a candidate's of
// Config.Shadows, or a shadow-only breaker's) is logged at
// slog.LevelInfo, opens too, under ShadowMessage, with "shadow" true and,
// for a candidate, "candidate" (its name): it rejected nothing. A
// shadow-only breaker's OnStateChange cannot tell: log it with
// OnTransition.
func OnTransition(logger *slog.Logger) func(breaker.Transition) {
	return func(t breaker.Transition) {
		l := logger
		if l == nil {
			l = slog.Default()
		}
		level, msg := slog.LevelInfo, Message
		if t.To == breaker.Open && !t.Shadow {
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{
			slog.String("breaker", t.Name),
			slog.String("from", t.From.String()),
			slog.String("to", t.To.String()),
			slog.String("cause", t.Cause.String()),
			slog.String("mode", t.Mode.String()),
		}
		if t.Shadow {
			msg = ShadowMessage
			attrs = append(attrs, slog.Bool("shadow", true))
			if t.Candidate != "" {
				attrs = append(attrs, slog.String("candidate", t.Candidate))
			}
		}
		if !t.Until.IsZero() {
			attrs = append(attrs, slog.Time("until", t.Until))
		}
		attrs = append(attrs, evidenceAttrs(t.Evidence)...)
		l.LogAttrs(context.Background(), level, msg, attrs...)
	}
}

// evidenceAttrs are the attributes of a transition's evidence.
func evidenceAttrs(e *breaker.Evidence) []slog.Attr {
	if e == nil {
		return nil
	}
	attrs := []slog.Attr{slog.String("why", e.Text)}
	if a := e.Account; a != nil {
		attrs = append(attrs, slog.String("rule", a.Rule))
		if a.Path != "" {
			attrs = append(attrs, slog.String("path", a.Path))
		}
	}
	if e.Action != "" {
		attrs = append(attrs, slog.String("action", e.Action))
	}
	if e.Who != "" {
		attrs = append(attrs, slog.String("who", e.Who))
	}
	if e.Old != "" || e.New != "" {
		attrs = append(attrs, slog.String("old", e.Old), slog.String("new", e.New))
	}
	if len(e.Failures) > 0 {
		fs := make([]any, len(e.Failures))
		for i, f := range e.Failures {
			fs[i] = slog.Group(strconv.Itoa(i), slog.Time("at", f.At), slog.String("error", f.Error))
		}
		attrs = append(attrs, slog.Group("failures", fs...))
	}
	return attrs
}
