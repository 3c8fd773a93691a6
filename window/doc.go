// Package window provides sliding counters of calls, failures and slow
// calls, for circuit-breaker policies and anything else that must answer
// "how bad has it been lately?" on every call.
//
// It uses only the standard library. No window reads a clock, starts a
// goroutine or sets a timer: time-based windows take now as an argument and
// evaluate time lazily, so tests drive them with plain [time.Time] values
// and an idle window costs nothing.
//
// # Windows
//
//   - [Time] counts the calls that finished within a trailing span of time,
//     in [Buckets] buckets: the window's edge is precise to 1/16 of its
//     length. Use it when the question is about a period ("in the last
//     minute"), so that old calls stop counting even when no new ones come.
//   - [Last] keeps the outcomes of the last n calls. Use it when the question
//     is about a number of calls ("of the last 100"), whatever the traffic
//     rate.
//
// Both report their sums as [Counts]. Recording costs O(1) atomic operations
// and never allocates; summing costs three loads per bucket ([Time]) or two
// per 64 calls ([Last]).
//
// # Concurrency
//
// Every method is safe for concurrent use and lock-free. A [Time] window
// keeps each bucket's lap in the same word as its count, so rolling a bucket
// over to a new lap and counting into it are one compare-and-swap: a roll
// can never clear a bucket under a concurrent increment. Sums taken while
// other goroutines record may miss calls still being recorded; they never
// count a call twice and never report more failures or slow calls than
// calls.
//
// # Testing
//
// Package [github.com/tripwire-go/tripwire/window/windowtest] holds
// brute-force models of both windows, for property tests of code built on
// them.
package window
