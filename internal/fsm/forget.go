package fsm

import "time"

// closedLocked counts the trips in a row as a close at now by cause leaves
// them. Without Forget, any close starts the count over. With it, a close
// by probes keeps the count, to be forgiven over the healthy time that
// follows (see forgetLocked); a close by an operator (Reset) or from
// outside (Adopt) still starts it over: whoever closed it vouches for the
// dependency.
func (m *Machine) closedLocked(now time.Time, cause Cause) {
	if m.cfg.Forget > 0 && cause == CauseProbe {
		m.closedAt = now
		return
	}
	m.trips = 0
}

// forgetLocked forgives, before a trip at now, one trip of the count for
// each whole Forget the circuit has stayed closed since probes closed it:
//
//	trips = max(0, trips - floor(closed time / Forget))
//
// so the next open period is OpenTimeout × Factor^trips. A dependency that
// fails again soon after each close gets longer and longer rests, up to
// the Backoff's Max; one that stays healthy sheds a step of its history
// every Forget, as Envoy shortens a host's ejection each interval it stays
// healthy. The closed time is read with Time.Sub, which follows the
// monotonic clock when both times have a reading: a step of the wall clock
// neither forgives nor revives a trip. A clock that went back counts as no
// time.
func (m *Machine) forgetLocked(now time.Time) {
	if m.cfg.Forget <= 0 || m.trips == 0 || m.Load().State() != Closed {
		return
	}
	healthy := now.Sub(m.closedAt)
	if healthy <= 0 {
		return
	}
	n := healthy / m.cfg.Forget
	if n >= time.Duration(m.trips) {
		m.trips = 0
		return
	}
	m.trips -= int(n)
	// The time forgiven is spent: a second look (after OpenFor panicked)
	// forgives no more.
	m.closedAt = m.closedAt.Add(n * m.cfg.Forget)
}
