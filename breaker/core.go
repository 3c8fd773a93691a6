package breaker

import (
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/internal/fsm"
	"github.com/tripwire-go/tripwire/policy"
)

// core is everything of a Breaker that does not depend on T. Keeping it out
// of the generic type lets the compiler inline its small methods into the
// hot path: generic code is compiled once per shape, with a dictionary, and
// the inliner gives up on calls it would otherwise inline there.
type core struct {
	word  *atomic.Uint64 // the machine's state word, read by every call
	m     *fsm.Machine
	name  string
	clock Clock
	// coarse, if not nil, tells the time of a closed call for a policy
	// that needs it only to within a tolerance (see coarseClock).
	//
	// coarse, needs and consecutive change only with Reconfigure: atomic,
	// so that calls read them as plain loads (on amd64 and arm64 the same
	// instruction as a field's) while a reconfiguration replaces them.
	coarse atomic.Pointer[coarseClock]
	// exact: read the clock on every call while open (a Clock of the
	// user's); otherwise a timer flags the end of each open period.
	exact bool
	needs atomic.Uint32 // the policy.Needs of the policy's terms
	// gated: a closed call goes through admit, for a start time or the
	// policy's shedder (live.shed); otherwise a plain closed word admits
	// it at once. Set with needs, by setPolicy.
	gated atomic.Bool
	// consecutive is the policy when it is a *policy.ConsecutivePolicy, to
	// be called without going through the interface.
	consecutive atomic.Pointer[policy.ConsecutivePolicy]
	// live is what else Reconfigure changes; see reconfigure.go.
	live         atomic.Pointer[live]
	notify       func(name string, from, to State)
	onTransition func(Transition)
	listeners    listeners               // Subscribe's; see hooks.go
	gate         atomic.Pointer[gateBox] // SetProbeGate's; nil: none
	counters     *counters               // nil unless Config.CountCalls; see metrics.go

	// rejection is the error for calls rejected under its generation,
	// built once per open or half-open period.
	rejection atomic.Pointer[OpenError]
	// timer is the pending wake-up of the current open period (real clock
	// only). Guarded by the machine's lock: only fsm.Config.Opened touches it.
	timer *time.Timer

	ev evidence // why each transition happened; see evidence.go

	rec recovery // ramp-up and retry-after; see recovery.go

	shadowing // shadows, shadow-only, OnCall (shadow.go)
}

func (c *core) init(s *settings) {
	c.name = s.name
	c.clock = s.clock
	c.exact = s.exactClock
	if o := s.observe(c); o != nil { // a candidate's core has its mark already
		c.obs.Store(o)
	}
	c.setPolicy(s)
	c.notify = s.onStateChange
	c.onTransition = s.onTransition
	if s.countCalls {
		c.counters = newCounters()
	}
	c.ev.describe = s.describeError
	mc := s.machineConfig()
	mc.Stamp = c.stamp
	c.rec.ramp, c.rec.maxRetryAfter = s.rampUp, s.maxRetryAfter
	if !c.exact {
		mc.Opened = c.armTimer
	}
	c.m = fsm.New(mc, c.clock.Now())
	c.word = c.m.Word()
	// A placeholder, so that loads need no nil check: it belongs to no
	// generation a rejection can happen in (the machine starts closed).
	c.rejection.Store(&OpenError{gen: c.load().Gen(), fast: noWord, counted: noWord})
}

// armTimer makes the end of an open period visible to callers without a
// clock read on each rejected call: the timer only flags the word, and the
// next caller reads the clock and moves the circuit to half-open. One timer
// per open period, stopped when the next is armed; it runs no user code and
// leaves no goroutine behind once it has fired.
func (c *core) armTimer(w fsm.Word, d time.Duration) {
	if c.timer != nil {
		c.timer.Stop()
	}
	if d <= 0 {
		// Forced open: no end to flag. Or a period that has ended
		// already: the machine published its word flagged.
		c.timer = nil
		return
	}
	m := c.m
	c.timer = time.AfterFunc(d, func() { m.MarkDue(w) })
}

// load returns the state word. It is fsm.Machine.Load, reached through the
// atomic directly because the compiler does not inline Load here.
func (c *core) load() fsm.Word { return fsm.Word(c.word.Load()) }

// fastRejection returns the error for a call under w when the circuit is
// open and the call can be rejected without reading the clock, or nil. It
// is one load and one comparison: rejectionFor sets OpenError.fast only
// on errors built for such words, by a breaker that does not count calls.
func (c *core) fastRejection(w fsm.Word) error {
	if e := c.rejection.Load(); e.fast == w {
		return e
	}
	return nil
}

