package fleet

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// This file runs the hand-offs: the work that the breakers' transitions
// and the probe gate queue, and that the loop (or Step, when driven) takes
// to the store off the path of every call.

type jobKind uint8

const (
	jobTrip jobKind = iota + 1
	jobClosed
	jobReport
	jobSync
	jobBarrier // for tests: closes done once the jobs before it are done
)

type job struct {
	kind  jobKind
	m     *member
	trip  TripRequest
	close CloseRequest
	rep   ProbeReport
	done  chan struct{}
}

// maxQueued is how many hand-offs may wait for the loop (or for Step).
const maxQueued = 1024

// work is the queue of hand-offs. Its lock guards nothing but the slice.
type work struct {
	mu    sync.Mutex
	queue []job
	wake  chan struct{} // tells the loop that the queue has work
	kick  chan struct{} // asks for a flush now

	stepping  atomic.Bool // Driven: a Step is running
	lastFlush time.Time   // written by the running Step alone
}

func (w *work) init(driven bool) {
	w.kick = make(chan struct{}, 1)
	if !driven {
		w.wake = make(chan struct{}, 1)
	}
}

// take empties the queue and returns what it held.
func (w *work) take() []job {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q
}

// enqueue hands j to the loop without blocking. A full queue drops it: a
// lost trip is made up by the local breaker's own protection and the next
// one, a lost probe report by its lease's expiry.
func (co *Coordinator) enqueue(j job) {
	w := &co.work
	w.mu.Lock()
	if len(w.queue) >= maxQueued {
		w.mu.Unlock()
		co.stats.dropped.Add(1)
		return
	}
	w.queue = append(w.queue, j)
	w.mu.Unlock()
	if w.wake != nil {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// kick asks for a flush now: the store answered again after failing.
func (co *Coordinator) kick() {
	select {
	case co.work.kick <- struct{}{}:
	default:
	}
}

// transition is the listener of every attached breaker. It may run on the
// path of a call (the call that tripped), or inside an adoption, so it only
// hands off.
func (co *Coordinator) transition(m *member, t breaker.Transition) {
	if m.detached.Load() || t.Cause == breaker.CauseExternal || t.Shadow {
		// External: adopted from the fleet, never echoed. Manual actions
		// are local (the fleet's are Force); timeouts are the breaker's
		// own. A shadow's (a shadow-only breaker's) rejected nothing: the
		// fleet must not make other instances reject for it.
		return
	}
	// A transition is delivered after it happened: one made under no mode
	// that arrives once an adoption has put the breaker in the fleet's
	// mode did not make that mode, which stays the fleet's to undo (X1:
	// a probe's reopening delivered after its callback adopted a forced
	// open left the breaker forced open once that record was lost).
	if t.Cause != breaker.CauseTimeout && (t.Mode != breaker.ModeNone || m.c.Metrics().Mode == breaker.ModeNone) {
		m.fleetMade.Store(false) // the breaker decided for itself
	}
	v := m.view.Load()
	switch {
	case t.To == breaker.Open && (t.Cause == breaker.CausePolicy || t.Cause == breaker.CauseProbe):
		// Every opening reaches the store, the reopening after a failed
		// probe too: a probe the fleet leased also reports its failure
		// (which reopens the record first, and this trip is ignored), but
		// one decided locally (the store was slow, or its record was lost
		// and created again, closed) reaches the fleet only this way.
		tr := TripRequest{Instance: co.cfg.Instance}
		if v.known {
			tr.Incarnation, tr.Generation = v.rec.Incarnation, v.rec.Generation
		}
		co.enqueue(job{kind: jobTrip, m: m, trip: tr})
	case t.To == breaker.Closed && t.Cause == breaker.CauseProbe:
		// Closed on its own probes while the fleet's record is open: the
		// fleet must hear it, or with CloseAfter below K its record could
		// stay half-open for good.
		if !v.known || v.rec.State == breaker.Closed || v.rec.Mode != ModeNone {
			return
		}
		m.mu.Lock()
		sent := m.closeSent.Incarnation == v.rec.Incarnation && m.closeSent.Generation == v.rec.Generation
		m.closeSent = v.rec
		m.mu.Unlock()
		if !sent {
			co.enqueue(job{kind: jobClosed, m: m, close: CloseRequest{Instance: co.cfg.Instance, Incarnation: v.rec.Incarnation, Generation: v.rec.Generation}})
		}
	}
}

// loop runs the hand-offs and the periodic flush until Close.
func (co *Coordinator) loop() {
	defer co.wg.Done()
	tick := time.NewTicker(co.cfg.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-co.ctx.Done():
			return
		case <-co.work.wake:
			co.runQueued()
		case <-tick.C:
			_ = co.flush(co.ctx, false)
		case <-co.work.kick:
			_ = co.flush(co.ctx, false)
		}
	}
}

// runQueued runs the hand-offs queued so far, and those they queue, in
// order; it returns how many it ran.
func (co *Coordinator) runQueued() int {
	n := 0
	for co.ctx.Err() == nil {
		w := &co.work
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.queue = nil
			w.mu.Unlock()
			return n
		}
		j := w.queue[0]
		w.queue = w.queue[1:]
		w.mu.Unlock()
		co.do(j)
		n++
	}
	return n
}

