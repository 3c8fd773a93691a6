package fleetsim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
)

// observeTransition is the run's own look at every transition of a
// breaker: an open of the breaker's own making is noted for
// "quorum-opens" ("detached" is checked at each Adopt: see circuit.Adopt).
func (s *sim) observeTransition(p *proc, t breaker.Transition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.lastExt, p.lastTo = t.Cause == breaker.CauseExternal, t.To
	if t.Cause != breaker.CauseExternal && !t.Shadow {
		who := "its own"
		if t.Cause == breaker.CauseManual {
			who = "an operator's"
		}
		s.noteLocalLocked(p, t.Generation, fmt.Sprintf("%s %v>%v (%v)", who, t.From, t.To, t.Cause))
	}
	own := t.To == breaker.Open && (t.Cause == breaker.CausePolicy || (t.Cause == breaker.CauseProbe && t.From == breaker.HalfOpen))
	if !own || s.phase != 0 || p.co == nil || p.detach == nil || p.attached != 1 || p.co.Degraded() || !s.recOK {
		return
	}
	k, ok := s.knownLocked(p)
	if !ok || k != keyOf(s.rec) || s.rec.Mode != fleet.ModeNone {
		return
	}
	if st := s.effState(); st != breaker.Closed && st != breaker.HalfOpen {
		return
	}
	how := "trip"
	if t.Cause == breaker.CauseProbe {
		how = "reopen"
	}
	s.opens = append(s.opens, openRec{p: p, co: p.co, at: s.clk.Now(), k: k, faults: p.faults, steps: p.steps, how: how, attaches: p.attaches})
	s.trace = append(s.trace, fmt.Sprintf("  (i%d: own %s under %v %v)", p.id, how, k, s.effState()))
}

// delivered: p's coordinator finished a Step begun after some of its
// breaker's own opens, in which it flushed, with no fault in between: they
// have reached the store, whether the coordinator sends them as hand-offs
// or with its flush. Once Quorum distinct instances' opens under the
// record the store still holds have reached it, all within QuorumWindow
// (from the earliest open to the latest delivery, so that the store's own
// window, which falls in between, is shorter), the record must have moved
// on.
func (s *sim) delivered(p *proc, co *fleet.Coordinator, steps, flushes uint64) {
	degraded := co.Degraded()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.recOK {
		return
	}
	now, cur := s.clk.Now(), keyOf(s.rec)
	flushed := p.flushes > flushes
	kept := s.opens[:0]
	for _, o := range s.opens {
		if o.k != cur {
			continue
		}
		if o.p == p && !o.delivered {
			if o.steps >= steps || !flushed {
				kept = append(kept, o)
				continue
			}
			// Work queued for a breaker is fenced by its attachment: an
			// open made under an earlier one may never reach the store.
			if o.faults != p.faults || degraded || o.co != co || p.co != co || p.attached != 1 || o.attaches != p.attaches {
				continue // it may not have reached the store: forget it
			}
			o.delivered, o.dAt = true, now
		}
		kept = append(kept, o)
	}
	s.opens = kept
	for _, first := range s.opens {
		if !first.delivered {
			continue
		}
		seen := map[*proc]bool{}
		var who []string
		for _, o := range s.opens {
			if o.delivered && !o.at.Before(first.at) && o.dAt.Sub(first.at) < s.params.QuorumWindow && !seen[o.p] {
				seen[o.p] = true
				if o.p.doubled {
					who = append(who, "attached to two coordinators:")
				}
				who = append(who, fmt.Sprintf("i%d %s at %v", o.p.id, o.how, o.at.Sub(s.o.Start)))
			}
		}
		if len(seen) < s.params.Quorum {
			continue
		}
		st := "closed"
		if s.rec.State != breaker.Closed {
			st = "half-open"
		}
		lost := ""
		if s.incs > 1 {
			lost = " (the record was lost and created again)"
		}
		s.violateLocked(InvQuorumOpens, fmt.Sprintf("%d instances (%s) opened on their own under the %s record %s%s within %v and told the store, quorum %d; the record has not moved on",
			len(seen), strings.Join(who, ", "), st, recText(s.rec), lost, s.params.QuorumWindow, s.params.Quorum))
		return
	}
}

type view struct {
	p        *proc
	co       *fleet.Coordinator
	known    fleet.Record
	knownOK  bool
	degraded bool
	m        breaker.Metrics
}

// views reads every instance: what its coordinator knows and its
// breaker's state. No lock of the run is held while it calls them.
func (s *sim) views() []view {
	s.mu.Lock()
	vs := make([]view, 0, len(s.procs))
	for _, p := range s.procs {
		vs = append(vs, view{p: p, co: p.co})
	}
	s.mu.Unlock()
	for i := range vs {
		v := &vs[i]
		v.m = v.p.b.Metrics()
		if v.co != nil {
			v.known, v.knownOK = known(v.co)
			v.degraded = v.co.Degraded()
		}
	}
	return vs
}

