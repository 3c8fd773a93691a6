package breaker_test

import (
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// The tests in this file hold Permit to what its doc promises when it is
// misused; TestPermitMisuse in breaker_test.go covers the plain cases (Done
// twice, on a copy, on the zero Permit).

func allow(t *testing.T, r *rig) breaker.Permit[int] {
	t.Helper()
	p, err := r.b.Allow()
	if err != nil {
		t.Fatalf("Allow rejected: %v", err)
	}
	return p
}

func wantAllowRejected(t *testing.T, r *rig) *breaker.OpenError {
	t.Helper()
	_, err := r.b.Allow()
	return wantRejected(t, err)
}

// TestPermitDoneOnRejection: a caller that ignores Allow's error gets the
// zero Permit, whose Done does nothing.
func TestPermitDoneOnRejection(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newRig(t, cs, breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Second})
		r.b.Trip()
		p, err := r.b.Allow()
		wantRejected(t, err)
		p.Done(0, nil)
		p.Done(0, errDependency)
		r.wantState(breaker.Open)
		r.wantLog("closed>open")
		r.clk.Add(time.Second)
		r.wantState(breaker.HalfOpen)
		p.Done(0, nil) // still nothing: no probe slot to free, no success to count
		for range breaker.DefaultHalfOpenProbes {
			allow(t, r)
		}
		wantAllowRejected(t, r)
	})
}

// TestPermitDoneConcurrentCopies: copies of one permit reported from many
// goroutines at once count once between them.
func TestPermitDoneConcurrentCopies(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newRig(t, cs, breaker.Config[int]{Policy: policy.Consecutive(3)})
		permits := []breaker.Permit[int]{allow(t, r), allow(t, r)}
		var wg sync.WaitGroup
		for range 8 {
			for _, p := range permits {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p.Done(0, errDependency)
				}()
			}
		}
		wg.Wait()
		r.wantState(breaker.Closed) // two failures, not sixteen
		allow(t, r).Done(0, errDependency)
		r.wantState(breaker.Open) // the third trips: both were counted
	})
}

