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