// check holds the invariants checked after every step.
func (s *sim) check() {
	vs := s.views()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	// monotonic: the breaker is in the mode of the newest record its
	// coordinator knows, unless steered by hand since.
	for _, v := range vs {
		p := v.p
		if v.co == nil || p.detach == nil || p.attached != 1 || !v.knownOK {
			continue
		}
		k := keyOf(v.known)
		if p.overrideFirst || p.override.inc != k.inc {
			p.override, p.overrideFirst = k, false
			continue
		}
		if k == p.override {
			continue
		}
		// A record without a mode promises nothing about a local mode
		// (adopting a close leaves a disabled breaker as it is).
		bad := v.known.Mode != fleet.ModeNone && v.m.Mode != v.known.Mode
		// Without a mode, the last adoption must agree with the record:
		// an adopted open over a known close, or the other way round.
		if v.known.Mode == fleet.ModeNone && p.lastExt && (v.known.State == breaker.Closed) != (p.lastTo == breaker.Closed) {
			bad = true
		}
		if bad {
			s.violateLocked(InvMonotonic, fmt.Sprintf("i%d's coordinator knows %s, newer than any local action, but its breaker is %v in mode %v (last adopted: %v): an older decision was applied over it",
				p.id, recText(v.known), v.m.State, v.m.Mode, p.lastTo))
			return
		}
	}
	// counts-once: no count reaches the store twice (beyond those whose
	// answer was lost, which the coordinator cannot know arrived).
	if s.counting {
		for _, v := range vs {
			p := v.p
			if p.sentS > v.m.Successes || p.sentF > v.m.Failures {
				why := ""
				switch {
				case p.overlap:
					why = "; two flushes of this instance overlapped"
				case p.doubled:
					why = "; the breaker was attached to two coordinators at once"
				case p.attaches > 1:
					why = fmt.Sprintf("; the breaker was attached %d times", p.attaches)
				}
				s.violateLocked(InvCountsOnce, fmt.Sprintf("i%d's breaker counted %d successes and %d failures, but %d and %d reached the store%s",
					p.id, v.m.Successes, v.m.Failures, p.sentS, p.sentF, why))
				return
			}
		}
	}
	// probe-bound: at most K probes in flight per fleet generation while
	// the store answers in time.
	if !s.recOK || s.rec.Mode != fleet.ModeNone || s.effState() != breaker.HalfOpen {
		return
	}
	cur := keyOf(s.rec)
	for _, v := range vs {
		if v.co != nil && v.degraded || v.p.cut {
			s.taint[cur] = true
		}
	}
	if s.taint[cur] {
		return
	}
	n := 0
	var who []string
	for _, p := range s.procs {
		for _, pm := range p.held {
			if pm.done {
				continue
			}
			if l := pm.lease; l != nil && l.k == cur && l.live && now.Before(l.expires) || pm.local && pm.localKey == cur {
				n++
				w := fmt.Sprintf("i%d%s", p.id, pm.leaseText())
				if p.doubled {
					w += " (its breaker attached to two coordinators)"
				}
				who = append(who, w)
			}
		}
	}
	if n > s.params.Probes {
		s.violateLocked(InvProbeBound, fmt.Sprintf("%d probes in flight under %s, K = %d: %s", n, recText(s.rec), s.params.Probes, strings.Join(who, ", ")))
	}
}

