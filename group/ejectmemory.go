package group

import (
	"math"
	"time"

	"github.com/tripwire-go/tripwire/internal/fsm"
)

// DefaultMaxEjectFactor is how many times Outliers.EjectFor an ejection
// that remembers (Outliers.EjectForget) may last at most, as
// breaker.DefaultBackoffMaxFactor bounds a backoff.
const DefaultMaxEjectFactor = 10

// ejectBase is how long an ejection of e lasts without memory:
// Outliers.EjectFor, or else e's open timeout.
func (g *Group[K, T]) ejectBase(e *entry[T]) time.Duration {
	if d := g.detect.cfg.EjectFor; d != 0 {
		return d
	}
	return e.b.OpenTiming().Timeout
}

// rememberEjection returns how long to eject e at now, and notes the
// ejection; undo takes the note back (the ejection did not happen) unless
// another was noted since. Without Outliers.EjectForget it returns the
// base length and notes nothing. The law is the breaker's backoff memory
// (fsm.Forgive): earlier ejections are forgiven, one per EjectForget since
// the last one ended.
func (g *Group[K, T]) rememberEjection(e *entry[T], now time.Time) (d time.Duration, undo func()) {
	base, forget := g.ejectBase(e), g.detect.cfg.EjectForget
	if forget <= 0 {
		return base, func() {}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	before := e.mark.ej
	d = ejectionFor(&e.mark.ej.ejections, &e.mark.ej.until, base, now, forget)
	return d, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if r := &e.mark.ej; r.until == now.Add(d) { // as this note left it
			r.ejections, r.until = before.ejections, before.until
		}
	}
}

// rememberShadowEjection notes an ejection of e at now that a detector in
// shadow, or one judging a shadow-only key, would have made.
func (g *Group[K, T]) rememberShadowEjection(e *entry[T], now time.Time) {
	base := g.ejectBase(e)
	g.mu.Lock()
	defer g.mu.Unlock()
	ejectionFor(&e.mark.ej.shadowEjections, &e.mark.ej.shadowUntil, base, now, g.detect.cfg.EjectForget)
}

// ejectionFor returns how long an ejection at now lasts, base being its
// length without memory, and notes it in *ejections (those not yet
// forgiven) and *until (when the last one ends). Without forget, it
// returns base and notes only until.
func ejectionFor(ejections *int, until *time.Time, base time.Duration, now time.Time, forget time.Duration) time.Duration {
	if forget <= 0 {
		*until = now.Add(base)
		return base
	}
	n := *ejections
	if !until.IsZero() {
		n, _ = fsm.Forgive(n, now.Sub(*until), forget)
	}
	d := base
	if mult := time.Duration(min(n+1, DefaultMaxEjectFactor)); base <= math.MaxInt64/mult {
		d = base * mult
	} else {
		d = math.MaxInt64
	}
	*ejections = n + 1
	*until = now.Add(d)
	return d
}

// ejectRecord is the detector's memory of one key: with
// Outliers.EjectForget, its ejections not yet forgiven and when the last one
// ends; in shadow, the same for the ejections it would have made (and,
// with or without EjectForget, when the last of those would end: until
// then the key counts as open and is not judged).
type ejectRecord struct {
	ejections       int
	until           time.Time
	shadowEjections int
	shadowUntil     time.Time
}

// matters reports whether r still changes anything at now: a key whose
// record does not may be forgotten.
func (r ejectRecord) matters(now time.Time, forget time.Duration) bool {
	return !now.After(r.shadowUntil) || unforgiven(r.ejections, r.until, now, forget) ||
		unforgiven(r.shadowEjections, r.shadowUntil, now, forget)
}

// unforgiven reports whether some of n ejections, the last of which ended
// at until, are not forgiven at now.
func unforgiven(n int, until, now time.Time, forget time.Duration) bool {
	if n <= 0 || forget <= 0 {
		return false
	}
	if forget > math.MaxInt64/time.Duration(n) {
		return true
	}
	return now.Sub(until) < time.Duration(n)*forget
}

// merge keeps, of r and o, the memory of the later ejection, and of the
// later shadow ejection.
func (r *ejectRecord) merge(o ejectRecord) {
	if o.until.After(r.until) {
		r.ejections, r.until = o.ejections, o.until
	}
	if o.shadowUntil.After(r.shadowUntil) {
		r.shadowEjections, r.shadowUntil = o.shadowEjections, o.shadowUntil
	}
}

// keepMemoryLocked keeps the detector's memory of key, whose breaker e the
// group evicts, so that the key's next breaker starts from it: ejections
// that remember are the key's, not its breaker's. At most MaxBreakers
// records are kept; those that no longer matter go at the end of each idle
// period. Called with the group's lock held.
func (g *Group[K, T]) keepMemoryLocked(key K, e *entry[T]) {
	if g.detect == nil || e.mark.ej == (ejectRecord{}) {
		return
	}
	if g.memory == nil {
		g.memory = make(map[K]ejectRecord)
	}
	if _, ok := g.memory[key]; !ok && len(g.memory) >= g.max {
		for k := range g.memory { // full: forget one
			delete(g.memory, k)
			break
		}
	}
	r := g.memory[key]
	r.merge(e.mark.ej)
	g.memory[key] = r
}

// recallLocked gives e, the breaker the group now holds for key, the
// memory the detector kept of key. Called with the group's lock held.
func (g *Group[K, T]) recallLocked(key K, e *entry[T]) {
	if r, ok := g.memory[key]; ok {
		e.mark.ej.merge(r)
		delete(g.memory, key)
	}
}

// pruneMemoryLocked forgets the records that no longer matter at now.
// Called with the group's lock held.
func (g *Group[K, T]) pruneMemoryLocked(now time.Time) {
	for k, r := range g.memory {
		if !r.matters(now, g.detect.cfg.EjectForget) {
			delete(g.memory, k)
		}
	}
}
