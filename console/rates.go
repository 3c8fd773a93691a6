package console

import (
	"sync"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// rateWindow is the span over which the console measures a circuit's error
// rate and volume: the counts a listing shows are compared with those seen
// one to two windows earlier.
const rateWindow = time.Minute

// rates keeps, for each circuit listed, two earlier samples of its counts,
// so that its error rate and volume are recent rather than lifelong. It
// holds only what the console has listed lately: a circuit not listed for
// forgetAfter is forgotten (a group may have evicted it).
type rates struct {
	mu      sync.Mutex
	samples map[string]*samples
}

type samples struct {
	old, mid sample
	seen     time.Time // when a listing last saw it
}

// forgetAfter is how long rates keeps a circuit no listing saw.
const forgetAfter = 5 * rateWindow

type sample struct {
	at                  time.Time
	succ, fail, ign, rj uint64
}

// recent sets j's ErrorRate and Volume from the counts of m, read at now:
// against a sample one to two rateWindows old once there is one, since the
// breaker was built before.
func (r *rates) recent(j *circuitJSON, m breaker.Metrics, now time.Time) {
	cur := sample{now, m.Successes, m.Failures, m.Ignored, m.Rejected}
	r.mu.Lock()
	if r.samples == nil {
		r.samples = make(map[string]*samples)
	}
	s := r.samples[j.Name]
	if s == nil || cur.succ < s.mid.succ || cur.fail < s.mid.fail { // new, or a new breaker of that name
		s = &samples{mid: cur}
		r.samples[j.Name] = s
	} else if now.Sub(s.mid.at) >= rateWindow {
		s.old, s.mid = s.mid, cur
	}
	s.seen = now
	base := s.old
	r.mu.Unlock()
	done := cur.succ + cur.fail - base.succ - base.fail
	j.ErrorRate = 0
	if done > 0 {
		j.ErrorRate = float64(cur.fail-base.fail) / float64(done)
	}
	j.Volume = done + cur.ign - base.ign + cur.rj - base.rj
}

// forget drops the circuits that no listing saw for forgetAfter.
func (r *rates) forget(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, s := range r.samples {
		if now.Sub(s.seen) > forgetAfter {
			delete(r.samples, name)
		}
	}
}
