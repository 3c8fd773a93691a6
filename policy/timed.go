package policy

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/window"
)

// timed is what the time-window policies share: a [window.Time] over the
// trailing over, and the claim of the policy that holds it. Their Record
// methods take no lock, do not allocate and read no clock: the only time
// they use is Call.At, which the breaker sets because they need NeedTime.
//
// The window's edge is precise to one of its [window.Buckets] buckets: a
// call counts until it is over old, less at most over/16. They ask for the
// time of a call to within a quarter of a bucket (NeedTimeWithin), so that
// a breaker on the real clock need not read the clock for every call.
//
// Reset gives the policy a new window rather than clearing the one it
// has, and a reconfiguration seals the window of the policy it replaces:
// so a breaker records a closed success into a Window or a Rate without
// its Record fence (see internal/fastrec and fast.go).
type timed struct {
	owner
	over time.Duration
	cur  atomic.Pointer[window.Time]
}

// init gives the policy its window over the trailing over. A
// non-positive over, which Bind reports, gets the shortest window, so
// that an unvalidated policy still never panics.
func (p *timed) init(over time.Duration) {
	p.over = over
	p.cur.Store(window.NewTime(over))
}

// win returns the policy's current window.
func (p *timed) win() *window.Time { return p.cur.Load() }

// Reset forgets every call recorded: the policy takes a new window, which
// keeps what window.Time.Reset keeps (the newest time seen). A call
// recording into the old one meanwhile counts into a window that is no
// longer read.
func (p *timed) Reset() { p.cur.Store(renewed(p.cur.Load())) }

// judge reports whether the share of the window's calls that part counts
// reaches the ratio, given part and the calls from RecordBounds: exact
// when exact is set (the call had marks), else a lower bound. A share
// below the ratio with fewer calls stays below it with more (float64
// division is monotonic), so most verdicts of a healthy window need
// nothing more; the others sum the window exactly, and take its slow
// calls for part when slow is set, else its failures.
func (s share) judge(w *window.Time, at time.Time, part, atLeast int64, exact, slow bool) bool {
	if exact {
		return s.reached(part, atLeast)
	}
	if part == 0 && s.ratio > 0 || float64(part)/float64(atLeast) < s.ratio {
		return false // a healthy window: no division for none
	}
	c := w.Sum(at)
	if slow {
		return s.reached(c.Slow, c.Calls)
	}
	return s.reached(c.Failures, c.Calls)
}

// bind checks the arguments by validate, asks for the time each call
// finished, to within a quarter of a bucket, and claims the policy.
func (p *timed) bind(b *Binding, validate error) error {
	if validate != nil {
		return validate
	}
	b.NeedTimeWithin(p.win().Width() / timeWithinBucket)
	return p.claim(b)
}

// lineSize is the size of a cache line. Window, Rate and Slow are padded
// to it: every call reads them, and Go's allocator places an object of 64
// bytes on a line of its own, where one of 32 or 40 shared its line with
// whatever came next, read on every call and written perhaps on every
// call by another core. (A Window of 32 bytes sat beside the testing.PB of
// a parallel benchmark, which its goroutine writes on every call: its
// parallel Records cost 1.5 to 1.9 times its serial ones, where Rate's, on
// the same window, cost half; see TestTimedPoliciesFillTheirLines.)
const lineSize = 64

// timeWithinBucket is how many times finer than a bucket the time-window
// policies need the time of a call: a call placed in its bucket by a time
// up to a quarter of a bucket early leaves the window at most that much
// early, so the window's edge is precise to 1.25 buckets, not 1.
const timeWithinBucket = 4

// WindowPolicy trips when enough calls have failed within a trailing span
// of time. Build one with [Window]; the zero value is not usable.
//
// It is safe for concurrent use. Record takes no lock and does not
// allocate.
type WindowPolicy struct {
	timed
	failures int64
	_        [64 - 32]byte // a cache line of its own: see lineSize
}

// Window returns a policy that trips when failures calls have failed within
// the trailing over: Window(5, time.Minute) opens the circuit at the fifth
// failure in a minute.
//
// Use it when failures are rare but a burst of them means trouble, whatever
// the number of successes in between: unlike [Consecutive], a success does
// not excuse the failures before it, and unlike [Rate], a busy minute does
// not dilute them. The window's edge is precise to over/16 (see
// [window.Time]), and a breaker on the real clock may time a call up to
// over/64 early (see [Binding.NeedTimeWithin]), which moves it by as much. A failures below 1 or an over that is not positive is
// reported by breaker.New as an invalid configuration.
func Window(failures int, over time.Duration) *WindowPolicy {
	p := &WindowPolicy{failures: int64(failures)}
	p.init(over)
	return p
}

// Record counts c at c.At and reports whether the failures within the
// window reach the threshold. It reports that on every call, successes
// included, so that [All] can combine it.
func (p *WindowPolicy) Record(c Call) bool {
	// The verdict needs no call count: RecordBounds gives the failures
	// exactly and spares the sum of every core's call counts.
	return p.win().RecordBounds(c.At, window.Mark(c.Failed, false)).Failures >= max(p.failures, 1)
}

// Bind reports a failures below 1 or an over that is not positive, asks
// for the time of each call, and claims the policy for one breaker.
func (p *WindowPolicy) Bind(b *Binding) error {
	b.Explain(p)
	return p.bind(b, firstError(atLeast("Window", "failures", p.failures, 1), positive("Window", "over", p.over)))
}

