package fleetsim

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
)

// circuit is the breaker as a coordinator sees it: the breaker itself,
// with a point at which another step may interrupt Attach and detach (as
// a concurrent goroutine would between two of their statements).
type circuit struct {
	*breaker.Breaker[int]
	s *sim
	p *proc

	// read is the highest generation read through Metrics, by anyone:
	// the coordinator decides what to adopt on such a read, so that when
	// it calls to adopt, read is that read's generation or a later one
	// ("local-stands"). Reads made concurrently only raise it, which can
	// hide a fault, never invent one.
	read atomic.Uint64
}

// Metrics is the breaker's, noting the generation read.
func (c *circuit) Metrics() breaker.Metrics {
	mt := c.Breaker.Metrics()
	for {
		r := c.read.Load()
		if mt.Generation <= r || c.read.CompareAndSwap(r, mt.Generation) {
			return mt
		}
	}
}

func (c *circuit) Subscribe(fn func(breaker.Transition)) (cancel func()) {
	c.s.preempt(c.p, "Subscribe")
	return c.Breaker.Subscribe(fn)
}

// Adopt is where "detached" is checked: a coordinator adopts nothing for
// a breaker attached to no coordinator (once Detach or Close returned).
// The check is made at the call, not at the transition: a breaker
// delivers its transitions in order, after any delivery in progress, so a
// transition of an adoption made before the detach may be seen after it.
//
// A plain Adopt is interrupted as AdoptAt is (a coordinator whose circuit
// has AdoptAt never calls it), and checked for "local-stands".
func (c *circuit) Adopt(a breaker.Adoption) {
	read := c.read.Load()
	c.s.preempt(c.p, "Adopt")
	c.adopting(a)
	pre := c.Breaker.Metrics().Generation
	c.Breaker.Adopt(a)
	// An adoption that changed nothing started no generation, and
	// undid nothing.
	if c.Breaker.Metrics().Generation != pre {
		c.s.localStands(c.p, a, read, pre)
	}
}

// AdoptAt is Adopt for a decision the coordinator took on a read of the
// breaker: checked as Adopt is, and a point at which another step may
// interrupt, between that read and the adoption — an operator's action on
// this breaker, a call that trips it or closes it on a probe, a newer
// record reaching the instance — which the adoption must not override.
func (c *circuit) AdoptAt(gen uint64, a breaker.Adoption) bool {
	// The coordinator says it decided on generation gen.
	read := max(c.read.Load(), gen)
	c.s.preempt(c.p, "AdoptAt")
	c.adopting(a)
	pre := c.Breaker.Metrics().Generation
	if !c.Breaker.AdoptAt(gen, a) {
		return false
	}
	c.s.localStands(c.p, a, read, pre)
	return true
}

func (c *circuit) adopting(a breaker.Adoption) {
	s, p := c.s, c.p
	s.mu.Lock()
	if p.attached == 0 && !p.closing {
		s.violateLocked(InvDetached, fmt.Sprintf("i%d's breaker, attached to no coordinator, was made to adopt %v (%s)", p.id, a.Kind, a.Why))
	}
	s.mu.Unlock()
}

func (c *circuit) SetProbeGate(g breaker.ProbeGate) {
	c.s.preempt(c.p, "SetProbeGate")
	c.Breaker.SetProbeGate(g)
}

// faultStore is one process's way to the shared store: every step passes
// through it, so the run sees every answer, and it injects the faults.
type faultStore struct {
	s  *sim
	p  *proc
	co string // the instance name of the coordinator it serves
}

type faultKind uint8

const (
	noFault       faultKind = iota
	errBefore               // the step fails before it reaches the store
	timeoutBefore           // the step times out before it reaches the store
	errAfter                // the store takes the step; its answer is lost
	timeoutAfter            // the store takes the step; the caller times out
	latency                 // the answer comes late (beyond the gate timeout or not)
	corrupt                 // the answer cannot be read
)

func (k faultKind) String() string {
	return [...]string{"none", "error before the store", "timeout before the store", "answer lost", "timeout after the store took it", "latency", "unreadable answer"}[k]
}

type fault struct {
	kind faultKind
	d    time.Duration
	back bool // the latency is the answer's, on its way back
}

func (f fault) before() error {
	switch f.kind {
	case errBefore:
		return errInjected
	case timeoutBefore:
		return context.DeadlineExceeded
	}
	return nil
}

func (f fault) lost() bool { return f.kind == errAfter || f.kind == timeoutAfter }

func (f fault) afterErr() error {
	if f.kind == timeoutAfter {
		return context.DeadlineExceeded
	}
	return errInjected
}

func corruptRec(r fleet.Record) fleet.Record {
	r.Version = fleet.ProtocolVersion + 1
	return r
}

