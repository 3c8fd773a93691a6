package group

import (
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// The cap on open keys (Config.MaxOpenShare, Config.KeepOneClosed).
//
// The cap bounds how much of the group's traffic is cut off, so its keys are
// the live ones: a shadow-only key (breaker.Config.ShadowOnly) rejects
// nothing whatever it decides, and is none of them. It takes no place and
// is not among the keys the share is of; its policy is not gated.
//
// A key holds a place in the cap while its circuit is not closed. What opens
// a key decides how the cap is kept:
//
//   - A key's own policy is asked through a gate: the group wraps the policy
//     of every breaker it builds (see gated), and a trip the policy asks for
//     goes through only if the key gets a place first. So a policy never
//     opens a key beyond the cap, not even for an instant, and the breaker
//     needs no hook: the wrapper is a policy like any other, and passes its
//     terms on through Unwrap.
//   - The outlier detector takes a place before it opens a key.
//   - Trip, TripFor, ForceOpen and an adopted decision (a fleet's) open the
//     circuit inside the breaker, where the group cannot refuse them: the
//     group sees the transition and, when there is no place for the key,
//     closes it again at once with Adopt (CauseExternal), before the call
//     that opened it returns. Between the two, calls of that key are
//     rejected: the cap holds for every open the group is asked about, and
//     for the others from the moment it hears of them.
//
// A key gives its place back when its circuit closes (the transition), or
// when its policy is reset on a closed circuit (a trip that the gate let
// through but that lost a race with a Reset or a Disable never opened it).
// Every key the group turned down is listed by KeptClosed, with why.

// KeptClosed describes a key that the group kept closed although something
// asked to open it, because the cap on open keys was reached: see
// [Group.KeptClosed].
type KeptClosed[K comparable] struct {
	// Key is the key kept closed.
	Key K
	// By is what asked to open it: "policy" (its own policy tripped),
	// "outlier" (the detector found it an outlier), "manual" (Trip,
	// TripFor or ForceOpen) or "external" (a decision adopted from a
	// coordinator).
	By string
	// At is when it was last turned down, on the group's clock.
	At time.Time
	// Times counts the requests turned down since the key was first kept
	// closed: a policy that wants to trip asks again at each failure.
	Times int
	// Open, Keys and Limit are, at the last refusal, the keys whose circuit
	// was not closed, the keys the group held, and the most that may be
	// open at once.
	Open, Keys, Limit int
}

// capState is the cap's bookkeeping. Lock order: the group's mu, then
// capState.mu, then a breaker's own locks (Metrics); never the other way.
type capState[K comparable] struct {
	mu      sync.Mutex
	share   float64 // Config.MaxOpenShare; 1: no share
	keepOne bool
	keys    int // keys the group holds
	held    int // keys holding a place
	kept    map[K]*KeptClosed[K]
	// afterStateRead, in tests, runs in policyReset and allowTrip between
	// their read of the breaker's state and what they decide from it, and
	// in capTransition between its decision and its close. beforeEvict,
	// in tests, runs in evictIfLocked before it looks at the cap.
	afterStateRead func()
	beforeEvict    func()
}

// limitFor returns how many of n keys may be open at once. As with Envoy's
// max_ejection_percent, a share lets at least one key open whatever n is;
// KeepOneClosed then keeps one of the n closed, even if that leaves none to
// open.
func (c *capState[K]) limitFor(n int) int {
	l := n
	if c.share < 1 {
		// The epsilon absorbs the rounding of share*n (0.29*100 is
		// 28.999999999999996).
		l = max(int(math.Floor(c.share*float64(n)+1e-9)), 1)
	}
	if c.keepOne {
		l = min(l, n-1)
	}
	return max(l, 0)
}

// takeLocked gives e a place if it has none and one is free, and reports
// whether e holds one now.
func (c *capState[K]) takeLocked(e *entryMark) bool {
	if e.slot {
		return true
	}
	if c.held >= c.limitFor(c.keys) {
		return false
	}
	e.slot = true
	c.held++
	return true
}

// giveLocked gives e's place back, if it holds one.
func (c *capState[K]) giveLocked(e *entryMark) {
	if e.slot {
		e.slot = false
		c.held--
	}
}

// refusedLocked notes that key was kept closed.
func (c *capState[K]) refusedLocked(key K, by string, now time.Time, open int) {
	k := c.kept[key]
	if k == nil {
		k = &KeptClosed[K]{Key: key}
		c.kept[key] = k
	}
	k.By, k.At, k.Open, k.Keys, k.Limit = by, now, open, c.keys, c.limitFor(c.keys)
	k.Times++
}

// entryMark is what the cap and the detector keep of one breaker.
type entryMark struct {
	// slot: the key holds a place in the cap. out: the group does not
	// hold the breaker (not yet, or not any more). Guarded by
	// capState.mu.
	slot, out bool
	// opens counts the transitions of the breaker to a state that is not
	// closed that the cap has heard of (see policyReset). Guarded by
	// capState.mu.
	opens uint64
	// successes and failures are the breaker's counts at the last
	// evaluation of the detector. Guarded by the detector's mutex.
	successes, failures uint64
	// ej is the detector's memory of the key's ejections. Guarded by the
	// group's lock; the group keeps it when it evicts the key (see
	// Group.memory).
	ej ejectRecord
}

// gated wraps the policy of a key of a capped group: a trip the policy asks
// for goes through only if the key gets a place in the cap.
type gated[K comparable, T any] struct {
	p   policy.Policy
	g   *Group[K, T]
	key K
	e   *entry[T]
}

// Unwrap returns the key's own policy, so that breaker.New binds it (its
// needs, its probe judge, its claim) as if it were not wrapped.
func (w *gated[K, T]) Unwrap() policy.Policy { return w.p }

// Record records c with the key's policy; a trip goes through only if the
// key holds a place in the cap or gets one. It runs inside the breaker's
// Record, so it calls nothing that could wait for it (no Reset, no Adopt,
// no user code): only Metrics, which the breaker allows there.
func (w *gated[K, T]) Record(c policy.Call) bool {
	return w.p.Record(c) && w.g.allowTrip(w.key, w.e)
}

// Reset resets the key's policy. On a closed circuit it also gives back a
// place that a trip took and never used (the trip lost a race with a Reset
// or a Disable); an open or half-open one keeps its place until the
// transition that closes it.
func (w *gated[K, T]) Reset() {
	w.p.Reset()
	w.g.policyReset(w.key, w.e)
}

// allowTrip decides a trip that the policy of key asked for.
func (g *Group[K, T]) allowTrip(key K, e *entry[T]) bool {
	c := g.cap
	now := g.now() // before the lock: a Clock is the user's code
	c.mu.Lock()
	if e.mark.slot {
		c.mu.Unlock()
		return true
	}
	if e.mark.out {
		// The group does not hold it: if it opens, opened takes it back
		// and the transition is checked then.
		c.mu.Unlock()
		return true
	}
	if !c.takeLocked(&e.mark) {
		c.refusedLocked(key, "policy", now, c.held)
		c.mu.Unlock()
		return false
	}
	delete(c.kept, key)
	opens := e.mark.opens
	c.mu.Unlock()
	// A Disable that came after Record read its word mutes the circuit:
	// the trip cannot happen, and the Disable's transition may have been
	// delivered before the place was taken. Looking after taking it
	// closes that race: a Disable published later is delivered later, and
	// gives the place back then. An open that lands after the look (a Trip
	// ends the Disable) keeps the place: opens tells.
	if m := e.b.Metrics(); m.Mode == breaker.ModeDisabled {
		if c.afterStateRead != nil {
			c.afterStateRead()
		}
		c.mu.Lock()
		if e.mark.opens == opens {
			c.giveLocked(&e.mark)
		}
		c.mu.Unlock()
		return false
	}
	return true
}

// policyReset is called when the policy of key was reset: the circuit
// closes, or was closed and is reset. A key that wanted to trip does not
// any more.
func (g *Group[K, T]) policyReset(key K, e *entry[T]) {
	c := g.cap
	if e.b == nil {
		return
	}
	// The policy is reset with no lock of the breaker held: a Trip (or
	// another open) may land between the read of the state and the give,
	// and take the key its place. A give after that would leave the key
	// open without one; opens tells that one came.
	c.mu.Lock()
	opens := e.mark.opens
	c.mu.Unlock()
	m := e.b.Metrics()
	if c.afterStateRead != nil {
		c.afterStateRead()
	}
	c.mu.Lock()
	if m.State == breaker.Closed && e.mark.opens == opens {
		c.giveLocked(&e.mark)
	}
	if !e.mark.out {
		delete(c.kept, key)
	}
	c.mu.Unlock()
}

// capTransition keeps the cap after a transition of key's breaker e. It
// runs as the breaker's OnTransition, with no lock held.
func (g *Group[K, T]) capTransition(key K, e *entry[T], t breaker.Transition) {
	c := g.cap
	if t.To == breaker.Closed {
		if t.From != breaker.Closed || t.Mode == breaker.ModeDisabled {
			c.mu.Lock()
			c.giveLocked(&e.mark)
			c.mu.Unlock()
		}
		return
	}
	c.mu.Lock()
	e.mark.opens++
	if e.mark.out {
		c.mu.Unlock()
		return
	}
	if c.takeLocked(&e.mark) {
		delete(c.kept, key) // it is open: kept closed no more
		c.mu.Unlock()
		return
	}
	by := "manual"
	if t.Cause == breaker.CauseExternal {
		by = "external"
	} else if t.Cause == breaker.CausePolicy || t.Cause == breaker.CauseProbe {
		by = "policy"
	}
	open := c.held
	var times int // the refusals before this one
	if k := c.kept[key]; k != nil {
		times = k.Times
	}
	c.mu.Unlock()
	if c.afterStateRead != nil {
		c.afterStateRead()
	}
	// No place: close it again, at the generation of t only. A change
	// made since (an operator's ForceOpen or Reset, a place freed and a
	// Trip) stands, and its own transition is checked when it is
	// delivered, after this one: a close decided on t must not undo it.
	// Adopt resets the policy, which drops the key's record (a key whose
	// policy is reset stopped asking), so the refusal is noted after it,
	// with the count from before.
	if !e.b.AdoptAt(t.Generation, breaker.Adoption{Kind: breaker.AdoptClose, Who: "group cap",
		Why: "kept closed: " + strconv.Itoa(open) + " keys open already, the most the group's cap allows (opened by " + by + ")"}) {
		return
	}
	now := g.now()
	c.mu.Lock()
	if !e.mark.out { // else evicted meanwhile: the list holds no key the group does not
		if _, ok := c.kept[key]; !ok && times > 0 {
			c.kept[key] = &KeptClosed[K]{Key: key, Times: times}
		}
		c.refusedLocked(key, by, now, open)
	}
	c.mu.Unlock()
}

// evictIfLocked evicts e, the breaker of key (whose circuit may be
// forgotten), unless that would leave more keys open than the cap allows
// (one key fewer may lower the limit), and reports whether it did. The
// check and the count out are one step under the cap's lock: a trip of
// another key that takes a place in between (allowTrip, capTransition: they
// hold no lock of the group's) would otherwise find the limit of one key
// more. Called with the group's lock held.
func (g *Group[K, T]) evictIfLocked(key K, e *entry[T]) bool {
	if c := g.cap; c != nil && !e.shadowOnly {
		if c.beforeEvict != nil {
			c.beforeEvict()
		}
		c.mu.Lock()
		if !e.mark.slot && c.held > c.limitFor(c.keys-1) {
			c.mu.Unlock()
			return false
		}
		c.outLocked(key, &e.mark)
		c.mu.Unlock()
	}
	g.forgetLocked(key, e)
	return true
}

// capInLocked counts e in, as a key the group holds now. Called with the
// group's lock held.
func (g *Group[K, T]) capInLocked(e *entry[T]) {
	if c := g.cap; c != nil && !e.shadowOnly {
		c.mu.Lock()
		c.keys++
		e.mark.out = false
		c.mu.Unlock()
	}
}

// capOutLocked counts e out, as a key the group no longer holds: its place,
// if it holds one, is free again, and so is any record of it. Called with
// the group's lock held.
func (g *Group[K, T]) capOutLocked(key K, e *entry[T]) {
	if c := g.cap; c != nil && !e.shadowOnly {
		c.mu.Lock()
		c.outLocked(key, &e.mark)
		c.mu.Unlock()
	}
}

// outLocked is capOutLocked with the cap's lock held.
func (c *capState[K]) outLocked(key K, e *entryMark) {
	c.giveLocked(e)
	c.keys--
	e.out = true
	delete(c.kept, key)
}

// KeptClosed returns the keys that the group kept closed, because the cap
// on open keys (Config.MaxOpenShare, Config.KeepOneClosed) was reached,
// since anything last asked to open them: most recent first. A key leaves
// the list when its circuit opens, when its policy is reset (it closed, or
// stopped asking), or when the group evicts it. Without a cap it returns
// nil.
func (g *Group[K, T]) KeptClosed() []KeptClosed[K] {
	c := g.cap
	if c == nil {
		return nil
	}
	c.mu.Lock()
	out := make([]KeptClosed[K], 0, len(c.kept))
	for _, k := range c.kept {
		out = append(out, *k)
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b KeptClosed[K]) int { return b.At.Compare(a.At) })
	return out
}

// OpenLimit returns how many of the group's keys hold a place in the cap
// (their circuit is not closed, or a trip of theirs is under way), and how
// many may at once now. Without a cap, open is 0 and limit is the number
// of keys.
func (g *Group[K, T]) OpenLimit() (open, limit int) {
	c := g.cap
	if c == nil {
		return 0, g.Len()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held, c.limitFor(c.keys)
}