// countedRejection is fastRejection for a breaker that counts calls: its
// errors have the word in OpenError.counted, and its caller counts the
// rejection. Apart, so that a breaker without CountCalls rejects as it
// did before counting had a shortcut (the count's nil check, or a call to
// it that kept fastRejection from being inlined, cost every rejection 2
// to 12 instructions, callgrind), and so that this stays inlined too.
func (c *core) countedRejection(w fsm.Word) error {
	if e := c.rejection.Load(); e.counted == w {
		return e
	}
	return nil
}

// succeeded counts a success of a call admitted closed under w, for a
// policy that needs no duration. Execute calls the default policy itself,
// and this for every other. It writes nothing unless the policy does, and
// reads the clock only for a policy that needs the time.
func (c *core) succeeded(w fsm.Word) {
	var call policy.Call
	// The time of the call, from the coarse clock if the policy's terms
	// allow one. Written out rather than in a method, which the compiler
	// does not inline: 15 instructions a call (callgrind).
	if cc := c.coarse.Load(); cc != nil {
		call.At = cc.Now()
	} else if c.needs.Load() != 0 {
		call.At = c.clock.Now()
	}
	if c.m.Record(w, call) {
		c.tripFrom(w)
	}
}

func (c *core) state() State {
	w := c.load()
	if w.State() == fsm.Open {
		c.m.Expire(c.clock.Now())
		c.flush()
		// Load again: the callbacks just delivered may have moved the
		// circuit on.
		w = c.load()
	}
	return State(w.State())
}

func (c *core) trip() {
	_ = c.actOn(Action{Kind: ActTrip})
}

func (c *core) tripFor(d time.Duration) {
	c.act("trip-for "+d.String(), "", "", func(now time.Time) { c.m.TripFor(d, now, fsm.CauseManual) })
}

func (c *core) forceOpen() {
	_ = c.actOn(Action{Kind: ActForceOpen})
}

func (c *core) disable() {
	_ = c.actOn(Action{Kind: ActDisable})
}

func (c *core) reset() {
	_ = c.actOn(Action{Kind: ActReset})
}

// ticket is what an admitted call remembers: the word it was admitted under,
// for policies that need it when it started, and for a probe admitted by a
// ProbeGate the gate to report it to.
type ticket struct {
	w     fsm.Word
	start time.Time
	gate  *gateBox
	probe ProbeID   // the gate's id of the probe; read only with gate set
	obs   *observed // what the observers keep of the call; see shadow.go
}

// admit decides whether a call may run now, starting from the word w. m,
// if not nil, is the reading of the clock the call shares with the other
// circuits that admit it (see moment): admit reads the clock through it.
func (c *core) admit(w fsm.Word, m *moment) (ticket, error) {
	for {
		switch w.State() {
		case fsm.Closed:
			if w.Ramping() && !c.m.AdmitRamp(w, c.at(m)) {
				return ticket{}, c.rampRejection(w)
			}
			if c.gated.Load() && !w.Muted() {
				if sh := c.live.Load().shed; sh != nil && sh.Shed(c.at(m)) {
					return ticket{}, c.shedRejection(w)
				}
			}
			t := ticket{w: w}
			if policy.Needs(c.needs.Load())&policy.NeedDuration != 0 && !w.Muted() {
				t.start = c.at(m)
			}
			return t, nil
		case fsm.Open:
			if !c.exact && !w.Due() {
				return ticket{}, c.rejectionFor(w)
			}
			next := c.m.Expire(c.at(m))
			c.flush()
			if next.State() == fsm.Open {
				return ticket{}, c.rejectionFor(next)
			}
			w = next
		case fsm.HalfOpen:
			var now time.Time
			if l := c.live.Load(); l.probeTimeout > 0 || l.timeProbes {
				now = c.at(m)
			}
			if c.m.Acquire(w, now) {
				g, id, ok := c.askGate(w, now)
				if !ok {
					return ticket{}, c.rejectionFor(w)
				}
				return ticket{w: w, start: now, gate: g, probe: id}, nil
			}
			next := c.load()
			if next == w && !c.m.Reclaim(w, now) {
				return ticket{}, c.rejectionFor(w)
			}
			w = c.load()
		}
	}
}

// finish counts the outcome of a call admitted with t.
func (c *core) finish(t ticket, o Outcome) { c.finishAt(t, o, nil) }