// inject draws the fault of one step of p, if any, and taints the fleet
// generation it falls in: the K bound holds only while the store answers.
func (s *sim) inject(p *proc, op string) fault {
	s.mu.Lock()
	var f fault
	switch {
	case s.phase != 0:
	case p.cut:
		f.kind = errBefore
	case s.faultRate > 0 && s.rng.Float64() < s.faultRate:
		f.kind = faultKind(1 + s.rng.IntN(6))
		if f.kind == latency {
			f.d = []time.Duration{5 * time.Millisecond, 50 * time.Millisecond, 300 * time.Millisecond}[s.rng.IntN(3)]
			f.back = s.rng.IntN(2) == 0
		}
	}
	// A store that answers within the gate timeout answers in time: a
	// latency below it is no fault for the invariants, and the K bound
	// holds through it.
	if f.kind != noFault && !(f.kind == latency && f.d <= fleet.DefaultGateTimeout) {
		p.faults++
		if s.recOK {
			s.taint[keyOf(s.rec)] = true
		}
	}
	s.mu.Unlock()
	if f.kind != noFault {
		extra := ""
		if f.kind == latency {
			extra = " " + f.d.String()
			if f.back {
				extra += " on the answer"
			}
		}
		s.tracef("  i%d %s: fault: %v%s", p.id, op, f.kind, extra)
	}
	if f.kind == latency && !f.back {
		s.clk.Advance(f.d)
	}
	return f
}

// answered lets the time pass that an answer late on its way back takes.
func (s *sim) answered(f fault) {
	if f.kind == latency && f.back {
		s.clk.Advance(f.d)
	}
}

// observeRec takes note of a record the store answered with.
func (s *sim) observeRec(r fleet.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observeRecLocked(r)
}

func (s *sim) observeRecLocked(r fleet.Record) {
	if r.Name != Circuit {
		return
	}
	k := keyOf(r)
	if s.recOK && r.Incarnation == s.rec.Incarnation && r.Generation < s.rec.Generation {
		return // an answer overtaken by a newer one (steps that ran concurrently)
	}
	if r.Incarnation != s.lastInc {
		s.lastInc = r.Incarnation
		s.incs++
	}
	wasOK := s.recOK
	changed := !s.recOK || k != keyOf(s.rec)
	s.rec, s.recAt, s.recOK = r, s.clk.Now(), true
	if !changed {
		return
	}
	if wasOK {
		s.trips = nil // the trips since a loss count towards the new record
	}
	for _, l := range s.leases {
		if l.k != k {
			l.live = false
		}
	}
	if k != s.lastPub {
		s.lastPub = k
		for _, p := range s.procs {
			if p.co != nil && len(p.inbox) < 32 {
				p.inbox = append(p.inbox, r)
			}
		}
	}
}

// effState is the state of the fleet's record now (an open record whose
// period ended is half-open).
func (s *sim) effState() breaker.State {
	if s.rec.State == breaker.Open && s.rec.Mode == fleet.ModeNone && !s.clk.Now().Before(s.recAt.Add(s.rec.Remaining)) {
		return breaker.HalfOpen
	}
	return s.rec.State
}

func (f *faultStore) Trip(ctx context.Context, name string, t fleet.TripRequest, p fleet.Params) (fleet.Record, error) {
	s := f.s
	fa := s.inject(f.p, "Trip")
	if err := fa.before(); err != nil {
		return fleet.Record{}, err
	}
	s.preempt(f.p, "Trip")
	s.mu.Lock()
	pre, preOK := keyOf(s.rec), s.recOK && s.rec.State == breaker.Closed && s.rec.Mode == fleet.ModeNone
	if preOK || !s.recOK { // unknown: lost, and about to be created closed
		s.trips = append(s.trips, tripRec{p: f.p, at: s.clk.Now(), k: key{t.Incarnation, t.Generation}})
	}
	s.mu.Unlock()
	rec, err := s.tgt.Store.Trip(ctx, name, t, p)
	if err != nil {
		return rec, err
	}
	s.answered(fa)
	s.mu.Lock()
	if preOK && rec.State == breaker.Open && rec.Incarnation == pre.inc && rec.Generation > pre.gen {
		s.checkQuorumSound(pre, rec)
	}
	s.observeRecLocked(rec)
	s.mu.Unlock()
	s.tracef("  i%d Trip(%s as of %v) -> %s", f.p.id, t.Instance, key{t.Incarnation, t.Generation}, recText(rec))
	s.preempt(f.p, "Trip answer")
	return f.after(fa, rec)
}