// calm stops the faults and checks that the fleet converges.
func (s *sim) calm() {
	s.mu.Lock()
	s.phase, s.faultRate, s.dep = 1, 0, 0
	for _, p := range s.procs {
		p.cut = false
	}
	s.mu.Unlock()
	s.tracef("calm: store faults stop, every instance reaches the store, the dependency is healthy")
	for _, p := range s.procs {
		s.mu.Lock()
		held := p.held
		p.held = nil
		co2 := p.co2
		p.co2 = nil
		s.mu.Unlock()
		for _, pm := range held {
			s.mu.Lock()
			pm.done, pm.outcome = true, breaker.Success
			s.mu.Unlock()
			s.tracef("i%d: a held call ends: ok%s", p.id, pm.leaseText())
			pm.pm.Done(0, nil)
		}
		if co2 != nil {
			s.tracef("i%d: close the second coordinator", p.id)
			_ = co2.Close()
			s.mu.Lock()
			if p.detach2 != nil {
				p.attached--
			}
			p.detach2 = nil
			p.touched = true
			s.mu.Unlock()
		}
		s.mu.Lock()
		co, touched, attached := p.co, p.touched, p.detach != nil
		s.mu.Unlock()
		switch {
		case co == nil:
			// The process restarts its coordinator; what the old one
			// adopted is reset, as a new process would start.
			s.tracef("i%d: local Reset, to rejoin the fleet", p.id)
			p.b.Reset()
			s.startCo(p)
		case touched || !attached:
			// Steered by hand, or detached: the operator rejoins it.
			s.detachCo(p)
			s.tracef("i%d: local Reset, to rejoin the fleet", p.id)
			p.b.Reset()
			s.attach(p)
		}
		s.mu.Lock()
		p.touched = false
		s.mu.Unlock()
	}
	s.endStep()
	start := s.clk.Now()
	for !s.failed() {
		d := pick(s, 100*time.Millisecond, 250*time.Millisecond, 500*time.Millisecond)
		s.clk.Advance(d)
		s.tracef("advance %v", d)
		for _, p := range s.live() {
			s.call(p, "")
			s.step(p)
		}
		for _, p := range s.live() {
			for {
				s.mu.Lock()
				if len(p.inbox) == 0 || p.co == nil {
					p.inbox = nil
					s.mu.Unlock()
					break
				}
				rec, co := p.inbox[0], p.co
				p.inbox = p.inbox[1:]
				s.mu.Unlock()
				s.tracef("i%d: event %v delivered", p.id, keyOf(rec))
				co.Deliver(rec)
			}
		}
		for _, p := range s.live() {
			s.mu.Lock()
			held := p.held
			p.held = nil
			s.mu.Unlock()
			for _, pm := range held {
				s.mu.Lock()
				pm.done, pm.outcome = true, breaker.Success
				s.mu.Unlock()
				pm.pm.Done(0, nil)
			}
		}
		s.endStep()
		if s.failed() {
			return
		}
		vs := s.views()
		s.mu.Lock()
		ok, why := s.converged(vs)
		s.mu.Unlock()
		if ok {
			s.tracef("converged after %v (bound %v)", s.clk.Now().Sub(start), s.bound)
			s.countedOnce()
			return
		}
		if s.clk.Now().Sub(start) > s.bound {
			s.violate(InvConverge, fmt.Sprintf("not converged %v after the faults stopped (bound %v): %s", s.clk.Now().Sub(start), s.bound, why))
			return
		}
	}
}

// converged: the fleet's record is settled (closed, or a manual mode), and
// every instance knows it, is not degraded and has its breaker in the
// record's state and mode.
func (s *sim) converged(vs []view) (bool, string) {
	if !s.recOK {
		return false, "no record known"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the fleet's record is %s", recText(s.rec))
	ok := s.rec.Mode != fleet.ModeNone || s.rec.State == breaker.Closed
	for _, v := range vs {
		if v.co == nil {
			continue
		}
		good := !v.degraded && v.knownOK && keyOf(v.known) == keyOf(s.rec) && v.m.Mode == s.rec.Mode &&
			(s.rec.Mode != fleet.ModeNone || v.m.State == breaker.Closed)
		if !good {
			ok = false
		}
		fmt.Fprintf(&b, "; i%d knows %s, breaker %v mode %v, degraded %v", v.p.id, recText(v.known), v.m.State, v.m.Mode, v.degraded)
	}
	return ok, b.String()
}

// countedOnce: with the store answering, one more Sync of every instance
// brings the store exactly the counts its breaker made while attached: a
// count whose flush's answer was lost is neither lost nor taken twice.
func (s *sim) countedOnce() {
	if !s.counting || s.o.Ignore[InvCountsOnce] {
		return
	}
	for _, p := range s.live() {
		s.mu.Lock()
		co := p.co
		ok := co != nil && p.detach != nil && p.attached == 1 && p.baseOK && !p.doubled
		s.mu.Unlock()
		if !ok {
			continue
		}
		// The coordinator's guard breaker may still turn a step away
		// after the faults: its longest open period is 2s.
		var err error
		for range 3 {
			if err = co.Sync(context.Background()); err == nil {
				break
			}
			s.clk.Advance(2 * time.Second)
		}
		if err != nil {
			s.violate(InvCountsOnce, fmt.Sprintf("i%d: Sync with the store answering: %v", p.id, err))
			return
		}
		mt := p.b.Metrics()
		s.mu.Lock()
		t := s.taken[p.sender]
		wantS, wantF := mt.Successes-p.attachS, mt.Failures-p.attachF
		s.mu.Unlock()
		if p.sender == "" || t[0] != wantS || t[1] != wantF {
			s.violate(InvCountsOnce, fmt.Sprintf("i%d's breaker counted %d successes and %d failures since it was attached, but the store took %d and %d from its sender %q: a count was lost or taken twice",
				p.id, wantS, wantF, t[0], t[1], p.sender))
			return
		}
	}
}
