// Package breaker is a generic, type-safe circuit breaker.
//
// A [Breaker] wraps calls to a dependency that can fail: a database, a
// remote service, a queue. While the dependency is healthy every call runs
// (the circuit is closed). When a [policy.Policy] decides the dependency is
// failing, the circuit opens: calls are rejected at once with an error
// wrapping [ErrOpen], which spares the dependency the load and the callers
// the wait. After [Config.OpenTimeout] the circuit is half-open: a few probe
// calls run, and their outcome closes the circuit again or reopens it.
//
//	closed ──policy trips──▶ open ──OpenTimeout passes──▶ half-open
//	   ▲                       ▲                              │
//	   │                       └──────── a probe fails ───────┤
//	   └────────────── CloseAfter probes succeed ─────────────┘
//
// # Use
//
// Build a breaker with [New] and run calls through [Breaker.Execute]:
//
//	b, err := breaker.New(breaker.Config[*User]{Name: "users"})
//	...
//	u, err := b.Execute(ctx, func(ctx context.Context) (*User, error) {
//		return client.GetUser(ctx, id)
//	})
//	if errors.Is(err, breaker.ErrOpen) {
//		// rejected without calling: serve a fallback
//	}
//
// When a call does not fit in a function, ask first with [Breaker.Allow]
// and report the result with [Permit.Done], or give the permit back with
// [Permit.Release].
//
// A dependency called with results of many types keeps one circuit: make
// one breaker, and a [View] of it for each other result type. Views share
// the state, policy, metrics and callbacks; each classifies its own type.
//
// A rejection is an [*OpenError]; [RetryAfter] tells a retry loop how long
// to wait, or that waiting makes no sense.
//
// # Classification
//
// By default a nil error is a success and an error is a failure.
// [Config.Classify] decides otherwise, by error and by result value, for
// APIs that report failure in the result (an HTTP status) or errors that
// say nothing about the dependency (a 404).
//
// One rule comes before Classify and holds whether it is set or not: in
// [Breaker.Execute], an error that is context.Canceled while the caller's
// context is done is ignored, and Classify is not asked. The caller gave
// up; the dependency did nothing wrong. Classify never sees the context,
// so it could not tell that call from one the dependency canceled itself
// (an error that is context.Canceled while the caller's context is still
// live), which goes to Classify like any other error. [Permit.Done] has no
// context either: a two-step caller that gave up calls [Permit.Release],
// which counts the call as ignored.
//
// Classify returns an [Outcome] whose zero value is [Failure]: a Classify
// that falls through without deciding counts the call against the
// dependency, never for its health.
//
// # Policies
//
// The default policy trips after 5 failures in a row. Package policy has
// others (failures in a time window, failure rates, slow calls), and any
// type with Record and Reset methods can be one.
//
// # Half-open
//
// Once [Config.OpenTimeout] has passed, the circuit is half-open: up to
// [Config.HalfOpenProbes] probe calls run at a time, and the rest are
// rejected. Once [Config.CloseAfter] probes (by default HalfOpenProbes)
// have succeeded the circuit closes and its policy is reset; a probe that
// fails opens it again at once. An ignored probe frees its slot and counts
// for nothing, and so does a probe that finishes after the circuit moved
// on. [Config.ProbeTimeout] (by default the open period) keeps probes that
// never finish from holding their slots for ever.
//
// A probe that succeeded is judged by the policy too when the policy
// names a [policy.ProbeJudge] as it is bound ([policy.Binding.JudgeProbes]):
// the judge may still count it as failed, and the
// circuit then opens again as for any failed probe. policy.Slow does so
// for a probe slower than its threshold (and policy.Any with it among its
// children), so that a circuit opened by slow calls stays open while the
// dependency is slow, instead of closing on three slow successes only to
// trip again. The breaker times a probe, from admission to report, only
// for a judge that asks for durations. A failed probe stays failed and an
// ignored one ignored, whatever the policy; and [Breaker.Metrics] counts
// a probe by its Classify outcome, as it counts every call.
//
// # Manual control
//
// An operator can override the policy. [Breaker.Trip] opens the circuit as
// if the policy had, and [Breaker.TripFor] opens it for a given time (an
// upstream's Retry-After, a maintenance window); both then probe as usual.
// [Breaker.ForceOpen] holds it open and [Breaker.Disable] holds it closed,
// until [Breaker.Reset] or another manual action: the last one wins.
// [Metrics.Mode] tells which mode is in force, and a rejection while forced
// open says so ([OpenError.Forced]).
//
// # Reconfiguration
//
// [Breaker.Reconfigure] gives a running breaker a new policy and new open
// and half-open settings ([Settings]; package spec writes them as one line)
// in one step: the state, the mode and the open period stay, the new policy
// takes over what the old one counted where it can (policy.Successor), and
// every closed call in flight is counted once, by one of the two policies.
// The change is a transition of cause CauseReconfigure, with who, why and
// the settings before and after in its evidence.
//
// # Shadows
//
// [Config.Shadows] runs candidate configurations ([Shadow]) beside the
// policy, observe-only: each is a breaker of its own, fed every call the
// breaker lets run, that decides what it would have done (would it have
// rejected the call, tripped, probed, closed) and reports it through
// [Breaker.Shadows] and, marked [Transition.Shadow], OnTransition.
// [Config.ShadowOnly] makes the breaker itself observe-only: it decides
// and reports, and rejects nothing. The rules they keep, each checked by a
// test:
//
//   - a candidate never rejects, delays or changes a call, and never moves
//     the live circuit (TestShadowsNeverChangeCalls);
//   - a candidate makes the transitions of a real breaker with its
//     settings fed the same calls (TestShadowActsAsARealBreaker);
//   - a panic of a candidate never reaches the call
//     (TestShadowPanicsNeverReachTheCall);
//   - a shadow-only breaker rejects nothing (TestShadowOnlyRejectsNothing,
//     TestShadowStress);
//   - no callback runs under a lock: a listener of a candidate may call
//     the breaker (TestShadowCallbacksMayCallTheBreaker);
//   - [Breaker.ReconfigureShadows] replaces the candidates of a running
//     breaker in one step that the live circuit never sees, keeping those
//     given again alike (TestReconfigureShadowsNeverChangesCalls,
//     TestReconfigureShadowsStress).
//
// A breaker without candidates or [Config.OnCall] pays nothing for them.
// docs/shadow.md is the guide.
//
// # Transitions and coordinators
//
// [Config.OnStateChange] is told each change of state; [Config.OnTransition]
// and [Breaker.Subscribe] are told each [Transition] with why it happened
// (its [Cause]), the mode, the generation and the open period. A
// coordinator that shares one circuit among many instances (package fleet)
// works through the [Circuit] interface that every Breaker implements: it
// listens with Subscribe, bounds half-open probes with a [ProbeGate], and
// applies the fleet's decisions with [Breaker.Adopt], whose transitions
// carry CauseExternal so that it never echoes them back. None of this is on
// the path of a closed or open call.
//
// # Metrics
//
// [Breaker.Metrics] returns a snapshot for dashboards: the state and since
// when, the manual mode, opens counted by what caused them (trips,
// reopens, manual and external opens), half-open probes and, with
// [Config.CountCalls], calls by outcome. It never changes the circuit. Exporters for Prometheus and
// OpenTelemetry, a log/slog OnStateChange, net/http guards and per-key
// groups are in packages of their own (see the README's Integrations).
//
// # Concurrency and cost
//
// Every method is safe for concurrent use. A call in the closed state reads
// one atomic word before it runs and again when it reports (a result from
// an earlier state is dropped; one from before a Reconfigure is not, the
// state being the same); with the default policy a success writes
// no shared memory and reads no clock. A rejected call allocates nothing and, with the real
// clock, reads no clock either: the breaker arms one timer per open period
// instead. State changes take a lock, and [Config.OnStateChange] runs after
// it is released, in order, so the callback may call the breaker.
package breaker
