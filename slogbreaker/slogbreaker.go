package slogbreaker

import (
	"context"
	"log/slog"

	"github.com/tripwire-go/tripwire/breaker"
)

// Message is the message of every record that OnStateChange writes, so
// that log queries can find them.
const Message = "circuit breaker state changed"

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
func OnTransition(logger *slog.Logger) func(breaker.Transition) {
	return func(t breaker.Transition) {
		l := logger
		if l == nil {
			l = slog.Default()
		}
		level := slog.LevelInfo
		if t.To == breaker.Open {
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{
			slog.String("breaker", t.Name),
			slog.String("from", t.From.String()),
			slog.String("to", t.To.String()),
			slog.String("cause", t.Cause.String()),
			slog.String("mode", t.Mode.String()),
		}
		if !t.Until.IsZero() {
			attrs = append(attrs, slog.Time("until", t.Until))
		}
		l.LogAttrs(context.Background(), level, Message, attrs...)
	}
}
