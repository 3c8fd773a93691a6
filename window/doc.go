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
// Both take each call's [Marks] (Failed, Slow: a set, so that a kind added
// later changes no caller) and report their sums as [Counts]. Recording costs O(1) atomic operations
// and never allocates; summing costs a few loads ([Time], which caches the
// sum of the buckets behind the newest one; two loads per bucket and one
// per bucket and stripe when the newest bucket has just changed) or two per 64 calls ([Last]).
// [Time.RecordSum] records a call and sums the window in one pass, for code
// that judges the window on every call; [Time.RecordBounds] does so
// reading only the calling goroutine's share of the call counts, for code
// that can judge from a lower bound of the calls most of the time.
//
// A [Time] window counts calls in stripes, one per few cores, picked by the
// recording goroutine: concurrent calls on different cores write different
// cache lines, so recording does not get slower as cores are added.
// [Last] orders every call by one position, which every call writes.
//
// # Concurrency
//
// Every method is safe for concurrent use and lock-free. A [Time] window
// keeps each bucket's lap in the same word as its count, so rolling a bucket
// over to a new lap and counting into it are one compare-and-swap: a roll
// can never clear a bucket under a concurrent increment. Its cached sum of
// the older buckets is keyed by the newest bucket, and a call counted into
// an older bucket by a goroutine that lost a race with the roll spoils it,
// so once a Record has returned no cached sum misses its call. Sums taken
// while other goroutines record may miss calls still being recorded; they
// never count a call twice and never report more failures or slow calls
// than calls.
//
// # Time
//
// A [Time] window never reads a clock; it is given the time of each call.
// A time with a monotonic reading (from time.Now, or the breaker's real
// clock) is placed by that reading, so a step of the wall clock moves no
// call in or out of a window; a plain value (a mock clock's) by its wall
// time. Lap tags carry a live bit that no empty slot has, so the encoding
// is the same at every date: 1970, today, past 2038 and up to the end of
// int64 nanoseconds in 2262, where times saturate. The zero time is the
// one refused, with a panic that says which request was lost (see
// [Time]).
//
// # Testing
//
// Package [github.com/tripwire-go/tripwire/window/windowtest] holds
// brute-force models of both windows, for property tests of code built on
// them.
package window
