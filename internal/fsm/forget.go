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
	var spent time.Duration
	m.trips, spent = Forgive(m.trips, now.Sub(m.closedAt), m.cfg.Forget)
	// The time forgiven is spent: a second look (after OpenFor panicked)
	// forgives no more.
	m.closedAt = m.closedAt.Add(spent)
}

// Forgive is the law of a backoff that remembers, for the machine and for
// whoever else keeps a count of openings in a row (a group's ejections):
// of count, one is forgiven per whole forget in healthy. It returns what
// is left, and the healthy time that forgiving spent (a whole number of
// forgets; all of healthy once nothing is left to forgive). A healthy time
// of zero or less (a clock that went back) forgives nothing.
func Forgive(count int, healthy, forget time.Duration) (left int, spent time.Duration) {
	if count <= 0 || healthy <= 0 || forget <= 0 {
		return max(count, 0), 0
	}
	n := healthy / forget
	if n >= time.Duration(count) {
		return 0, healthy
	}
	return count - int(n), n * forget
}
