package policy

import (
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// A Shedder rejects a share of the calls of a closed circuit before they
// run: the breaker asks it, for each call it would admit closed, whether
// to shed that call, and rejects the call (with an error wrapping
// breaker.ErrOpen and breaker.ErrThrottled) if so. A shed call never
// runs, and never reaches the policy's Record. A policy names its shedder
// when it is bound ([Binding.Shed]); a breaker whose policy names none
// asks nothing and pays nothing for it. Shed must be safe for concurrent
// use, quick, and must not call the breaker.
type Shedder interface {
	Shed(now time.Time) bool
}

// Shed makes s the shedder of the policy being bound. The shedders of the
// children of [Any] and [All] are all asked: a call is shed when one of
// them sheds it. On a Binding that Bind did not make it does nothing.
func (b *Binding) Shed(s Shedder) {
	if b.live() && s != nil {
		b.terms.Shedder = joinShedders(b.terms.Shedder, s)
	}
}

// joinShedders returns a shedder that sheds what a or b sheds.
func joinShedders(a, b Shedder) Shedder {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return anyShedder{a, b}
}

type anyShedder [2]Shedder

func (s anyShedder) Shed(now time.Time) bool { return s[0].Shed(now) || s[1].Shed(now) }

// ThrottleTrickle is the smallest share of calls a [Throttle] lets
// through, however badly the dependency does: those calls are how it sees
// the dependency come back.
const ThrottleTrickle = 0.05

// throttleBuckets is how many buckets a Throttle's window has.
const throttleBuckets = 10

// ThrottlePolicy sheds load in the manner of Google's SRE client-side
// throttling; see [Throttle]. Its zero value is not usable. It is safe for
// concurrent use.
type ThrottlePolicy struct {
	owner
	k    float64
	over time.Duration

	mu      sync.Mutex
	width   int64 // of a bucket, in nanoseconds
	buckets [throttleBuckets]throttleBucket
	rand    func() float64
}

type throttleBucket struct {
	slot           int64 // which span of time it counts: the time / width
	requests, accs int64
}

// Throttle returns a policy that sheds a share of the calls of a closed
// circuit, rising as the dependency fails and falling as it answers:
// within the trailing over, with requests the calls that ran and accepts
// those that succeeded, each call is shed with probability
//
//	p = max(0, (requests − k·accepts) / (requests + 1))
//
// capped at 1 − ThrottleTrickle, so that a trickle of calls always runs.
// Unlike the SRE book's client, and go-zero's and kratos', the calls it
// sheds are not counted as requests: counting them keeps p high long
// after the dependency recovered (go-zero #4101), while the trickle alone
// tells it when the dependency is back. k ≥ 1 is how many requests per
// accepted one it tolerates before it sheds: 2 is the SRE book's
// suggestion; larger sheds later.
//
// Throttle never trips the circuit: it throttles a degraded dependency.
// Give it a hard-trip policy beside it to open the circuit when the
// dependency is down, as policy.Any(policy.Throttle(2, 10*time.Second),
// policy.Consecutive(20)). It needs the time of each call. Its randomness
// is math/rand/v2's unless [ThrottlePolicy.WithRand] says otherwise.
func Throttle(k float64, over time.Duration) *ThrottlePolicy {
	p := &ThrottlePolicy{k: k, over: over, rand: rand.Float64}
	if over > 0 {
		p.width = max(int64(over)/throttleBuckets, 1)
	}
	return p
}

// WithRand makes r the throttle's source of randomness: a number in
// [0, 1) per call it could shed (a value outside it counts as 0, which
// sheds). For tests and simulations that must repeat. It returns p.
func (p *ThrottlePolicy) WithRand(r func() float64) *ThrottlePolicy {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r != nil {
		p.rand = r
	}
	return p
}

// Bind checks the arguments (k at least 1 and finite, over positive), asks
// for the time of each call and names the throttle as the breaker's
// shedder.
func (p *ThrottlePolicy) Bind(b *Binding) error {
	if !(p.k >= 1) || math.IsInf(p.k, 0) {
		return argError("Throttle", "k", "must be a finite number of at least 1, got "+strconv.FormatFloat(p.k, 'g', -1, 64))
	}
	if err := positive("Throttle", "over", p.over); err != nil {
		return err
	}
	b.NeedTimeWithin(time.Duration(p.width) / 4)
	b.Shed(p)
	b.Explain(p)
	return p.claim(b)
}

// slotOf returns the bucket span of t.
func (p *ThrottlePolicy) slotOf(t time.Time) int64 {
	n := t.UnixNano()
	s := n / p.width
	if n%p.width < 0 {
		s--
	}
	return s
}

// Record counts a call that ran. It never trips the circuit.
func (p *ThrottlePolicy) Record(c Call) bool {
	s := p.slotOf(c.At)
	p.mu.Lock()
	defer p.mu.Unlock()
	bk := &p.buckets[uint64(s)%throttleBuckets]
	if bk.slot != s {
		*bk = throttleBucket{slot: s}
	}
	bk.requests++
	if !c.Failed {
		bk.accs++
	}
	return false
}

// counts returns the requests and accepts of the window that ends at
// now. Called with mu held.
func (p *ThrottlePolicy) counts(now time.Time) (requests, accepts int64) {
	s := p.slotOf(now)
	for i := range p.buckets {
		if bk := &p.buckets[i]; bk.slot > s-throttleBuckets && bk.slot <= s {
			requests += bk.requests
			accepts += bk.accs
		}
	}
	return requests, accepts
}

// ShedProbability returns the share of calls the throttle sheds at now.
func (p *ThrottlePolicy) ShedProbability(now time.Time) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.shedLocked(now)
}

func (p *ThrottlePolicy) shedLocked(now time.Time) float64 {
	r, a := p.counts(now)
	q := (float64(r) - p.k*float64(a)) / float64(r+1)
	return min(max(q, 0), 1-ThrottleTrickle)
}

// Shed reports whether to shed one call at now: with the probability
// ShedProbability gives.
func (p *ThrottlePolicy) Shed(now time.Time) bool {
	p.mu.Lock()
	q := p.shedLocked(now)
	if q <= 0 {
		p.mu.Unlock()
		return false
	}
	u := p.rand()
	p.mu.Unlock()
	if !(u >= 0 && u < 1) {
		u = 0
	}
	return u < q
}

// Reset forgets every call.
func (p *ThrottlePolicy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buckets = [throttleBuckets]throttleBucket{}
}

// Explain gives the throttle's account at now: what it counted and the
// share it sheds. A throttle never trips, so Tripped is false.
func (p *ThrottlePolicy) Explain(now time.Time) Account {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, a := p.counts(now)
	q := p.shedLocked(now)
	return Account{Rule: "throttle", Counted: r - a, Calls: r, Over: p.over,
		Text: "throttle: " + strconv.FormatInt(a, 10) + " of " + strconv.FormatInt(r, 10) + " calls succeeded in the last " + p.over.String() +
			", shedding " + strconv.FormatFloat(100*q, 'f', 1, 64) + "% (k=" + strconv.FormatFloat(p.k, 'g', -1, 64) + ")"}
}

// String describes the policy, for logs and the lab.
func (p *ThrottlePolicy) String() string {
	return "throttle(" + strconv.FormatFloat(p.k, 'g', -1, 64) + "," + p.over.String() + ")"
}
