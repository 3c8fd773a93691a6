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
	return ejectionFor(&e.mark.ejections, &e.mark.ejectedUntil, base, now, forget)
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
