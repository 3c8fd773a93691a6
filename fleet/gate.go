package fleet

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// This file is the probe gate: it answers from the member's view (an
// immutable snapshot) and the store's verdict, and hands every record it
// learns to the applier. It holds no lock across a call out.

// gate is the probe gate of one attached breaker.
type gate struct {
	co *Coordinator
	m  *member
}

type acquired struct {
	v   Verdict
	rec Record
	err error
}

// AcquireProbe asks the store for one of the fleet's probe leases, waiting
// at most GateTimeout. Unknown (the local decision stands) when the store
// is down, slow or the fleet's circuit is closed.
func (g *gate) AcquireProbe(gen uint64) (breaker.GateVerdict, breaker.ProbeID) {
	co, m := g.co, g.m
	v := m.view.Load()
	k := v.rec
	if m.detached.Load() || !v.known || k.State == breaker.Closed || !co.storeUsable() {
		co.stats.unknown.Add(1)
		return breaker.GateUnknown, 0
	}
	now := co.cfg.Clock.Now()
	m.mu.Lock()
	full := now.Before(m.fullUntil)
	m.mu.Unlock()
	if full {
		co.stats.rejected.Add(1)
		return breaker.GateReject, 0
	}
	id := breaker.ProbeID(co.nextProbe.Add(1))
	q := ProbeRequest{Incarnation: k.Incarnation, Generation: k.Generation, Lease: co.leases + strconv.FormatUint(uint64(id), 10)}
	var a acquired
	if co.cfg.Driven {
		// Driven, the step runs on the caller's goroutine, and the gate
		// timeout is measured on Config.Clock: an answer later than it
		// is handled as the answer the gate gave up waiting for.
		start := co.cfg.Clock.Now()
		a.err = co.step(co.ctx, func(ctx context.Context) (err error) {
			a.v, a.rec, err = co.store.AcquireProbe(ctx, m.name, q, m.params)
			return err
		})
		if co.cfg.Clock.Now().Sub(start) > co.cfg.GateTimeout {
			co.stats.gateTimeouts.Add(1)
			co.stats.unknown.Add(1)
			co.gateTimedOut()
			g.late(q, a, v.seq)
			return breaker.GateUnknown, 0
		}
	} else {
		var ok bool
		if a, ok = g.acquire(q, v.seq); !ok {
			return breaker.GateUnknown, 0 // it waited the whole GateTimeout
		}
	}
	if a.err != nil {
		if isProtocol(a.err) {
			co.unreadable(m, a.err)
		}
		co.stats.unknown.Add(1)
		return breaker.GateUnknown, 0
	}
	at := co.cfg.Clock.Now()
	switch a.v {
	case ProbeAdmit:
		m.mu.Lock()
		if m.detached.Load() {
			// Detached while asking: nobody would report this lease.
			m.mu.Unlock()
			co.giveBack(m, ProbeReport{Incarnation: q.Incarnation, Generation: q.Generation, Lease: q.Lease, Outcome: breaker.Ignored})
			co.stats.unknown.Add(1)
			return breaker.GateUnknown, 0
		}
		// A permit that is never reported leaves its lease here (the
		// store lets it expire): forget those the store has forgotten.
		for i, l := range m.leases {
			if at.Sub(l.at) > 2*m.params.ProbeTimeout {
				delete(m.leases, i)
			}
		}
		m.leases[id] = heldLease{ProbeReport: ProbeReport{Incarnation: q.Incarnation, Generation: q.Generation, Lease: q.Lease}, at: at}
		m.mu.Unlock()
		co.stats.admitted.Add(1)
		return breaker.GateAdmit, id
	case ProbeFull:
		m.mu.Lock()
		m.fullUntil = at.Add(co.cfg.FullFor)
		m.mu.Unlock()
		co.submit(update{m: m, rec: a.rec, seq: v.seq, at: at})
	case ProbeNotDue:
		// The local period ended before the fleet's. A difference within
		// the gate timeout is the round trip: reject this candidate, and
		// let the next ask again, rather than open the breaker for a few
		// milliseconds more.
		late := a.rec.Remaining > co.cfg.GateTimeout || co.cfg.Driven
		co.submit(update{m: m, rec: a.rec, seq: v.seq, at: at, notDue: late})
	case ProbeReopened:
		co.submit(update{m: m, rec: a.rec, seq: v.seq, at: at})
	default:
		// Stale: the fleet's circuit is not the open one we knew. If it
		// closed, the applier adopts the close; if it is closed and was
		// never open for us, the local decision stands.
		co.submit(update{m: m, rec: a.rec, seq: v.seq, at: at})
		co.stats.unknown.Add(1)
		return breaker.GateUnknown, 0
	}
	co.stats.rejected.Add(1)
	return breaker.GateReject, 0
}