func (f *faultStore) Closed(ctx context.Context, name string, c fleet.CloseRequest, p fleet.Params) (fleet.Record, error) {
	s := f.s
	fa := s.inject(f.p, "Closed")
	if err := fa.before(); err != nil {
		return fleet.Record{}, err
	}
	s.preempt(f.p, "Closed")
	rec, err := s.tgt.Store.Closed(ctx, name, c, p)
	if err != nil {
		return rec, err
	}
	s.answered(fa)
	s.observeRec(rec)
	s.tracef("  i%d Closed(%s as of %v) -> %s", f.p.id, c.Instance, key{c.Incarnation, c.Generation}, recText(rec))
	s.preempt(f.p, "Closed answer")
	return f.after(fa, rec)
}

// checkQuorumSound: a Trip opened the record; Quorum distinct breakers
// must have tripped within the window (trips of an older generation of
// the same life of the record do not count).
func (s *sim) checkQuorumSound(pre key, rec fleet.Record) {
	now := s.clk.Now()
	seen := map[*proc]bool{}
	var who []string
	for _, t := range s.trips {
		if now.Sub(t.at) >= s.params.QuorumWindow || (t.k.inc == pre.inc && t.k.gen < pre.gen) || seen[t.p] {
			continue
		}
		seen[t.p] = true
		w := fmt.Sprintf("i%d", t.p.id)
		if t.p.doubled {
			w += " (its breaker attached to two coordinators)"
		}
		who = append(who, w)
	}
	if len(seen) < s.params.Quorum {
		s.violateLocked(InvQuorumSound, fmt.Sprintf("the fleet opened (%v) on the trips of %d breaker(s) %v within %v, quorum %d", keyOf(rec), len(seen), who, s.params.QuorumWindow, s.params.Quorum))
	}
}

func (f *faultStore) after(fa fault, rec fleet.Record) (fleet.Record, error) {
	switch {
	case fa.lost():
		return fleet.Record{}, fa.afterErr()
	case fa.kind == corrupt:
		return corruptRec(rec), nil
	}
	return rec, nil
}

func (f *faultStore) Flush(ctx context.Context, batch []fleet.Counts, p fleet.Params) ([]fleet.Record, []error, error) {
	s := f.s
	fa := s.inject(f.p, "Flush")
	if err := fa.before(); err != nil {
		return nil, nil, err
	}
	var succ, fail uint64
	for _, c := range batch {
		if c.Name == Circuit {
			succ += c.Successes
			fail += c.Failures
		}
	}
	s.mu.Lock()
	f.p.flushing++
	if f.p.flushing > 1 {
		f.p.overlap = true
	}
	s.mu.Unlock()
	s.preempt(f.p, "Flush")
	recs, errs, err := s.tgt.Store.Flush(ctx, batch, p)
	s.answered(fa)
	s.mu.Lock()
	if err == nil {
		f.p.flushes++
		// The store took the batch, whether or not its answer comes back:
		// what it added is what the store's dedup of Counts.Sender gives.
		for _, c := range batch {
			if c.Name != Circuit {
				continue
			}
			t := s.taken[c.Sender]
			addS, addF, keepS, keepF := c.Take(t[0], t[1])
			if c.Sender != "" {
				s.taken[c.Sender] = [2]uint64{keepS, keepF}
				if f.co == f.p.coName {
					f.p.sender = c.Sender
				}
			}
			f.p.sentS += addS
			f.p.sentF += addF
		}
		for i, r := range recs {
			if i < len(errs) && errs[i] == nil {
				s.observeRecLocked(r)
			}
		}
	}
	s.mu.Unlock()
	if err != nil {
		s.mu.Lock()
		f.p.flushing--
		s.mu.Unlock()
		return recs, errs, err
	}
	if succ+fail > 0 || len(recs) > 0 {
		var b strings.Builder
		for _, r := range recs {
			b.WriteString(recText(r))
		}
		s.tracef("  i%d Flush(+%d ok, +%d failed) -> %s", f.p.id, succ, fail, b.String())
	}
	// Until the coordinator has the answer, a flush is in flight.
	s.preempt(f.p, "Flush answer")
	s.mu.Lock()
	f.p.flushing--
	s.mu.Unlock()
	switch {
	case fa.lost():
		return nil, nil, fa.afterErr()
	case fa.kind == corrupt:
		out := make([]fleet.Record, len(recs))
		for i, r := range recs {
			out[i] = corruptRec(r)
		}
		return out, errs, nil
	}
	return recs, errs, nil
}

