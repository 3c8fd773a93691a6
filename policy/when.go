package policy

import (
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/window"
)

// Counts are what a [When] predicate judges: the sums of the trailing
// window and the current streak, each including the call just recorded.
// A plain value; the zero value is the counts of a circuit that has
// recorded nothing.
type Counts struct {
	// Calls is how many calls finished within the window.
	Calls int64
	// Failures is how many of them failed.
	Failures int64
	// Slow is how many of them ran longer than the threshold of
	// [SlowerThan]: always 0 without that option.
	Slow int64
	// ConsecutiveFailures is how many calls in a row have failed, up to
	// the one just recorded: 0 if it succeeded. Streaks ignore the window:
	// a run of failures a day long is one run.
	ConsecutiveFailures int64
	// ConsecutiveSuccesses is how many calls in a row have succeeded, up
	// to the one just recorded: 0 if it failed.
	ConsecutiveSuccesses int64
}

// A WhenOption changes what a [When] policy counts.
type WhenOption func(*WhenPolicy)

// SlowerThan makes a [When] policy count, in Counts.Slow, the calls that
// ran longer than threshold, failed or not, and judge half-open probes as
// [Slow] does: a probe that succeeded but ran longer than threshold counts
// as failed, since closing on it would let the next slow calls trip the
// circuit again. The policy then needs each call's duration. A threshold
// that is not positive, or longer than the window, is refused when the
// policy is bound.
func SlowerThan(threshold time.Duration) WhenOption {
	return func(p *WhenPolicy) { p.threshold, p.slow = threshold, true }
}

// WhenPolicy trips when a function of the counts of a trailing window and
// of the current streaks says so. Build one with [When]; the zero value is
// not usable.
//
// It is safe for concurrent use. Record takes no lock and does not
// allocate, besides what the predicate does: it counts into a
// [window.Time], as [Window] does, and keeps the streak in one atomic word.
// Under concurrent calls the streak and the window's sums are each exact
// for some order of the calls, but they are read one after the other, so a
// predicate may see a streak that has moved on since the sums were taken.
type WhenPolicy struct {
	timed
	trip      func(Counts) bool
	threshold time.Duration
	slow      bool // SlowerThan was given
	// streak is the current run: n > 0 is n failures in a row, n < 0 is
	// -n successes in a row.
	streak atomic.Int64
}

// When returns a policy that calls trip with the [Counts] of the trailing
// over after every call, and opens the circuit when it returns true:
//
//	policy.When(10*time.Second, func(c policy.Counts) bool {
//		return c.Failures >= 5 && c.Failures*2 >= c.Calls
//	})
//
// opens it at the fifth failure in 10s, once failures are at least half
// of the calls. Use it when no built-in policy says what you mean, or to
// port a sony/gobreaker ReadyToTrip in one line: gobreaker's default,
// ConsecutiveFailures > 5, is policy.When(over, func(c policy.Counts) bool
// { return c.ConsecutiveFailures > 5 }). gobreaker's Counts clear every
// Interval; a When window slides, and its streaks span windows.
//
// trip is called on every call, successes included, from as many
// goroutines as there are concurrent calls: it must be fast, safe for
// concurrent use, and should not block. The window's edge is precise to
// over/16 (see [window.Time]). An over that is not positive or a nil trip
// is reported by breaker.New as an invalid configuration. opts may ask for
// slow calls to be counted ([SlowerThan]).
func When(over time.Duration, trip func(c Counts) bool, opts ...WhenOption) *WhenPolicy {
	p := &WhenPolicy{trip: trip}
	p.init(over)
	for _, o := range opts {
		if o != nil {
			o(p)
		}
	}
	return p
}

// Record counts c at c.At (as slow if c.Duration() is above the threshold
// of SlowerThan), moves the streak on, and reports what trip says of the
// counts.
func (p *WhenPolicy) Record(c Call) bool {
	s := p.win().RecordSum(c.At, window.Mark(c.Failed, p.slow && c.Duration() > p.threshold))
	n := Counts{Calls: s.Calls, Failures: s.Failures, Slow: s.Slow}
	if c.Failed {
		n.ConsecutiveFailures = p.step(1)
	} else {
		n.ConsecutiveSuccesses = -p.step(-1)
	}
	if p.trip == nil {
		return false // refused by Bind; an unbound policy must not panic
	}
	return p.trip(n)
}

// step extends the streak by d (1: a failure, -1: a success) if it runs
// the same way, or starts a new one, and returns it. A compare-and-swap
// loop: lock-free, and exact for the order in which the swaps land.
func (p *WhenPolicy) step(d int64) int64 {
	for {
		old := p.streak.Load()
		next := d
		if old != 0 && (old > 0) == (d > 0) {
			next = old
			if old != maxStreak*d {
				next = old + d
			}
		}
		if next == old || p.streak.CompareAndSwap(old, next) {
			return next
		}
	}
}

// maxStreak is where a streak stops counting, rather than wrap.
const maxStreak = 1<<63 - 1

// Reset forgets every call recorded, and the streak.
func (p *WhenPolicy) Reset() {
	p.timed.Reset()
	p.streak.Store(0)
}

// Bind reports an over that is not positive, a nil trip, or a threshold
// of SlowerThan that is not positive or is longer than over; asks for the
// time of each call (and with SlowerThan its duration, and judges probes
// by the threshold); and claims the policy for one breaker.
func (p *WhenPolicy) Bind(b *Binding) error {
	err := positive("When", "over", p.over)
	if err == nil && p.trip == nil {
		err = argError("When", "trip", "is nil")
	}
	if err == nil && p.slow {
		if err = positive("When", "SlowerThan", p.threshold); err == nil && p.threshold > p.over {
			err = argError("When", "SlowerThan", "must be at most over ("+p.over.String()+"), got "+p.threshold.String())
		}
	}
	if err := p.bind(b, err); err != nil {
		return err
	}
	b.Explain(p)
	if p.slow {
		b.Need(NeedDuration)
		b.JudgeProbes(slowJudge(p.threshold))
	}
	return nil
}

// String describes the policy, for logs and the lab. The predicate is a
// function, so it shows as "func".
func (p *WhenPolicy) String() string {
	s := "when(" + p.over.String() + ", func"
	if p.slow {
		s += ", slowerThan(" + p.threshold.String() + ")"
	}
	return s + ")"
}
