package fleet

import (
	"strconv"
	"sync"
	"sync/atomic"
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
//
// What to adopt is decided on a read of the breaker, and adopted only if
// nothing changed the breaker since (adoptAt): an operator's action, or
// the breaker's own transition, that lands between the read and the
// adoption stands, and is judged against rec as usual on a new read.
func (co *Coordinator) adopt(m *member, rec Record, old *Record, at time.Time) {
	for range adoptTries {
		if co.adoptOnce(m, rec, old, at) == adoptDone {
			return
		}
	}
}

// adoptTries bounds the reads adopt decides on. Each read after the first
// follows a change of the breaker made since the read before (or a mode
// cleared); a breaker that keeps changing faster than the applier can
// read it keeps what it was changed to, as if rec was adopted before.
const adoptTries = 4

type adoptResult uint8

const (
	adoptDone    adoptResult = iota // adopted, or nothing to adopt
	adoptStale                      // the breaker changed since the read: read again
	adoptCleared                    // a disabled mode was cleared: decide the rest on a new read
)

// adoptOnce reads m's breaker and adopts what rec asks of it.
func (co *Coordinator) adoptOnce(m *member, rec Record, old *Record, at time.Time) adoptResult {
	mt := m.c.Metrics()
	do := func(a breaker.Adoption) adoptResult {
		a.Who, a.Why = adoptedBy, recordWhy(rec)
		if !co.adoptAt(m, mt.Generation, a) {
			return adoptStale
		}
		return adoptDone
	}
	switch rec.Mode {
	case ModeForcedOpen, ModeDisabled:
		if mt.Mode != rec.Mode {
			k := breaker.AdoptForceOpen
			if rec.Mode == ModeDisabled {
				k = breaker.AdoptDisable
			}
			return do(breaker.Adoption{Kind: k})
		}
		// In the fleet's mode already: the fleet's now, unless the
		// breaker changed since the read.
		if !co.markAt(m, mt.Generation) {
			return adoptStale
		}
		return adoptDone
	}
	if old != nil && old.Mode == ModeDisabled && mt.Mode == ModeDisabled {
		if r := do(breaker.Adoption{Kind: breaker.AdoptClearMode}); r != adoptDone {
			return r
		}
		return adoptCleared
	}
	switch rec.State {
	case breaker.Open:
		if !co.adoptOpenAt(m, mt, rec, at) {
			return adoptStale
		}
	case breaker.HalfOpen:
		now := co.cfg.Clock.Now()
		if mt.Mode == ModeNone && (mt.State == breaker.HalfOpen || mt.State == breaker.Open && !mt.Until.IsZero() && !mt.Until.After(now)) {
			return adoptDone // half-open already, or due
		}
		return do(breaker.Adoption{Kind: breaker.AdoptOpen})
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
			return do(breaker.Adoption{Kind: breaker.AdoptClose})
		}
	}
	return adoptDone
}

// adoptOpen opens m's breaker for what remains of rec's open period, less
// the time rec waited since at, as adopt does.
func (co *Coordinator) adoptOpen(m *member, rec Record, at time.Time) {
	for range adoptTries {
		if co.adoptOpenAt(m, m.c.Metrics(), rec, at) {
			return
		}
	}
}

// adoptOpenAt is adoptOpen decided on mt; false if the breaker changed
// since mt was read. A breaker open on its own (no mode) for about as long
// is left alone: the difference is the round trip that told it, and
// adopting would only report a second opening of the same outage.
func (co *Coordinator) adoptOpenAt(m *member, mt breaker.Metrics, rec Record, at time.Time) bool {
	now := co.cfg.Clock.Now()
	left := rec.Remaining - now.Sub(at)
	if left < 0 {
		left = 0
	}
	until := now.Add(left)
	if mt.Mode == ModeNone && mt.State == breaker.Open && !mt.Until.IsZero() {
		if d := mt.Until.Sub(until); d >= -co.cfg.GateTimeout && d <= co.cfg.GateTimeout {
			return true
		}
	}
	return co.adoptAt(m, mt.Generation, breaker.Adoption{Kind: breaker.AdoptOpen, For: left, Who: adoptedBy, Why: recordWhy(rec)})
}

// adopterAt is a circuit that adopts a decision only at the generation it
// was decided on, as *breaker.Breaker does (Breaker.AdoptAt).
type adopterAt interface {
	AdoptAt(gen uint64, a breaker.Adoption) (applied bool)
}

// adoptAt makes m's breaker adopt a, decided on its state of generation
// gen, and reports whether it did: false if the breaker changed since,
// when nothing is adopted and m's mark is as the change left it. A
// circuit without AdoptAt adopts a whatever changed since.
func (co *Coordinator) adoptAt(m *member, gen uint64, a breaker.Adoption) bool {
	// An adoption runs callbacks, and one of them may detach the breaker:
	// every Adopt is fenced, not only the first.
	if m.detached.Load() {
		return true
	}
	// Marked before the adoption: a callback it runs may steer the
	// breaker itself, which marks it the breaker's.
	made := a.Kind != breaker.AdoptClose && a.Kind != breaker.AdoptClearMode
	return co.markIf(m, made, func() bool {
		if c, ok := m.c.(adopterAt); ok {
			if !c.AdoptAt(gen, a) {
				return false
			}
		} else {
			m.c.Adopt(a)
		}
		co.stats.adopted.Add(1)
		return true
	})
}

// markAt marks m's breaker as in the fleet's state, found so at generation
// gen; false (and no mark) if the breaker changed since.
func (co *Coordinator) markAt(m *member, gen uint64) bool {
	return co.markIf(m, true, func() bool { return m.c.Metrics().Generation == gen })
}

// markIf marks m's breaker made (or not) by the fleet, then runs step, the
// adoption (or the look) that the mark is about, and takes the mark back
// if step reports the breaker changed since it was read.
func (co *Coordinator) markIf(m *member, made bool, step func() bool) bool {
	tok := m.fleetMade.swap(made)
	if co.afterStateRead != nil {
		co.afterStateRead()
	}
	if !step() {
		m.fleetMade.undo(tok)
		return false
	}
	return true
}

// mark is a member's fleetMade: whether its breaker's state is the
// fleet's. Every write raises its version, so that the applier can take
// back a mark of its own (an adoption found stale) without undoing one
// written since by the transition listener.
type mark struct{ v atomic.Uint64 } // version<<1 | made

func (k *mark) Load() bool { return k.v.Load()&1 == 1 }

func (k *mark) Store(made bool) { k.swap(made) }

// markToken is what swap wrote over, for undo.
type markToken struct{ was, now uint64 }

func (k *mark) swap(made bool) markToken {
	for {
		old := k.v.Load()
		nv := (old>>1 + 1) << 1
		if made {
			nv |= 1
		}
		if k.v.CompareAndSwap(old, nv) {
			return markToken{was: old, now: nv}
		}
	}
}

// undo takes back the write of t, unless another came since.
func (k *mark) undo(t markToken) {
	k.v.CompareAndSwap(t.now, (t.now>>1+1)<<1|t.was&1)
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