// TestPermitDoneLongAfter: a permit reported after the circuit has moved on,
// however far, changes nothing; a half-open one frees no slot of a later
// half-open period and counts towards none.
func TestPermitDoneLongAfter(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		cfg := func() breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Second, HalfOpenProbes: 1}
		}
		t.Run("closed permit after a whole open, half-open, closed cycle", func(t *testing.T) {
			r := newRig(t, cs, cfg())
			old := allow(t, r)
			r.b.Trip()
			r.clk.Add(time.Second)
			allow(t, r).Done(0, nil) // the probe closes the circuit
			r.wantState(breaker.Closed)
			old.Done(0, errDependency) // Consecutive(1): it would trip if it counted
			r.wantState(breaker.Closed)
			r.wantLog("closed>open", "open>half-open", "half-open>closed")
		})
		t.Run("closed permit after a Reset of the closed circuit", func(t *testing.T) {
			r := newRig(t, cs, cfg())
			old := allow(t, r)
			r.b.Reset() // no transition, but a new generation
			old.Done(0, errDependency)
			r.wantState(breaker.Closed)
			r.wantLog()
		})
		t.Run("closed permit reported while open", func(t *testing.T) {
			r := newRig(t, cs, cfg())
			old := allow(t, r)
			r.b.Trip()
			until := wantAllowRejected(t, r).Until()
			r.clk.Add(time.Second / 2)
			old.Done(0, errDependency)
			if got := wantAllowRejected(t, r).Until(); !got.Equal(until) {
				t.Fatalf("open until %v after a late failure, want %v unchanged", got, until)
			}
			r.wantLog("closed>open")
		})
		// Two probe periods of two slots each: p1 is admitted in the first,
		// which ends (by Trip or by its other probe failing); q1 and q2 hold
		// both slots of the second when p1 reports.
		ends := []struct {
			name string
			do   func(r *rig, p2 breaker.Permit[int])
		}{
			{"Trip", func(r *rig, _ breaker.Permit[int]) { r.b.Trip() }},
			{"failed probe", func(_ *rig, p2 breaker.Permit[int]) { p2.Done(0, errDependency) }},
		}
		for _, end := range ends {
			twoPeriods := func(t *testing.T) (r *rig, p1, q1, q2 breaker.Permit[int]) {
				c := cfg()
				c.HalfOpenProbes = 2
				r = newRig(t, cs, c)
				r.b.Trip()
				r.clk.Add(time.Second)
				p1, p2 := allow(t, r), allow(t, r)
				end.do(r, p2)
				r.wantState(breaker.Open)
				r.clk.Add(time.Second)
				q1, q2 = allow(t, r), allow(t, r)
				wantAllowRejected(t, r)
				return r, p1, q1, q2
			}
			t.Run("half-open permit success in a later period, after "+end.name, func(t *testing.T) {
				r, p1, q1, q2 := twoPeriods(t)
				p1.Done(0, nil)
				wantAllowRejected(t, r) // no slot of the new period freed
				q1.Done(0, nil)
				r.wantState(breaker.HalfOpen) // p1 did not count: one success of two
				q2.Done(0, nil)
				r.wantState(breaker.Closed)
			})
			t.Run("half-open permit failure in a later period, after "+end.name, func(t *testing.T) {
				r, p1, q1, q2 := twoPeriods(t)
				n := len(r.log)
				p1.Done(0, errDependency)
				r.wantState(breaker.HalfOpen)
				if len(r.log) != n {
					t.Fatalf("a stale failure made transitions %v", r.log[n:])
				}
				q1.Done(0, nil)
				q2.Done(0, nil)
				r.wantState(breaker.Closed)
			})
		}
		t.Run("failed probe reported twice", func(t *testing.T) {
			r := newRig(t, cs, breaker.Config[int]{OpenTimeout: time.Second, HalfOpenProbes: 2})
			r.b.Trip()
			r.clk.Add(time.Second)
			p := allow(t, r)
			p.Done(0, errDependency)
			until := wantAllowRejected(t, r).Until()
			r.clk.Add(time.Second / 2)
			p.Done(0, errDependency)
			if got := wantAllowRejected(t, r).Until(); !got.Equal(until) {
				t.Fatalf("second Done reopened the circuit: until %v, want %v", got, until)
			}
			r.wantLog("closed>open", "open>half-open", "half-open>open")
		})
	})
}

// TestPermitNeverReported: a half-open permit that is never reported holds
// its slot until the circuit leaves half-open, and no longer.
func TestPermitNeverReported(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newRig(t, cs, breaker.Config[int]{OpenTimeout: time.Second, HalfOpenProbes: 1, ProbeTimeout: breaker.NoProbeTimeout})
		r.b.Trip()
		r.clk.Add(time.Second)
		_ = allow(t, r) // lost
		wantAllowRejected(t, r)
		r.clk.Add(time.Hour)
		wantAllowRejected(t, r) // NoProbeTimeout: the slot stays taken
		r.b.Trip()
		r.clk.Add(time.Second)
		allow(t, r).Done(0, nil)
		r.wantState(breaker.Closed)
		_ = allow(t, r) // lost while closed: holds nothing
		allow(t, r).Done(0, nil)
		r.wantState(breaker.Closed)
	})
}

// TestPermitDoneAfterClassifyPanic: Done marks the permit reported before
// it classifies, so a Done that panicked in Classify counted once (as a
// failure) and a retried Done does nothing.
func TestPermitDoneAfterClassifyPanic(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		panics := true
		r := newRig(t, cs, breaker.Config[int]{
			Policy: policy.Consecutive(2),
			Classify: func(int, error) breaker.Outcome {
				if panics {
					panic("classify")
				}
				return breaker.Failure
			},
		})
		p := allow(t, r)
		if v := catch(func() { p.Done(0, nil) }); v != "classify" {
			t.Fatalf("recovered %v, want Classify's panic", v)
		}
		panics = false
		p.Done(0, nil)
		r.wantState(breaker.Closed) // one failure so far
		allow(t, r).Done(0, nil)
		r.wantState(breaker.Open) // the second
	})
}

// catch runs f and returns what it panicked with, or nil.
func catch(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}
