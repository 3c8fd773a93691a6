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

// rememberEjection returns how long to eject e at now, base being an
// ejection's length without memory, and notes the ejection. Without
// Outliers.EjectForget it returns base. The law is the breaker's backoff
// memory (fsm.Forgive): earlier ejections are forgiven, one per
// EjectForget since the last one ended.
func (g *Group[K, T]) rememberEjection(e *entry[T], base time.Duration, now time.Time) time.Duration {
	forget := g.detect.cfg.EjectForget
	if forget <= 0 {
		return base
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	m := &e.mark
	n := m.ejections
	if !m.ejectedUntil.IsZero() {
		n, _ = fsm.Forgive(n, now.Sub(m.ejectedUntil), forget)
	}
	d := base
	if mult := time.Duration(min(n+1, DefaultMaxEjectFactor)); base <= math.MaxInt64/mult {
		d = base * mult
	} else {
		d = math.MaxInt64
	}
	m.ejections = n + 1
	m.ejectedUntil = now.Add(d)
	return d
}