// acquire asks the store for lease q on a goroutine of the coordinator's,
// waiting at most GateTimeout; false if it gave up waiting.
func (g *gate) acquire(q ProbeRequest, seq uint64) (acquired, bool) {
	co, m := g.co, g.m
	// The step runs on a goroutine of the coordinator's so that the wait is
	// bounded by the timer below whatever the store does with its context.
	// Whoever loses the race for state handles the answer: the gate, or,
	// once the gate gave up, the goroutine, which gives back a lease granted
	// too late and hands the record to the applier.
	var state atomic.Int32 // 0 waiting, 1 taken by the gate, 2 abandoned
	res := make(chan acquired, 1)
	co.wg.Add(1)
	go func() {
		defer co.wg.Done()
		var a acquired
		// The step has the whole StepTimeout: a store that answers after
		// the gate gave up is slow, not down.
		a.err = co.step(co.ctx, func(ctx context.Context) (err error) {
			a.v, a.rec, err = co.store.AcquireProbe(ctx, m.name, q, m.params)
			return err
		})
		if state.CompareAndSwap(0, 1) {
			res <- a
			return
		}
		g.late(q, a, seq)
	}()
	timer := time.NewTimer(co.cfg.GateTimeout)
	defer timer.Stop()
	select {
	case a := <-res:
		return a, true
	case <-timer.C:
		if state.CompareAndSwap(0, 2) {
			co.stats.gateTimeouts.Add(1)
			co.stats.unknown.Add(1)
			co.gateTimedOut()
			return acquired{}, false
		}
		return <-res, true
	}
}

// late handles an answer that came after the gate gave up waiting: a
// lease granted too late is given back, and the record goes to the
// applier.
func (g *gate) late(q ProbeRequest, a acquired, seq uint64) {
	co, m := g.co, g.m
	if a.err != nil {
		if isProtocol(a.err) {
			co.unreadable(m, a.err)
		}
		return
	}
	if a.v == ProbeAdmit {
		co.giveBack(m, ProbeReport{Incarnation: q.Incarnation, Generation: q.Generation, Lease: q.Lease, Outcome: breaker.Ignored})
	}
	co.submit(update{m: m, rec: a.rec, seq: seq, at: co.cfg.Clock.Now()})
}

// ProbeDone reports a leased probe's outcome to the store under the
// probe's own lease, off the path of the call.
func (g *gate) ProbeDone(_ uint64, id breaker.ProbeID, o breaker.Outcome) {
	m := g.m
	m.mu.Lock()
	l, ok := m.leases[id]
	delete(m.leases, id)
	m.mu.Unlock()
	if !ok {
		return // handed back by Close, or forgotten long after its expiry
	}
	l.Outcome = o
	g.co.enqueue(job{kind: jobReport, m: m, rep: l.ProbeReport})
}

// giveBack ends a lease that no probe will report: one granted after its
// breaker was detached, or after the gate gave up waiting. It is queued,
// unless the coordinator is closed, whose queue nobody runs any more:
// Close hands back every lease, this one too, within StepTimeout.
func (co *Coordinator) giveBack(m *member, rep ProbeReport) {
	if !co.closed.Load() {
		co.enqueue(job{kind: jobReport, m: m, rep: rep})
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), co.cfg.StepTimeout)
	defer cancel()
	if _, err := co.store.ReportProbe(ctx, m.name, rep, m.params); err == nil {
		co.stats.leasesReturned.Add(1)
	}
}
