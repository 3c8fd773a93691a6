package fleet

import (
	"strconv"
	"sync"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/goid"
)

// This file is the applier: the one owner of what each attached breaker
// has adopted. Every record, whatever brought it (a step's answer, an
// event, a flush, the probe gate, an operator's call), is submitted here,
// and applied one at a time, in order, with no lock held: a callback that
// the adoption runs may call the coordinator or the breaker again, and its
// own records wait in the queue for the current one to finish.

// update is one record to apply to one member.
type update struct {
	m   *member
	rec Record
	// seq is the member's view.seq when the step that brought rec began:
	// a record of another incarnation is trusted only if nothing was
	// applied since (incarnations have no order).
	seq uint64
	// event: rec came as an event, which is not ordered with the answers
	// of steps: a record of another incarnation is read again instead.
	event bool
	// at is when rec was received, on Config.Clock: an open period is
	// shortened by the time rec waited to be applied.
	at time.Time
	// notDue: the probe gate's "not due" answer. A record of the
	// generation applied is applied again, so that a breaker whose local
	// period ended before the fleet's waits out the fleet's.
	notDue bool
}

// applier is the queue of updates, and whether some goroutine is draining
// it (and is inside apply, where it may be running callbacks). Its lock
// guards nothing else and is never held across a call out.
type applier struct {
	mu       sync.Mutex
	queue    []queued
	draining bool
	// drainer is the id of the goroutine draining (package internal/goid;
	// 0 when unknown): a call that waits for its updates must not be made
	// by the drainer itself, from inside a callback, or it would wait for
	// itself.
	drainer int64
}

// queued is an update in the queue; done, if set, is closed once it was
// applied (or its application gave up on a panic).
type queued struct {
	update
	done chan struct{}
}

// submit applies u, in order after every update submitted before it. If
// another goroutine (or an outer frame of this one, inside a callback) is
// applying, u waits in the queue and submit returns at once: submit never
// waits for anyone, so no callback can deadlock on it.
func (co *Coordinator) submit(u update) { co.submitAll([]update{u}, false) }

// submitAll applies us, in order, as submit does. With wait, it returns
// once they were applied, by this goroutine or by the one draining the
// queue, unless this goroutine is the one draining, inside a callback of
// the update it is applying: it would wait for itself, so the updates are
// left to it, and applied right after the current one. Operators' calls
// wait, so that their own breakers have adopted what they did when they
// return.
func (co *Coordinator) submitAll(us []update, wait bool) {
	if len(us) == 0 {
		return
	}
	a := &co.applier
	me := int64(0)
	if wait {
		me = goid.Current()
	}
	a.mu.Lock()
	var done chan struct{}
	if wait && a.draining && me != 0 && me != a.drainer {
		done = make(chan struct{})
	}
	for i, u := range us {
		q := queued{update: u}
		if done != nil && i == len(us)-1 {
			q.done = done
		}
		a.queue = append(a.queue, q)
	}
	if a.draining {
		a.mu.Unlock()
		if done != nil {
			<-done
		}
		return
	}
	a.draining = true
	a.drainer = goid.Current()
	a.mu.Unlock()
	co.drain()
}

// drain applies the queued updates until none is left.
func (co *Coordinator) drain() {
	a := &co.applier
	var cur queued
	finished := false
	defer func() {
		if finished {
			return
		}
		// A callback panicked inside Adopt: wake every waiter and let the
		// next submit drain what is left.
		a.mu.Lock()
		a.draining, a.drainer = false, 0
		if cur.done != nil {
			close(cur.done)
		}
		for i := range a.queue {
			if a.queue[i].done != nil {
				close(a.queue[i].done)
				a.queue[i].done = nil
			}
		}
		a.mu.Unlock()
	}()
	for {
		a.mu.Lock()
		if len(a.queue) == 0 {
			a.queue = nil
			a.draining, a.drainer = false, 0
			a.mu.Unlock()
			finished = true
			return
		}
		cur = a.queue[0]
		a.queue = a.queue[1:]
		a.mu.Unlock()
		co.apply(cur.update)
		a.mu.Lock()
		if cur.done != nil {
			close(cur.done)
		}
		cur = queued{}
		a.mu.Unlock()
	}
}

