// Package policy decides when a closed circuit opens.
//
// A breaker gives its [Policy] every call that finished while the circuit
// was closed; when Record returns true, the circuit opens. When the circuit
// closes again, the breaker resets the policy. Policies never read a clock:
// the breaker passes the time a call finished and how long it ran in
// [Call], and only to policies that ask for them when they are bound
// ([Binding.Need]).
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
//   - [When] trips when a function of the counts of a trailing window and
//     the current streaks says so. Use it when no policy above says what
//     you mean, or to port a sony/gobreaker ReadyToTrip in one line.
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
// ratio outside (0, 1] or NaN, a duration that is not positive, a [Slow]
// threshold longer than its window, an empty or nil child of [Any] or
// [All]) is reported when the policy is bound, which breaker.New does: the
// error is an [*ArgError] whose Field names the constructor and the
// argument ("Rate.ratio", "Any.ps[1].Window.failures"), and breaker.New
// wraps it in a ConfigError whose Field reads "Policy.ratio". [Check]
// reports the same errors without a breaker.
//
// # One policy per breaker
//
// A policy holds the state of one circuit. Every built-in policy belongs to
// the first breaker it is bound to: binding it again makes breaker.New fail
// with [ErrShared]. [Any] and [All] bind their children too, so a child
// cannot hide a policy shared with another breaker. Custom policies should
// do the same, by claiming an [Owner] in their Bind method
// ([Binding.Claim]), or document why sharing them is harmless.
//
// # Half-open probes
//
// A policy watches the closed circuit. When the circuit is half-open, the
// breaker lets a few probe calls through and, by default, judges them by
// their outcome: enough successes close the circuit, one failure opens it
// again. That is wrong for [Slow]: during a latency spike probes succeed,
// slowly, and closing on them only lets the next slow calls trip the
// circuit again. So Slow names a [ProbeJudge] when it is bound, which fails a probe that ran
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
// # Terms, and why they are bound rather than discovered
//
// Beyond Record and Reset, a policy may have terms: it needs the time or
// the duration of each call, its arguments can be wrong, it must belong to
// one breaker, it judges half-open probes. Each of these decides whether
// the breaker is correct, not how fast it is. They used to be optional
// methods found by type assertion (Needs, Validate, Claim, ProbeFailed),
// the way io.Copy finds io.WriterTo; but a type assertion suits an
// optional speed-up, where missing it costs only time. A logging wrapper
// written as struct{ policy.Policy } has Record and Reset and nothing
// else, so it silently dropped all four: Rate(2, …) was accepted, sharing
// went unseen, a time window got the zero time, Slow stopped judging
// probes. And Claim was a public method: anyone could call it once and
// spoil the policy for every breaker.
//
// So the terms are stated, once, in one method:
//
//   - A [Binder] states its terms in Bind(b *Binding): [Binding.Need] for
//     the Call fields it reads, [Binding.JudgeProbes] for its judge of
//     probes, [Binding.Child] for the policies it is built from; it returns
//     the error of a bad argument ([NewArgError]), or the [ErrShared] of
//     [Binding.Claim]. breaker.New calls [Bind] once, which calls the
//     policy's Bind once, and keeps the [Terms] it returns; it asks nothing
//     of the policy afterwards, so nothing can be lost between the two.
//   - A Binding is made only by Bind. A built-in policy's Bind method called
//     with any other Binding changes nothing and returns an error: the
//     claim cannot be spent by a stray call. [Bind] itself is public, and
//     calling it is what breaker.New does: a policy bound by hand is used up
//     as if given to a breaker. [Check] learns a policy's terms and errors
//     without that.
//   - A wrapper keeps the terms of what it wraps by implementing Unwrap
//     ([Unwrapper]), as http.ResponseController finds optional methods
//     through wrapped ResponseWriters, or by a Bind of its own that binds
//     what it wraps with [Binding.Child].
//   - A wrapper that does neither cannot hide anything: Bind looks into the
//     fields of a policy that is not a Binder and refuses, with an
//     [*ArgError] naming the field, one that holds a policy with terms. The
//     mistake is reported by breaker.New, not found in production.
//   - A time window ([window.Time]) panics with an explanation when it is
//     given the zero time, so a custom time-based policy that forgot to ask
//     for the time fails at its first call instead of tripping on failures
//     an hour apart.
//
// The [Policy] interface keeps its two methods; a policy without terms
// (one that reads only Call.Failed and does not mind being shared) needs
// nothing else.
//
// # Writing a policy, continued
//
// Embedding a built-in policy's concrete type (*WindowPolicy, not Policy)
// gives a custom one its Record, Reset and Bind to build on; a custom
// policy that overrides Bind binds the embedded one with [Binding.Child],
// as the example of [Binder] does. The guide docs/custom-policies.md of the
// repository walks through a policy of one's own.
package policy
