package policy

import (
	"time"

	"github.com/tripwire-go/tripwire/window"
)

// A Successor is a policy that can take over what another policy counted,
// for a breaker that takes a new policy while it runs
// (breaker.Breaker.Reconfigure): a Rate over a minute that replaces one
// over ten seconds starts with the ten seconds' calls, not empty. It is an
// optional extra of a [Policy], found by type assertion on the new policy
// and, through [Unwrapper], on what it wraps ([TakeOver] does the search).
//
// Every built-in policy is one: [Consecutive] takes over the streak of a
// Consecutive; [Window], [Rate] and [Slow] take over the calls of any of
// the three within their own span (a shorter window keeps the newest
// calls, a longer one all of them); [LastN] takes over the last calls of
// a LastN, as many as it holds; [Any] and [All] take over child by child
// from an Any or All of as many children. Other pairs start empty.
type Successor interface {
	// TakeOver counts into the policy, which has recorded nothing yet,
	// what prev counted up to now, and reports whether it could. It is
	// called once, before the policy records anything, while prev records
	// nothing, with no lock of the breaker held; it must not call the
	// breaker. prev is the old policy as the breaker had it: unwrap it
	// (see [Unwrapper]) to find what it wraps.
	TakeOver(prev Policy, now time.Time) bool
}

// TakeOver lets next take over what prev counted up to now, and reports
// whether it did: the first [Successor] found in next or in what it wraps
// ([Unwrapper]) is offered prev and, until one accepts, what prev wraps.
// A nil policy takes over nothing.
func TakeOver(next, prev Policy, now time.Time) bool {
	for next != nil {
		if s, ok := next.(Successor); ok {
			for p := prev; p != nil; p = unwrapped(p) {
				if s.TakeOver(p, now) {
					return true
				}
			}
			return false
		}
		next = unwrapped(next)
	}
	return false
}

// unwrapped is what p wraps, or nil: also when Unwrap returns a typed nil,
// which Bind refuses but an Unwrap may return later.
func unwrapped(p Policy) Policy {
	if u, ok := p.(Unwrapper); ok {
		if q := u.Unwrap(); q != nil && !isNil(q) {
			return q
		}
	}
	return nil
}

// TakeOver takes over the streak of prev if it is a *ConsecutivePolicy.
func (p *ConsecutivePolicy) TakeOver(prev Policy, _ time.Time) bool {
	q, ok := prev.(*ConsecutivePolicy)
	if ok {
		p.streak.Store(q.streak.Load())
	}
	return ok
}

// timeWindow gives the window of a time-window policy.
type timeWindow interface{ timeWindow() *window.Time }

func (p *timed) timeWindow() *window.Time { return p.win() }

// takeOver takes over the calls of prev, a time-window policy, within
// p's span.
func (p *timed) takeOver(prev Policy, now time.Time) bool {
	q, ok := prev.(timeWindow)
	if ok {
		p.win().TakeOver(q.timeWindow(), now)
	}
	return ok
}

// TakeOver takes over the calls of prev if it is a Window, Rate or Slow
// policy: those of its last over (to the precision of a bucket).
func (p *WindowPolicy) TakeOver(prev Policy, now time.Time) bool { return p.takeOver(prev, now) }

// TakeOver takes over the calls of prev if it is a Window, Rate or Slow
// policy: those of its last over (to the precision of a bucket).
func (p *RatePolicy) TakeOver(prev Policy, now time.Time) bool { return p.takeOver(prev, now) }

// TakeOver takes over the calls of prev if it is a Window, Rate or Slow
// policy: those of its last over (to the precision of a bucket). A call
// counted slow by prev stays slow, whatever the new threshold.
func (p *SlowPolicy) TakeOver(prev Policy, now time.Time) bool { return p.takeOver(prev, now) }

// TakeOver takes over the last calls of prev if it is a *LastNPolicy, as
// many as p holds.
func (p *LastNPolicy) TakeOver(prev Policy, _ time.Time) bool {
	q, ok := prev.(*LastNPolicy)
	if ok {
		p.w.TakeOver(q.w)
	}
	return ok
}

// takeOver takes over child by child from prev, an Any or All of as
// many children, and reports whether every child did.
func (g *group) takeOver(prev Policy, now time.Time) bool {
	var ps []Policy
	switch q := prev.(type) {
	case *AnyPolicy:
		ps = q.ps
	case *AllPolicy:
		ps = q.ps
	}
	if len(ps) != len(g.ps) {
		return false
	}
	all := true
	for i, p := range g.ps {
		all = TakeOver(p, ps[i], now) && all
	}
	return all
}

// TakeOver takes over child by child from prev, if it is an Any or All
// of as many children, and reports whether every child did.
func (p *AnyPolicy) TakeOver(prev Policy, now time.Time) bool { return p.takeOver(prev, now) }

// TakeOver takes over child by child from prev, if it is an Any or All
// of as many children, and reports whether every child did.
func (p *AllPolicy) TakeOver(prev Policy, now time.Time) bool { return p.takeOver(prev, now) }
