// Package slogbreaker logs the transitions of circuit breakers with
// log/slog, saying why each happened.
//
// # Use
//
// Set a breaker's OnTransition to [OnTransition] of your logger:
//
//	b, err := breaker.New(breaker.Config[*http.Response]{
//		Name:         "payments",
//		OnTransition: slogbreaker.OnTransition(logger),
//	})
//
// Every transition then becomes one record with the attributes
// "breaker" (the name), "from" and "to" (the states as text: "closed",
// "half-open", "open"), "cause" (what made it: "policy", "probe",
// "timeout", "manual", "external"), "mode" (the manual mode in force:
// "none", "forced-open", "disabled") and, when the circuit opened for a
// period with an end, "until". A circuit that opens logs at
// [slog.LevelWarn]; the other transitions, which are the way back to
// health or an operator's action, log at [slog.LevelInfo].
//
// [OnStateChange] is the same for Config.OnStateChange, with the first
// three attributes only: it cannot say why, and it does not see manual
// changes that keep the state.
//
// The records are written from the breaker's callbacks, so they follow
// their rules: one per transition, in order, after it happened and with no
// lock held.
package slogbreaker
