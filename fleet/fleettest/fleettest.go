// Package fleettest is a conformance suite for implementations of
// [fleet.Store]: every store runs the same steps and must give the same
// records, so that a Coordinator behaves the same over any of them.
//
// The in-memory store runs it in package fleet, the Redis store in
// fleet/redisfleet (on miniredis and on a real redis-server).
package fleettest

import (
	"context"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/internal/epochs"
)

// Harness builds stores for the suite.
type Harness struct {
	// New returns an empty store whose clock reads start, and a function
	// that moves that clock on by d.
	New func(t *testing.T, start time.Time) (s fleet.Store, advance func(d time.Duration))
	// Drop, when set, makes the store lose the record of name, as a
	// flushed server would.
	Drop func(t *testing.T, s fleet.Store, name string)
	// KeepsTime, when true, says that advance does not reach the store's
	// expiry of records (a real server's TTLs follow its own clock): the
	// case of Retention is skipped.
	KeepsTime bool
	// Slack is how much of a remaining duration may have passed in real
	// time between the step and the check: zero for a store on a test
	// clock, a little for a real server.
	Slack time.Duration
	// Epochs, when set, replaces [Epochs].
	Epochs []time.Time
}

// Epochs are the start times every case runs at unless the harness names
// its own: today, past the end of 32-bit signed and unsigned Unix seconds,
// and 2250, near the end of what a double holds of microseconds since 1970
// (2255: the Redis store counts in those).
var Epochs = []time.Time{epochs.Today, epochs.Y2038, epochs.Y2106, time.Date(2250, 1, 1, 0, 0, 0, 0, time.UTC)}

// Params returns the rules the suite uses: quorum 2 within 10s, open for
// 30s doubling up to 2m, 3 probes with a 5s lease.
func Params() fleet.Params {
	return fleet.Params{
		Quorum: 2, QuorumWindow: 10 * time.Second,
		OpenTimeout: 30 * time.Second, BackoffFactor: 2, BackoffMax: 2 * time.Minute,
		Probes: 3, ProbeTimeout: 5 * time.Second,
		Retention: time.Hour,
	}
}

// Run runs every case of the suite at every epoch.
func Run(t *testing.T, h Harness) {
	starts := h.Epochs
	if starts == nil {
		starts = Epochs
	}
	for _, start := range starts {
		t.Run("epoch="+start.Format("2006"), func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					s, adv := h.New(t, start)
					c.run(&env{t: t, s: s, adv: adv, h: h, p: Params()})
				})
			}
		})
	}
}

type env struct {
	t   *testing.T
	s   fleet.Store
	adv func(time.Duration)
	h   Harness
	p   fleet.Params
}

const name = "dep"

func (e *env) ctx() context.Context { return context.Background() }

func (e *env) trip(inst string, known fleet.Record) fleet.Record {
	e.t.Helper()
	r, err := e.s.Trip(e.ctx(), name, fleet.TripRequest{Instance: inst, Incarnation: known.Incarnation, Generation: known.Generation}, e.p)
	if err != nil {
		e.t.Fatalf("Trip(%s): %v", inst, err)
	}
	e.valid(r)
	return r
}

func (e *env) read() fleet.Record {
	e.t.Helper()
	recs, errs, err := e.s.Flush(e.ctx(), []fleet.Counts{{Name: name, Instance: "reader"}}, e.p)
	if err != nil || len(recs) != 1 || errs[0] != nil {
		e.t.Fatalf("Flush: %v %v %v", recs, errs, err)
	}
	e.valid(recs[0])
	return recs[0]
}

func (e *env) flushCounts(c fleet.Counts) fleet.Record {
	e.t.Helper()
	recs, errs, err := e.s.Flush(e.ctx(), []fleet.Counts{c}, e.p)
	if err != nil || len(recs) != 1 || errs[0] != nil {
		e.t.Fatalf("Flush: %v %v %v", recs, errs, err)
	}
	e.valid(recs[0])
	return recs[0]
}

