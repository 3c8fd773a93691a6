// Package policy decides when a closed circuit opens.
//
// A breaker gives its [Policy] every call that finished while the circuit
// was closed; when Record returns true, the circuit opens. When the circuit
// closes again, the breaker resets the policy. Policies never read a clock:
// the breaker passes the time a call finished and how long it ran in
// [Call], and only to policies that ask for them through [Needer].
//
// # Choosing a policy
//
//   - [Consecutive] trips after n failures in a row. Use it when any run of
//     errors means the dependency is down; it is the default (n = 5) and
//     the cheapest.
//   - [Window] trips at n failures within a trailing span of time. Use it
//     when failures are rare and a burst of them is the signal, however many
//     successes come between.
//   - [Rate] trips when a share of the calls within a trailing span of time
//     failed. Use it for a busy dependency that fails partly: the ratio holds
//     as traffic grows.
//   - [LastN] trips when a share of the last n calls failed. Use it when
//     traffic is too uneven for a time window: every verdict rests on the
//     same number of calls.
//   - [Slow] trips when a share of the calls within a trailing span of time
//     ran longer than a threshold. Use it for a dependency that slows down
//     before it fails.
//   - [Any] trips when any of several policies trips. Use it to watch for
//     several kinds of trouble at once, such as failures and slowness.
//   - [All] trips on a call on which every one of several policies trips.
//     Use it to demand more than one condition at once, such as a high
//     rate and a minimum number of failures.
//
// The time-window policies count into a [window.Time], whose trailing edge
// is precise to 1/16 of the window's length; [LastN] counts into a
// [window.Last]. Each records a call with a few atomic operations, without
// a lock and without allocating.
//
// # Arguments
//
// Constructors never panic. An argument out of range (a count below 1, a
// ratio outside (0, 1] or NaN, a duration that is not positive, an empty
// or nil child of [Any] or [All]) is reported by the policy's Validate
// method ([Validator]), which breaker.New calls: the error starts with
// "policy:", names the constructor and the argument, and breaker.New wraps
// it in its ErrInvalidConfig.
//
// # One policy per breaker
//
// A policy holds the state of one circuit. Every built-in policy can be
// claimed by one breaker only ([Claimer]): giving it to a second one makes
// breaker.New fail with [ErrShared]. [Any] and [All] claim their children
// too, so a child cannot hide a policy shared with another breaker. Custom
// policies should do the same, or document why sharing them is harmless.
package policy
