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
// a lock and without allocating; LastN then judges by counting the bits
// of its ring, two loads per 64 calls it holds (see [MaxLastN]).
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
//
// # Half-open probes
//
// A policy watches the closed circuit. When the circuit is half-open, the
// breaker lets a few probe calls through and, by default, judges them by
// their outcome: enough successes close the circuit, one failure opens it
// again. That is wrong for [Slow]: during a latency spike probes succeed,
// slowly, and closing on them only lets the next slow calls trip the
// circuit again. So Slow is also a [ProbeJudge], and fails a probe that ran
// longer than its threshold. [Any] fails a probe that any child fails, and
// [All] one that every child fails (a child that is no judge goes by the
// outcome), in keeping with how each trips.
//
// # Writing a policy
//
// Any type with Record and Reset methods is a [Policy]. Record is called
// for every call that finished while the circuit was closed, from every
// goroutine that makes calls: it must be safe for concurrent use, and it
// is on the path of every call, so it should not take a lock or allocate
// if it can help it. Reset is called when the circuit closes. A policy
// that counts over time reads the time from [Call], never from a clock, so
// that it is exact under a breaker's test clock and costs no clock read
// when it needs none.
//
// The breaker discovers what else a policy offers by type assertion, when
// it is built:
//
//   - [Needer]: the policy reads Call.At or Call.Duration. Without it the
//     breaker sets neither and reads no clock for the policy.
//   - [Validator]: the policy's arguments can be wrong. breaker.New calls
//     Validate and refuses the policy with an error that names the
//     argument, instead of building a breaker that silently misbehaves.
//   - [Claimer]: the policy belongs to one breaker. breaker.New claims it,
//     and a second breaker given the same policy is not built.
//   - [ProbeJudge]: the policy judges half-open probes by more than their
//     outcome, as Slow does by their duration. It gets Call.At and
//     Call.Duration as Record does, by what its Needs asks for.
//
// Embedding a built-in policy gives a custom one its Record, Reset,
// Validate, Claim and, for Slow, Any and All, ProbeFailed, to build on.
package policy
