package fsm

import (
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/policy"
)

// RampFloor is the share of calls a ramp admits at its start. The share
// rises in a straight line from it to all calls at the ramp's end:
//
//	share(t) = RampFloor + (1-RampFloor)·(t-Start)/Length
//
// A straight line because a dependency that came back with some capacity
// gains the rest at some rate nobody knows: a line asks for the same
// increment every second, where an exponential curve would ask for most of
// it in the last moments. The floor is what the probes just proved the
// dependency takes, about.
const RampFloor = 0.1

// Ramp is the ramp of one close by probes: for Length from Start the
// circuit, closed, admits only share(t) of the calls (see RampFloor); the
// others are rejected without reaching the policy. Which calls are admitted
// is decided by a credit, not by chance, so that any run of calls gets the
// share in force to within one call: each call adds the share to the
// credit, and runs when that makes a whole call, which it spends. The
// credit starts whole, so the first call of a ramp runs.
type Ramp struct {
	Gen    uint64 // the generation of the closed word the ramp belongs to
	Start  time.Time
	Length time.Duration
	// credit is the ramp's credit, in millionths of a call, below one call
	// between calls: a share below 1 never adds a whole call. seen and let
	// count the calls, for tests and metrics.
	credit    atomic.Int64
	seen, let atomic.Uint64
}

// creditUnit is one call's worth of credit.
const creditUnit = 1_000_000

// NewRamp returns the ramp of a close at start for length.
func NewRamp(gen uint64, start time.Time, length time.Duration) *Ramp {
	r := &Ramp{Gen: gen, Start: start, Length: length}
	r.credit.Store(creditUnit - 1)
	return r
}

// Share returns the share of calls the ramp admits at now, in
// [RampFloor, 1]; 1 once the ramp has ended. A clock that went back before
// Start gives the floor.
func (r *Ramp) Share(now time.Time) float64 {
	e := now.Sub(r.Start)
	if e >= r.Length {
		return 1
	}
	if e <= 0 {
		return RampFloor
	}
	return RampFloor + (1-RampFloor)*float64(e)/float64(r.Length)
}

// End returns when the ramp ends.
func (r *Ramp) End() time.Time { return r.Start.Add(r.Length) }

// admit decides whether one more call may run at share s: it may while
// the calls admitted stay within s of those seen.
func (r *Ramp) admit(s float64) bool {
	add := max(int64(s*creditUnit), 1)
	r.seen.Add(1)
	for {
		c := r.credit.Load()
		n, ok := c+add, false
		if n >= creditUnit {
			n, ok = n-creditUnit, true
		}
		if r.credit.CompareAndSwap(c, n) {
			if ok {
				r.let.Add(1)
			}
			return ok
		}
	}
}

// Counts returns the calls the ramp has seen and admitted.
func (r *Ramp) Counts() (seen, admitted uint64) { return r.seen.Load(), r.let.Load() }

// RampOf returns the ramp of the ramping word w, or nil when w is not
// ramping or its ramp has been replaced (w is stale).
func (m *Machine) RampOf(w Word) *Ramp {
	r := m.ramp.Load()
	if !w.Ramping() || r == nil || r.Gen != w.Gen() {
		return nil
	}
	return r
}

// AdmitRamp decides whether a call under the ramping word w may run at
// now. It returns true, and clears the ramp flag, once the ramp has ended;
// true for a word that is no longer current (the caller loads the word
// again and finds out); otherwise whether the call is within the ramp's
// share. Calls it admits are closed calls like any other: their results go
// to the policy, which may trip the circuit.
func (m *Machine) AdmitRamp(w Word, now time.Time) bool {
	r := m.RampOf(w)
	if r == nil {
		return true
	}
	s := r.Share(now)
	if s >= 1 {
		// Without the lock, as MarkDue: the flag is a hint that only this
		// word carries, and a word that changed meanwhile keeps its own.
		m.word.CompareAndSwap(uint64(w), uint64(w&^rampBit))
		return true
	}
	return r.admit(s)
}

// recordRamp is Record for a call admitted under the ramping word w: while
// w is current it goes to the policy as any closed call does; once the
// ramp has ended, or the word moved on, it is a call of w's plain twin,
// which Record carries or drops as it would any.
func (m *Machine) recordRamp(w Word, c policy.Call) bool {
	if m.Load() != w {
		return m.Record(w&^rampBit, c)
	}
	n := m.rec.enter(w.Gen())
	if m.Load() != w {
		n.Add(-1)
		return m.Record(w&^rampBit, c)
	}
	defer n.Add(-1)
	return m.cfg.Policy.Record(c)
}