func (e *env) flush(inst string, ok, failed uint64) fleet.Record {
	e.t.Helper()
	recs, errs, err := e.s.Flush(e.ctx(), []fleet.Counts{{Name: name, Instance: inst, Successes: ok, Failures: failed}}, e.p)
	if err != nil || len(recs) != 1 || errs[0] != nil {
		e.t.Fatalf("Flush: %v %v %v", recs, errs, err)
	}
	e.valid(recs[0])
	return recs[0]
}

func (e *env) acquire(r fleet.Record, lease string) (fleet.Verdict, fleet.Record) {
	e.t.Helper()
	v, rec, err := e.s.AcquireProbe(e.ctx(), name, fleet.ProbeRequest{Incarnation: r.Incarnation, Generation: r.Generation, Lease: lease}, e.p)
	if err != nil {
		e.t.Fatalf("AcquireProbe(%s): %v", lease, err)
	}
	e.valid(rec)
	return v, rec
}

func (e *env) report(r fleet.Record, lease string, o breaker.Outcome) fleet.Record {
	e.t.Helper()
	rec, err := e.s.ReportProbe(e.ctx(), name, fleet.ProbeReport{Incarnation: r.Incarnation, Generation: r.Generation, Lease: lease, Outcome: o}, e.p)
	if err != nil {
		e.t.Fatalf("ReportProbe(%s): %v", lease, err)
	}
	e.valid(rec)
	return rec
}

func (e *env) closed(inst string, r fleet.Record) fleet.Record {
	e.t.Helper()
	rec, err := e.s.Closed(e.ctx(), name, fleet.CloseRequest{Instance: inst, Incarnation: r.Incarnation, Generation: r.Generation}, e.p)
	if err != nil {
		e.t.Fatalf("Closed(%s): %v", inst, err)
	}
	e.valid(rec)
	return rec
}

func (e *env) force(m fleet.Mode) fleet.Record {
	e.t.Helper()
	rec, err := e.s.Force(e.ctx(), name, m, e.p)
	if err != nil {
		e.t.Fatalf("Force(%v): %v", m, err)
	}
	e.valid(rec)
	return rec
}

func (e *env) valid(r fleet.Record) {
	e.t.Helper()
	if err := r.Validate(); err != nil {
		e.t.Fatalf("store returned an invalid record %+v: %v", r, err)
	}
	if r.Name != name {
		e.t.Fatalf("record named %q, want %q", r.Name, name)
	}
}

func (e *env) want(r fleet.Record, st breaker.State, gen uint64, remaining time.Duration) {
	e.t.Helper()
	if r.State != st || r.Generation != gen || r.Remaining > remaining || r.Remaining < remaining-e.h.Slack {
		e.t.Fatalf("record %+v: want state %v, generation %d, remaining %v", r, st, gen, remaining)
	}
}

// open trips the record open with two instances and returns it.
func (e *env) open() fleet.Record {
	e.t.Helper()
	r0 := e.read()
	e.trip("a", r0)
	r := e.trip("b", r0)
	e.want(r, breaker.Open, r0.Generation+1, e.p.OpenTimeout)
	return r
}