// apply adopts u's record if it is newer than the one its member applied:
// the same incarnation and a higher generation, or another incarnation
// learnt by a step that began after the last application.
func (co *Coordinator) apply(u update) {
	m, rec := u.m, u.rec
	if m.detached.Load() {
		return
	}
	if err := rec.Validate(); err != nil {
		co.unreadable(m, err)
		return
	}
	// Readable again, whether or not it is newer than the one applied: a
	// record unreadable once, then read unchanged, must not leave the
	// coordinator degraded for good.
	co.setBad(m, false)
	v := m.view.Load()
	old := v.rec
	switch {
	case !v.known:
	case rec.Incarnation != old.Incarnation:
		if u.event || u.seq != v.seq {
			co.enqueue(job{kind: jobSync, m: m})
			return
		}
	case rec.Generation < old.Generation:
		return
	case rec.Generation == old.Generation:
		if u.notDue && rec.State == breaker.Open && rec.Mode == ModeNone {
			co.adoptOpen(m, rec, u.at)
		}
		co.closedAgain(m, rec)
		return
	}
	m.view.Store(&view{rec: rec, known: true, seq: v.seq + 1})
	m.mu.Lock()
	m.fullUntil = time.Time{}
	warn := rec.Rules != "" && rec.Rules != m.rules && !m.rulesWarned
	if warn {
		m.rulesWarned = true
	}
	m.mu.Unlock()
	if warn {
		co.log.Warn("fleet: the fleet's record was made under other rules than this instance's; give every instance the same Config rules",
			"circuit", m.name, "instance", co.cfg.Instance, "rules", m.rules, "record_rules", rec.Rules, "params", m.params.String())
	}
	var prev *Record
	if v.known {
		prev = &old
	}
	co.adopt(m, rec, prev, u.at)
}

// closedAgain sends again the Closed of m's breaker that the store did
// not hear (rule 5), once a read finds rec, the generation it was about,
// still half-open and the breaker still closed on its own. Nothing else
// would make the fleet hear it: a flush that reads the record adopts only
// newer generations, so the record would stay short of K for good with
// every breaker closed.
func (co *Coordinator) closedAgain(m *member, rec Record) {
	if rec.State != breaker.HalfOpen || rec.Mode != ModeNone || m.fleetMade.Load() {
		return
	}
	if mt := m.c.Metrics(); mt.State != breaker.Closed || mt.Mode != ModeNone {
		return
	}
	m.mu.Lock()
	owed := m.closeOwed
	if owed.Incarnation != rec.Incarnation || owed.Generation != rec.Generation {
		m.mu.Unlock()
		return
	}
	m.closeOwed = CloseRequest{}
	m.mu.Unlock()
	co.enqueue(job{kind: jobClosed, m: m, close: owed})
}