func (f *faultStore) AcquireProbe(ctx context.Context, name string, r fleet.ProbeRequest, p fleet.Params) (fleet.Verdict, fleet.Record, error) {
	s := f.s
	fa := s.inject(f.p, "AcquireProbe")
	if err := fa.before(); err != nil {
		return 0, fleet.Record{}, err
	}
	s.preempt(f.p, "AcquireProbe")
	v, rec, err := s.tgt.Store.AcquireProbe(ctx, name, r, p)
	if err != nil {
		return v, rec, err
	}
	s.answered(fa)
	s.mu.Lock()
	s.observeRecLocked(rec)
	if v == fleet.ProbeAdmit {
		l := &lease{id: r.Lease, p: f.p, owner: f.co, faults: f.p.faults, k: key{r.Incarnation, r.Generation},
			expires: s.clk.Now().Add(s.params.ProbeTimeout), live: true}
		if n := len(f.p.frames); n > 0 && !fa.lost() && fa.kind != corrupt {
			l.permit = f.p.frames[n-1]
			l.permit.lease = l
		}
		s.leases[r.Lease] = l
	}
	s.mu.Unlock()
	s.tracef("  i%d AcquireProbe(%v, %s) -> %v %s", f.p.id, key{r.Incarnation, r.Generation}, r.Lease, v, recText(rec))
	// An answer other than admit is acted on after the store has moved
	// on: the window where a newer decision can land first.
	s.preempt(f.p, "AcquireProbe answer "+v.String())
	s.mu.Lock()
	if l := s.leases[r.Lease]; l != nil && !fa.lost() && fa.kind != corrupt {
		l.handed = true // a lease whose answer is lost costs the fleet its life
	}
	s.mu.Unlock()
	rec, err = f.after(fa, rec)
	if err != nil {
		return 0, rec, err
	}
	return v, rec, nil
}

func (f *faultStore) ReportProbe(ctx context.Context, name string, r fleet.ProbeReport, p fleet.Params) (fleet.Record, error) {
	s := f.s
	s.checkOwnLease(f.p, r)
	s.mu.Lock()
	if l := s.leases[r.Lease]; l != nil {
		l.ending = true
	}
	s.mu.Unlock()
	fa := s.inject(f.p, "ReportProbe")
	if err := fa.before(); err != nil {
		return fleet.Record{}, err
	}
	s.preempt(f.p, "ReportProbe")
	rec, err := s.tgt.Store.ReportProbe(ctx, name, r, p)
	if err != nil {
		return rec, err
	}
	s.answered(fa)
	s.mu.Lock()
	if l := s.leases[r.Lease]; l != nil {
		l.live = false
	}
	s.observeRecLocked(rec)
	s.mu.Unlock()
	s.tracef("  i%d ReportProbe(%v, %s, %v) -> %s", f.p.id, key{r.Incarnation, r.Generation}, r.Lease, r.Outcome, recText(rec))
	s.preempt(f.p, "ReportProbe answer")
	return f.after(fa, rec)
}

// checkOwnLease: a probe's report names its own lease, with its outcome.
func (s *sim) checkOwnLease(p *proc, r fleet.ProbeReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leases[r.Lease]
	switch {
	case l == nil:
		s.violateLocked(InvOwnLease, fmt.Sprintf("i%d reported %v under lease %s, which the store never granted", p.id, r.Outcome, r.Lease))
	case l.p != p:
		s.violateLocked(InvOwnLease, fmt.Sprintf("i%d reported %v under lease %s, granted to i%d", p.id, r.Outcome, r.Lease, l.p.id))
	case r.Outcome == breaker.Ignored || l.permit == nil:
	case !l.permit.done:
		s.violateLocked(InvOwnLease, fmt.Sprintf("i%d reported %v under lease %s, whose probe is still running: the report of another probe was filed under it", p.id, r.Outcome, r.Lease))
	case l.permit.outcome != r.Outcome:
		s.violateLocked(InvOwnLease, fmt.Sprintf("i%d reported %v under lease %s, whose probe ended %v", p.id, r.Outcome, r.Lease, l.permit.outcome))
	}
}

func (f *faultStore) Force(ctx context.Context, name string, m fleet.Mode, p fleet.Params) (fleet.Record, error) {
	s := f.s
	fa := s.inject(f.p, "Force")
	if err := fa.before(); err != nil {
		return fleet.Record{}, err
	}
	s.preempt(f.p, "Force")
	rec, err := s.tgt.Store.Force(ctx, name, m, p)
	if err != nil {
		return rec, err
	}
	s.answered(fa)
	s.observeRec(rec)
	s.tracef("  i%d Force(%v) -> %s", f.p.id, m, recText(rec))
	s.preempt(f.p, "Force answer")
	return f.after(fa, rec)
}

// Events passes through: a driven coordinator does not subscribe; the run
// delivers events itself (Coordinator.Deliver).
func (f *faultStore) Events(ctx context.Context) (<-chan fleet.Record, error) {
	return f.s.tgt.Store.Events(ctx)
}

func recText(r fleet.Record) string {
	s := fmt.Sprintf("[%v %v", keyOf(r), r.State)
	if r.Mode != fleet.ModeNone {
		s += " " + r.Mode.String()
	}
	if r.Remaining > 0 {
		s += " " + r.Remaining.String()
	}
	if r.Probing+r.Succeeded > 0 {
		s += fmt.Sprintf(" leases %d ok %d", r.Probing, r.Succeeded)
	}
	return s + "]"
}