// Step runs, on the caller's goroutine, the work a coordinator built with
// Config.Driven has queued: the hand-offs (trips, probe reports, first
// reads), then a flush if FlushInterval has passed on Config.Clock since
// the last one (or if the store answered again after failing). It returns
// the number of hand-offs it ran: none means no step of this instance can
// have changed a record. A coordinator that runs itself does this work in
// its own goroutines; there Step does nothing and returns 0. A Step called
// while another runs (from a callback of a breaker that the running one
// made adopt a record, say) returns 0 at once: the running Step does the
// work, which it holds no lock across.
func (co *Coordinator) Step() int {
	if !co.cfg.Driven {
		return 0
	}
	w := &co.work
	if !w.stepping.CompareAndSwap(false, true) {
		return 0
	}
	defer w.stepping.Store(false)
	n := co.runQueued()
	now := co.cfg.Clock.Now()
	kicked := false
	select {
	case <-w.kick:
		kicked = true
	default:
	}
	if kicked || now.Sub(w.lastFlush) >= co.cfg.FlushInterval {
		w.lastFlush = now
		_ = co.flush(co.ctx, false)
		// A flush that found the store back asks for another; it has
		// just been done.
		select {
		case <-w.kick:
		default:
		}
	}
	return n
}

// do runs one hand-off. Work for a breaker detached since it was queued is
// dropped, except a probe report: the lease it ends is the fleet's, and
// the answer is fenced by the applier.
func (co *Coordinator) do(j job) {
	if j.kind == jobBarrier {
		close(j.done)
		return
	}
	if j.m.detached.Load() && j.kind != jobReport {
		return
	}
	seq := j.m.view.Load().seq
	var rec Record
	var err error
	switch j.kind {
	case jobTrip:
		err = co.step(co.ctx, func(ctx context.Context) (err error) {
			rec, err = co.store.Trip(ctx, j.m.name, j.trip, j.m.params)
			return err
		})
		if err == nil {
			co.stats.tripsSent.Add(1)
		}
	case jobClosed:
		err = co.step(co.ctx, func(ctx context.Context) (err error) {
			rec, err = co.store.Closed(ctx, j.m.name, j.close, j.m.params)
			return err
		})
		if err == nil {
			co.stats.closesSent.Add(1)
		}
	case jobReport:
		err = co.step(co.ctx, func(ctx context.Context) (err error) {
			rec, err = co.store.ReportProbe(ctx, j.m.name, j.rep, j.m.params)
			return err
		})
	case jobSync:
		var recs []Record
		var errs []error
		err = co.step(co.ctx, func(ctx context.Context) (err error) {
			recs, errs, err = co.store.Flush(ctx, []Counts{{Name: j.m.name, Instance: co.cfg.Instance}}, j.m.params)
			return err
		})
		if err == nil {
			if len(recs) != 1 || len(errs) != 1 || errs[0] != nil {
				co.unreadable(j.m, firstErr(errs, len(recs)))
				return
			}
			rec = recs[0]
		}
	}
	if err != nil {
		if j.kind == jobClosed {
			// Not heard: the next read of the still half-open record
			// sends it again (see closedAgain).
			j.m.mu.Lock()
			j.m.closeOwed = j.close
			j.m.mu.Unlock()
		}
		if errors.Is(err, ErrProtocol) {
			co.unreadable(j.m, err)
		}
		return
	}
	co.submit(update{m: j.m, rec: rec, seq: seq, at: co.cfg.Clock.Now()})
}

func firstErr(errs []error, n int) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return errors.New("fleet: store returned " + strconv.Itoa(n) + " records for 1")
}