// adopt applies rec, newer than old (nil: the first record seen), to m's
// breaker. What the breaker is already doing is not applied again: an
// instance whose own trip opened the fleet stays in its own open period,
// rather than reporting an open → open transition for the same outage.
func (co *Coordinator) adopt(m *member, rec Record, old *Record, at time.Time) {
	mt := m.c.Metrics()
	do := func(a breaker.Adoption) {
		// An adoption runs callbacks, and one of them may detach the
		// breaker: every Adopt is fenced, not only the first.
		if m.detached.Load() {
			return
		}
		co.stats.adopted.Add(1)
		a.Who, a.Why = adoptedBy, recordWhy(rec)
		// Before Adopt: a callback it runs may steer the breaker itself.
		m.fleetMade.Store(a.Kind != breaker.AdoptClose && a.Kind != breaker.AdoptClearMode)
		m.c.Adopt(a)
	}
	switch rec.Mode {
	case ModeForcedOpen:
		if mt.Mode != ModeForcedOpen {
			do(breaker.Adoption{Kind: breaker.AdoptForceOpen})
		} else {
			m.fleetMade.Store(true) // in the fleet's mode already: the fleet's now
		}
		return
	case ModeDisabled:
		if mt.Mode != ModeDisabled {
			do(breaker.Adoption{Kind: breaker.AdoptDisable})
		} else {
			m.fleetMade.Store(true)
		}
		return
	}
	if old != nil && old.Mode == ModeDisabled && mt.Mode == ModeDisabled {
		do(breaker.Adoption{Kind: breaker.AdoptClearMode})
		mt = m.c.Metrics()
	}
	switch rec.State {
	case breaker.Open:
		co.adoptOpen(m, rec, at)
	case breaker.HalfOpen:
		now := co.cfg.Clock.Now()
		if mt.Mode == ModeNone && (mt.State == breaker.HalfOpen || mt.State == breaker.Open && !mt.Until.IsZero() && !mt.Until.After(now)) {
			return // half-open already, or due
		}
		do(breaker.Adoption{Kind: breaker.AdoptOpen})
	case breaker.Closed:
		// A closed record is adopted only as news: a close of the record
		// this instance knew (of an open record, or a Clear: no other
		// step makes a closed record newer than a closed one), or of a
		// state the fleet set (from a record lost since). A record seen
		// for the first time, or created again after a loss, knows
		// nothing of this breaker's own failures, so its breaker keeps
		// its own state.
		news := old != nil && old.Incarnation == rec.Incarnation
		if (news || m.fleetMade.Load()) && (mt.State != breaker.Closed || mt.Mode != ModeNone) {
			do(breaker.Adoption{Kind: breaker.AdoptClose})
		}
	}
}

// adoptOpen opens m's breaker for what remains of rec's open period, less
// the time rec waited since at. A breaker open on its own (no mode) for
// about as long is left alone: the difference is the round trip that told
// it, and adopting would only report a second opening of the same outage.
func (co *Coordinator) adoptOpen(m *member, rec Record, at time.Time) {
	now := co.cfg.Clock.Now()
	left := rec.Remaining - now.Sub(at)
	if left < 0 {
		left = 0
	}
	until := now.Add(left)
	mt := m.c.Metrics()
	if mt.Mode == ModeNone && mt.State == breaker.Open && !mt.Until.IsZero() {
		if d := mt.Until.Sub(until); d >= -co.cfg.GateTimeout && d <= co.cfg.GateTimeout {
			return
		}
	}
	if m.detached.Load() {
		return // detached by a callback of an earlier Adopt
	}
	co.stats.adopted.Add(1)
	m.fleetMade.Store(true)
	m.c.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: left, Who: adoptedBy, Why: recordWhy(rec)})
}

// adoptedBy is the Who of every adopted transition's evidence.
const adoptedBy = "fleet"

// recordWhy is the Why of an adopted transition's evidence: the fleet's
// record, as an operator reading a breaker's history needs it.
func recordWhy(rec Record) string {
	why := "fleet record generation " + strconv.FormatUint(rec.Generation, 10) + ": " + rec.State.String()
	switch {
	case rec.Mode != ModeNone:
		why += ", " + rec.Mode.String()
	case rec.State == breaker.Open:
		why += " for " + rec.Remaining.String() + " (open period " + strconv.Itoa(rec.Opens) + " in a row)"
	}
	return why
}

// setBad notes whether m's last record was unreadable; a detached member
// is never marked, so that Degraded cannot stay true for a breaker that is
// gone.
func (co *Coordinator) setBad(m *member, bad bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bad == bad || (bad && m.detached.Load()) {
		return false
	}
	m.bad = bad
	if bad {
		co.bad.Add(1)
	} else {
		co.bad.Add(-1)
	}
	return true
}

// unreadable notes that m's record cannot be read: m works locally until a
// readable record comes.
func (co *Coordinator) unreadable(m *member, err error) {
	co.stats.badRecords.Add(1)
	if co.setBad(m, true) {
		co.log.Error("fleet: unreadable record; this breaker works locally", "circuit", m.name, "err", err)
	}
}