// String describes the policy, for logs and the lab.
func (p *WindowPolicy) String() string {
	return "window(" + strconv.FormatInt(p.failures, 10) + ", " + p.over.String() + ")"
}

// RatePolicy trips when a large enough share of the calls within a
// trailing span of time failed. Build one with [Rate]; the zero value is
// not usable.
//
// It is safe for concurrent use. Record takes no lock and does not
// allocate.
type RatePolicy struct {
	timed
	share
	_ [64 - 40]byte // a cache line of its own: see lineSize
}

// Rate returns a policy that trips when, within the trailing over, at least
// minCalls calls finished and failed/total >= ratio: Rate(0.5, 20,
// time.Minute) opens the circuit once half of the calls of the last minute
// failed, provided there were 20 of them.
//
// Use it for a busy dependency whose errors come in proportion to its
// traffic: a ratio does not need retuning when the traffic grows, and
// minCalls keeps a quiet minute's two calls, one of them failed, from
// opening the circuit. It is judged on every call: a success can trip it
// too, once older successes have left the window. The window's edge is
// precise to over/16 (see [window.Time]), and a breaker on the real clock
// may time a call up to over/64 early (see [Binding.NeedTimeWithin]). A ratio outside (0, 1], a
// minCalls below 1 or an over that is not positive is reported by
// breaker.New as an invalid configuration.
func Rate(ratio float64, minCalls int, over time.Duration) *RatePolicy {
	p := &RatePolicy{share: share{ratio, int64(minCalls)}}
	p.init(over)
	return p
}

// Record counts c at c.At and reports whether the share of failures within
// the window reaches the ratio.
func (p *RatePolicy) Record(c Call) bool {
	m, w := window.Mark(c.Failed, false), p.win()
	s := w.RecordBounds(c.At, m)
	return p.judge(w, c.At, s.Failures, s.Calls, m != 0, false)
}

// Bind reports a ratio outside (0, 1], a minCalls below 1 or an over that
// is not positive, asks for the time of each call, and claims the policy
// for one breaker.
func (p *RatePolicy) Bind(b *Binding) error {
	b.Explain(p)
	return p.bind(b, firstError(p.share.validate("Rate"), positive("Rate", "over", p.over)))
}

// String describes the policy, for logs and the lab.
func (p *RatePolicy) String() string {
	return "rate(" + p.share.String() + ", " + p.over.String() + ")"
}

// SlowPolicy trips when a large enough share of the calls within a
// trailing span of time were slow. Build one with [Slow]; the zero value is
// not usable.
//
// It is safe for concurrent use. Record takes no lock and does not
// allocate.
type SlowPolicy struct {
	timed
	share
	threshold time.Duration
	_         [64 - 48]byte // a cache line of its own: see lineSize
}

// Slow returns a policy that trips when, within the trailing over, at least
// minCalls calls finished and the share of them that ran longer than
// threshold reaches ratio: Slow(time.Second, 0.8, 20, time.Minute) opens
// the circuit once 80% of the last minute's calls (20 at least) took more
// than a second, whether they failed or not.
//
// Use it for a dependency that degrades by getting slow before it fails:
// opening early sheds load from it and stops callers from queueing behind
// it. Combine it with a failure policy with [Any]. The window's edge is
// precise to over/16 (see [window.Time]). A threshold or over that is not
// positive, a ratio outside (0, 1] or a minCalls below 1 is reported by
// breaker.New as an invalid configuration.
func Slow(threshold time.Duration, ratio float64, minCalls int, over time.Duration) *SlowPolicy {
	p := &SlowPolicy{share: share{ratio, int64(minCalls)}, threshold: threshold}
	p.init(over)
	return p
}

// Record counts c at c.At, as slow if c.Duration() is above the threshold,
// and reports whether the share of slow calls within the window reaches
// the ratio.
func (p *SlowPolicy) Record(c Call) bool {
	m, w := window.Mark(c.Failed, c.Duration() > p.threshold), p.win()
	s := w.RecordBounds(c.At, m)
	return p.judge(w, c.At, s.Slow, s.Calls, m != 0, true)
}

// Bind reports a threshold that is not positive, a ratio outside (0, 1], a
// minCalls below 1, an over that is not positive, or a threshold that is
// longer than over (the arguments swapped: Slow(time.Minute, 0.8, 20,
// time.Second) would count calls slower than the window is long); asks for
// the time each call finished and how long it ran; judges half-open probes
// by the threshold (see [ProbeJudge]); and claims the policy for one
// breaker.
func (p *SlowPolicy) Bind(b *Binding) error {
	err := firstError(positive("Slow", "threshold", p.threshold), p.share.validate("Slow"), positive("Slow", "over", p.over))
	if err == nil && p.threshold > p.over {
		err = argError("Slow", "threshold", "must be at most over ("+p.over.String()+"), got "+p.threshold.String()+": are threshold and over swapped?")
	}
	if err := p.bind(b, err); err != nil {
		return err
	}
	b.Need(NeedDuration)
	b.JudgeProbes(slowJudge(p.threshold))
	b.Explain(p)
	return nil
}

// String describes the policy, for logs and the lab.
func (p *SlowPolicy) String() string {
	return "slow(" + p.threshold.String() + ", " + p.share.String() + ", " + p.over.String() + ")"
}
