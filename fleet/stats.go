package fleet

import "sync/atomic"

// This file holds what the coordinator counts, and how it says whether it
// is working locally.

type stats struct {
	storeErrors, badRecords, adopted, tripsSent, closesSent, admitted, rejected, unknown,
	gateTimeouts, dropped, resyncs, events, leasesReturned atomic.Uint64
}

// Stats are a coordinator's counts since it was built, for dashboards: see
// [Coordinator.Stats].
type Stats struct {
	// Degraded is Coordinator.Degraded, and the others say why: Down, the
	// store failed its last step; Slow, it answered after GateTimeout, or
	// not at all; Unreadable counts the attached circuits whose record
	// could not be read. Degraded is true when any of them is.
	Degraded, Down, Slow bool
	Unreadable           int
	// StoreErrors counts failed store steps (and steps the guard breaker
	// refused); BadRecords the records it could not read.
	StoreErrors, BadRecords uint64
	// Adopted counts the fleet's decisions applied to local breakers.
	Adopted uint64
	// TripsSent counts local openings sent to the store; ClosesSent the
	// local closes on a breaker's own probes.
	TripsSent, ClosesSent uint64
	// ProbesAdmitted, ProbesRejected and ProbesLocal count the probe
	// gate's answers: a fleet lease, a refusal, and a local decision
	// (store unknown, down or slow). GateTimeouts counts the candidates
	// that waited the whole GateTimeout.
	ProbesAdmitted, ProbesRejected, ProbesLocal, GateTimeouts uint64
	// Dropped counts hand-offs lost because the queue was full; the next
	// flush makes up for them.
	Dropped uint64
	// Resyncs counts the times the store answered again after failing.
	Resyncs uint64
	// Events counts the records received as events.
	Events uint64
	// LeasesReturned counts the probe leases Close gave back.
	LeasesReturned uint64
}

// Degraded reports whether the coordinator is working locally: the store
// failed its last step, answers slower than GateTimeout (so that probe
// candidates decide locally), or a record of an attached breaker could not
// be read. The breakers then behave exactly as without a coordinator.
func (co *Coordinator) Degraded() bool {
	return co.health.down.Load() || co.health.slow.Load() || co.bad.Load() > 0
}

// Stats returns the coordinator's counts.
func (co *Coordinator) Stats() Stats {
	s := &co.stats
	return Stats{
		Degraded: co.Degraded(), Down: co.health.down.Load(), Slow: co.health.slow.Load(),
		Unreadable:  int(co.bad.Load()),
		StoreErrors: s.storeErrors.Load(), BadRecords: s.badRecords.Load(),
		Adopted: s.adopted.Load(), TripsSent: s.tripsSent.Load(), ClosesSent: s.closesSent.Load(),
		ProbesAdmitted: s.admitted.Load(), ProbesRejected: s.rejected.Load(),
		ProbesLocal: s.unknown.Load(), GateTimeouts: s.gateTimeouts.Load(),
		Dropped: s.dropped.Load(), Resyncs: s.resyncs.Load(), Events: s.events.Load(),
		LeasesReturned: s.leasesReturned.Load(),
	}
}