var cases = []struct {
	name string
	run  func(e *env)
}{
	{"new record is closed", func(e *env) {
		r := e.read()
		e.want(r, breaker.Closed, 1, 0)
		if r.Incarnation == "" || r.Mode != fleet.ModeNone {
			e.t.Fatalf("new record %+v", r)
		}
		if again := e.read(); again.Incarnation != r.Incarnation {
			e.t.Fatalf("incarnation changed from %q to %q without a loss", r.Incarnation, again.Incarnation)
		}
	}},
	{"quorum of distinct instances opens", func(e *env) {
		r0 := e.read()
		e.want(e.trip("a", r0), breaker.Closed, 1, 0)
		e.want(e.trip("a", r0), breaker.Closed, 1, 0) // the same instance again is no quorum
		r := e.trip("b", r0)
		e.want(r, breaker.Open, 2, e.p.OpenTimeout)
		if r.Opens != 1 {
			e.t.Fatalf("opens %d, want 1", r.Opens)
		}
		e.adv(time.Second)
		e.want(e.trip("c", r), breaker.Open, 2, e.p.OpenTimeout-time.Second) // an open record is returned, unchanged
	}},
	{"quorum of one", func(e *env) {
		e.p.Quorum = 1
		e.want(e.trip("a", e.read()), breaker.Open, 2, e.p.OpenTimeout)
	}},
	{"trips outside the window do not add up", func(e *env) {
		r0 := e.read()
		e.trip("a", r0)
		e.adv(e.p.QuorumWindow)
		e.want(e.trip("b", r0), breaker.Closed, 1, 0)
		e.adv(e.p.QuorumWindow - time.Second)
		e.want(e.trip("a", r0), breaker.Open, 2, e.p.OpenTimeout)
	}},
	{"open period ends on the store's clock", func(e *env) {
		r := e.open()
		e.adv(e.p.OpenTimeout - time.Second)
		e.want(e.read(), breaker.Open, r.Generation, time.Second)
		if v, _ := e.acquire(r, "l1"); v != fleet.ProbeNotDue {
			e.t.Fatalf("acquire before the end: %v, want not-due", v)
		}
		e.adv(time.Second)
		e.want(e.read(), breaker.HalfOpen, r.Generation, 0)
	}},
	{"K leases, then full, then K successes close", func(e *env) {
		r := e.open()
		e.adv(e.p.OpenTimeout)
		for _, l := range []string{"l1", "l2", "l3"} {
			if v, _ := e.acquire(r, l); v != fleet.ProbeAdmit {
				e.t.Fatalf("acquire %s: %v, want admit", l, v)
			}
		}
		v, rec := e.acquire(r, "l4")
		if v != fleet.ProbeFull || rec.Probing != 3 {
			e.t.Fatalf("fourth acquire: %v %+v, want full with 3 probing", v, rec)
		}
		e.report(r, "l1", breaker.Success)
		if v, _ := e.acquire(r, "l4"); v != fleet.ProbeFull {
			e.t.Fatalf("a success keeps its place: %v, want full", v)
		}
		e.report(r, "l2", breaker.Ignored)
		if v, _ := e.acquire(r, "l5"); v != fleet.ProbeAdmit {
			e.t.Fatalf("an ignored probe frees its place: %v, want admit", v)
		}
		e.report(r, "l3", breaker.Success)
		e.report(r, "l3", breaker.Success) // twice: counted once
		e.want(e.read(), breaker.HalfOpen, r.Generation, 0)
		c := e.report(r, "l5", breaker.Success)
		e.want(c, breaker.Closed, r.Generation+1, 0)
		if c.Opens != 0 || c.Succeeded != 0 || c.Probing != 0 {
			e.t.Fatalf("closed record %+v", c)
		}
		e.want(e.report(r, "l4", breaker.Failure), breaker.Closed, r.Generation+1, 0) // stale: ignored
	}},
	{"leases expire after ProbeTimeout", func(e *env) {
		e.p.Probes = 1
		r := e.open()
		e.adv(e.p.OpenTimeout)
		e.acquire(r, "l1")
		e.adv(e.p.ProbeTimeout - time.Second)
		if v, _ := e.acquire(r, "l2"); v != fleet.ProbeFull {
			e.t.Fatalf("live lease: %v, want full", v)
		}
		e.adv(time.Second)
		if v, _ := e.acquire(r, "l2"); v != fleet.ProbeAdmit {
			e.t.Fatalf("expired lease: %v, want admit", v)
		}
		e.want(e.report(r, "l1", breaker.Failure), breaker.HalfOpen, r.Generation, 0) // expired: not counted
		e.want(e.report(r, "l2", breaker.Success), breaker.Closed, r.Generation+1, 0)
	}},
	{"a failed probe reopens with the fleet's backoff", func(e *env) {
		r := e.open()
		want := []time.Duration{60 * time.Second, 120 * time.Second, 120 * time.Second}
		for i, d := range want {
			e.adv(r.Remaining)
			if v, _ := e.acquire(r, "l"); v != fleet.ProbeAdmit {
				e.t.Fatalf("acquire: %v", v)
			}
			next := e.report(r, "l", breaker.Failure)
			e.want(next, breaker.Open, r.Generation+1, d)
			if next.Opens != i+2 {
				e.t.Fatalf("opens %d, want %d", next.Opens, i+2)
			}
			v, rec := e.acquire(r, "late")
			if v != fleet.ProbeReopened || rec.Generation != next.Generation {
				e.t.Fatalf("acquire of the old generation: %v %+v, want reopened", v, rec)
			}
			r = next
		}
	}},
	{"a trip from before a close is not counted", func(e *env) {
		e.p.Quorum, e.p.Probes = 1, 1
		old := e.read()
		r := e.trip("a", old)
		e.adv(r.Remaining)
		e.acquire(r, "l")
		c := e.report(r, "l", breaker.Success)
		e.want(c, breaker.Closed, r.Generation+1, 0)
		e.want(e.trip("b", old), breaker.Closed, c.Generation, 0)
		e.want(e.trip("b", c), breaker.Open, c.Generation+1, e.p.OpenTimeout)
	}},
	{"acquire on a closed record is stale", func(e *env) {
		r := e.read()
		if v, _ := e.acquire(r, "l"); v != fleet.ProbeStale {
			e.t.Fatalf("acquire on closed: %v, want stale", v)
		}
	}},
	{"force open, disable, clear", func(e *env) {
		r := e.read()
		f := e.force(fleet.ModeForcedOpen)
		if f.State != breaker.Open || f.Mode != fleet.ModeForcedOpen || f.Generation != r.Generation+1 || f.Remaining != 0 {
			e.t.Fatalf("forced open: %+v", f)
		}
		e.adv(e.p.Retention / 2)
		if got := e.read(); got.State != breaker.Open || got.Mode != fleet.ModeForcedOpen {
			e.t.Fatalf("forced open after half the retention: %+v", got)
		}
		if v, _ := e.acquire(f, "l"); v != fleet.ProbeReopened {
			e.t.Fatalf("acquire while forced: %v, want reopened", v)
		}
		d := e.force(fleet.ModeDisabled)
		if d.State != breaker.Closed || d.Mode != fleet.ModeDisabled || d.Generation != f.Generation+1 {
			e.t.Fatalf("disabled: %+v", d)
		}
		e.p.Quorum = 1
		if got := e.trip("a", d); got.State != breaker.Closed || got.Generation != d.Generation {
			e.t.Fatalf("a trip while disabled: %+v", got)
		}
		c := e.force(fleet.ModeNone)
		if c.State != breaker.Closed || c.Mode != fleet.ModeNone || c.Generation != d.Generation+1 {
			e.t.Fatalf("cleared: %+v", c)
		}
		e.want(e.trip("a", c), breaker.Open, c.Generation+1, e.p.OpenTimeout)
	}},
	{"fleet-wide failure rate", func(e *env) {
		e.p.FailureRate, e.p.MinCalls, e.p.RateWindow = 0.5, 10, 10*time.Second
		e.want(e.flush("a", 2, 3), breaker.Closed, 1, 0) // 5 calls: below MinCalls
		e.adv(e.p.RateWindow)
		e.want(e.flush("b", 2, 3), breaker.Closed, 1, 0) // the first 5 have left the window
		e.adv(time.Second)
		e.want(e.flush("c", 3, 1), breaker.Closed, 1, 0) // 9 calls
		e.want(e.flush("a", 0, 1), breaker.Open, 2, e.p.OpenTimeout)
	}},
	{"counts with a sender are taken exactly once", func(e *env) {
		// Totals under a Sender: a batch sent again (its answer lost, or
		// sent twice by a pipeline) adds nothing; a later batch adds what
		// its totals add; counts of another sender add on their own.
		e.p.FailureRate, e.p.MinCalls, e.p.RateWindow = 0.5, 20, 10*time.Second
		a := fleet.Counts{Name: name, Instance: "a", Sender: "a/1", Failures: 8}
		e.want(e.flushCounts(a), breaker.Closed, 1, 0)
		e.want(e.flushCounts(a), breaker.Closed, 1, 0) // sent again: 8 calls
		a.Failures, a.AckedFailures = 12, 8
		e.want(e.flushCounts(a), breaker.Closed, 1, 0) // 12 calls
		e.want(e.flushCounts(a), breaker.Closed, 1, 0)
		b := fleet.Counts{Name: name, Instance: "b", Sender: "b/1", Successes: 2, Failures: 5}
		e.want(e.flushCounts(b), breaker.Closed, 1, 0) // 19 calls
		// Totals acknowledged are never added, even by a store that
		// forgot the sender: only what exceeds them.
		c := fleet.Counts{Name: name, Instance: "a", Sender: "a/2", Failures: 30, AckedFailures: 30}
		e.want(e.flushCounts(c), breaker.Closed, 1, 0)
		a.Failures = 13
		e.want(e.flushCounts(a), breaker.Open, 2, e.p.OpenTimeout) // 20 calls
	}},
	{"counts are kept only with a rate", func(e *env) {
		e.want(e.flush("a", 0, 1000), breaker.Closed, 1, 0)
	}},
	{"a lost record comes back with a new incarnation", func(e *env) {
		if e.h.Drop == nil {
			e.t.Skip("the harness cannot drop records")
		}
		r := e.open()
		e.h.Drop(e.t, e.s, name)
		n := e.read()
		e.want(n, breaker.Closed, 1, 0)
		if n.Incarnation == r.Incarnation {
			e.t.Fatalf("recreated record kept incarnation %q", n.Incarnation)
		}
		if v, _ := e.acquire(r, "l"); v != fleet.ProbeStale {
			e.t.Fatalf("acquire of the lost record: %v, want stale", v)
		}
		e.want(e.report(r, "l", breaker.Failure), breaker.Closed, 1, 0)
	}},
	{"a record untouched for Retention is gone", func(e *env) {
		if e.h.KeepsTime {
			e.t.Skip("the store's expiry does not follow the harness's clock")
		}
		r := e.open()
		e.adv(e.p.Retention - time.Second)
		if got := e.read(); got.Incarnation != r.Incarnation {
			e.t.Fatalf("record lost before its retention: %+v", got)
		}
		e.adv(e.p.Retention)
		if got := e.read(); got.Incarnation == r.Incarnation || got.State != breaker.Closed {
			e.t.Fatalf("record kept past its retention: %+v", got)
		}
	}},
	{"events carry changes", func(e *env) {
		ctx, cancel := context.WithCancel(context.Background())
		ch, err := e.s.Events(ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		r := e.open()
		timeout := time.NewTimer(5 * time.Second)
		defer timeout.Stop()
		for got := false; !got; {
			select {
			case ev := <-ch:
				got = ev.Name == name && ev.Generation == r.Generation && ev.State == breaker.Open
			case <-timeout.C:
				e.t.Fatal("no event for the open record within 5s")
			}
		}
		cancel()
		for range ch { // closed once the store has stopped
		}
	}},
	// Fault 4 of issue 18: with breakers whose CloseAfter is below K, each
	// replica closed on its own probe and the record stayed half-open short
	// of K for good, ignoring every trip. A quorum of local closes closes
	// it; a close noted early, or for another generation, is not counted.
	{"fault 4: a quorum of local closes closes a half-open record", func(e *env) {
		r := e.open()
		e.want(e.closed("a", r), breaker.Open, r.Generation, e.p.OpenTimeout) // not due yet
		e.adv(e.p.OpenTimeout)
		if v, _ := e.acquire(r, "l1"); v != fleet.ProbeAdmit {
			e.t.Fatalf("acquire: %v", v)
		}
		e.want(e.report(r, "l1", breaker.Success), breaker.HalfOpen, r.Generation, 0)
		e.want(e.closed("a", r), breaker.HalfOpen, r.Generation, 0)
		e.want(e.closed("a", r), breaker.HalfOpen, r.Generation, 0) // the same instance again
		stale := r
		stale.Generation--
		e.want(e.closed("b", stale), breaker.HalfOpen, r.Generation, 0)
		c := e.closed("b", r)
		e.want(c, breaker.Closed, r.Generation+1, 0)
		e.want(e.closed("c", r), breaker.Closed, c.Generation, 0) // closed already
	}},
	// Fault 4 and 16 of issue 18: trips on a half-open record were
	// ignored, so replicas that had closed (or reopened) on their own
	// could not open the fleet again. They count, and reopen it at the
	// quorum with the next backoff step.
	{"fault 4: trips on a half-open record reopen it at the quorum", func(e *env) {
		r := e.open()
		e.adv(e.p.OpenTimeout)
		e.want(e.trip("a", r), breaker.HalfOpen, r.Generation, 0)
		next := e.trip("b", r)
		e.want(next, breaker.Open, r.Generation+1, 2*e.p.OpenTimeout)
		if next.Opens != 2 {
			e.t.Fatalf("opens %d, want 2", next.Opens)
		}
	}},
	// Fault 9 of issue 18: failed >= rate*total missed its own boundary,
	// 0.55*100 being 55.000000000000007.
	{"fault 9: failure rate at its boundary", func(e *env) {
		e.p.FailureRate, e.p.MinCalls, e.p.RateWindow = 0.55, 100, 10*time.Second
		e.want(e.flush("a", 45, 55), breaker.Open, 2, e.p.OpenTimeout)
	}},
	// Fault 10 of issue 18: an open period of 2^63 ns came back negative.
	{"fault 10: the longest open period", func(e *env) {
		// The second period is 2^33 ns times 2^30, exactly 2^63 ns.
		e.p.OpenTimeout, e.p.BackoffMax, e.p.BackoffFactor = 1<<33, 1<<63-1, 1<<30
		e.p.Retention = 0 // kept for good: the test outlives any retention
		r0 := e.read()
		e.trip("a", r0)
		r := e.trip("b", r0)
		if r.State != breaker.Open || r.Remaining <= 0 {
			e.t.Fatalf("opened for a long period: %+v", r)
		}
		e.adv(r.Remaining)
		e.acquire(r, "l")
		next := e.report(r, "l", breaker.Failure)
		// Open, for the longest period the store holds (a Lua number
		// holds µs exactly until the year 2255, where the Redis store's
		// longest periods end).
		if next.State != breaker.Open || next.Remaining <= 0 {
			e.t.Fatalf("reopened for the longest period: %+v", next)
		}
	}},
	{"a record carries the rules it was made under", func(e *env) {
		if r := e.read(); r.Rules != e.p.Rules() {
			e.t.Fatalf("new record's rules %q, want %q", r.Rules, e.p.Rules())
		}
		e.p.Probes = 7
		if r := e.open(); r.Rules != e.p.Rules() {
			e.t.Fatalf("opened record's rules %q, want %q", r.Rules, e.p.Rules())
		}
	}},
	{"a done context fails the step", func(e *env) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := e.s.Trip(ctx, name, fleet.TripRequest{Instance: "a"}, e.p); err == nil {
			e.t.Fatal("Trip with a done context succeeded")
		}
	}},
}