// finishAt is finish reading the clock through m, if not nil: the end of
// a call the breaker's candidates share (see moment).
func (c *core) finishAt(t ticket, o Outcome, m *moment) {
	if t.obs != nil {
		c.observeEnd(t, o, nil, true)
		return
	}
	if o > Ignored {
		o = Failure // an out-of-range Classify result must not pass for a success
	}
	c.count(o)
	switch t.w.State() {
	case fsm.Closed:
		if o == Ignored || t.w.Muted() {
			return
		}
		call := policy.Call{Failed: o == Failure}
		if cc := c.coarse.Load(); cc != nil && (m == nil || !m.read) {
			call.At = cc.Now() // see succeeded; an exact reading taken already is better
		} else if needs := policy.Needs(c.needs.Load()); needs != 0 {
			call.At = c.at(m)
			// A call admitted before a Reconfigure asked for durations
			// has no start: the machine gives it a duration of zero
			// (stamp), since its word is no longer current.
			if needs&policy.NeedDuration != 0 && !t.start.IsZero() {
				call = call.WithDuration(call.At.Sub(t.start))
			}
		}
		if c.m.Record(t.w, call) {
			c.tripFromAt(t.w, m)
		}
	case fsm.HalfOpen:
		var now time.Time
		l := c.live.Load()
		if o != Ignored || l.probeTimeout > 0 {
			now = c.at(m)
		}
		if o == Success && l.judge != nil {
			o = c.judgeProbe(t, now)
		}
		c.release(t, o, now)
	}
}

// release frees the half-open slot of the probe admitted with t, which
// ended with o, after telling the gate that admitted it. The slot is freed
// even if the gate panics: otherwise, with NoProbeTimeout, the circuit would
// stay half-open for good, rejecting every call.
func (c *core) release(t ticket, o Outcome, now time.Time) {
	defer func() {
		c.m.Release(t.w, fsm.Outcome(o), now)
		c.flush()
	}()
	if t.gate != nil {
		t.gate.g.ProbeDone(t.w.Gen(), t.probe, o)
	}
}

// judgeProbe asks the policy's judge whether a probe admitted with t that
// succeeded at now counts as a failure. If the judge panics, the probe
// counts as failed, as it would if Classify panicked: its slot is freed and
// the circuit opens again, and the panic goes on up.
func (c *core) judgeProbe(t ticket, now time.Time) Outcome {
	judged := false
	defer func() {
		if !judged {
			c.release(t, Failure, now)
		}
	}()
	call := policy.Call{}
	if policy.Needs(c.needs.Load())&policy.NeedTime != 0 {
		call.At = now
	}
	l := c.live.Load()
	if l.timeProbes {
		// A probe admitted before a Reconfigure gave the policy a judge
		// that times probes has no start: zero, never slow. Its result
		// changes nothing anyway (the half-open period started again).
		d := time.Duration(0)
		if !t.start.IsZero() {
			d = now.Sub(t.start)
		}
		call = call.WithDuration(d)
	}
	failed := l.judge != nil && l.judge.ProbeFailed(call)
	judged = true
	if failed {
		return Failure
	}
	return Success
}

func (c *core) tripFrom(w fsm.Word) { c.tripFromAt(w, nil) }

func (c *core) tripFromAt(w fsm.Word, m *moment) {
	c.m.TripFrom(w, c.at(m))
	c.flush()
}

// rejectionFor returns the error for a call rejected under w, building it
// once per period.
func (c *core) rejectionFor(w fsm.Word) error {
	c.rejected()
	if e := c.rejection.Load(); e.gen == w.Gen() {
		return e
	}
	until, forced := c.m.Period()
	l := c.live.Load()
	e := newOpenError(c.name, w, until, l.probes, l.probeTimeout, forced)
	if w.Rejecting() && !c.exact {
		// Open, no due flag, real clock: until the word changes, calls
		// under it are rejected without reading the clock.
		if c.counters == nil {
			e.fast = w
		} else {
			e.counted = w
		}
	}
	c.rejection.Store(e)
	return e
}

// flush delivers queued transitions to the listeners.
func (c *core) flush() { c.m.Flush(c.deliver) }

// deliver gives one transition to OnStateChange (for a change of state),
// OnTransition and the Subscribe listeners, in that order. Each listener
// gets it even if one before it panicked: a coordinator must not miss a
// transition because a logging callback failed. The first panic goes on up
// afterwards, with its original value.
func (c *core) deliver(ft fsm.Transition) {
	t := c.transition(ft)
	c.explain(&t)
	var (
		panicked bool
		value    any
	)
	call := func(f func()) {
		defer func() {
			if v := recover(); v != nil && !panicked {
				panicked, value = true, v
			}
		}()
		f()
	}
	if c.notify != nil && t.From != t.To {
		call(func() { c.notify(t.Name, t.From, t.To) })
	}
	if c.onTransition != nil {
		call(func() { c.onTransition(t) })
	}
	if l := c.listeners.list.Load(); l != nil {
		for _, s := range *l {
			call(func() { s.fn(t) })
		}
	}
	if panicked {
		panic(value)
	}
}
