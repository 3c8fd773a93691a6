// Package slogbreaker logs the state changes of circuit breakers with
// log/slog.
//
// # Use
//
// Set a breaker's OnStateChange to [OnStateChange] of your logger:
//
//	b, err := breaker.New(breaker.Config[*http.Response]{
//		Name:          "payments",
//		OnStateChange: slogbreaker.OnStateChange(logger),
//	})
//
// Every transition then becomes one record with the attributes
// "breaker" (the name), "from" and "to" (the states as text: "closed",
// "half-open", "open"). A circuit that opens logs at [slog.LevelWarn]; the
// other transitions, which are the way back to health, log at
// [slog.LevelInfo].
//
// The records are written from the breaker's OnStateChange, so they follow
// its rules: one per transition, in order, after it happened and with no
// lock held.
package slogbreaker
