package breaker_test

import (
	"context"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// The tests in this file hold the breaker to its documented outcome when the
// code it calls misbehaves: Classify, OnStateChange and a Policy that panic.
// TestPanics and TestOnStateChangePanic in breaker_test.go cover the first
// cases; these add the half-open and queued cases and the policy.

// panicky is a custom policy around a real one whose Record and Reset panic
// while their counters are above zero.
type panicky struct {
	policy.Policy
	recordPanics, resetPanics int
}

// Unwrap keeps the terms of the policy inside.
func (p *panicky) Unwrap() policy.Policy { return p.Policy }

func (p *panicky) Record(c policy.Call) bool {
	if p.recordPanics > 0 {
		p.recordPanics--
		panic("record")
	}
	return p.Policy.Record(c)
}

func (p *panicky) Reset() {
	if p.resetPanics > 0 {
		p.resetPanics--
		panic("reset")
	}
	p.Policy.Reset()
}

// halfOpen returns a rig whose circuit is half-open with the given number
// of probes.
func halfOpen(t *testing.T, cs clockStart, cfg breaker.Config[int], probes int) *rig {
	t.Helper()
	cfg.OpenTimeout, cfg.HalfOpenProbes = time.Second, probes
	r := newRig(t, cs, cfg)
	r.b.Trip()
	r.clk.Add(time.Second)
	r.wantState(breaker.HalfOpen)
	return r
}

func TestClassifyPanicHalfOpen(t *testing.T) {
	wantPanickingProbeFails(t, func() breaker.Config[int] {
		return breaker.Config[int]{Classify: func(int, error) breaker.Outcome { panic("classify") }}
	}, "classify")
}

// wantPanickingProbeFails checks, through Execute and through Done, that a
// half-open probe whose reporting panics with want under cfg() counts as a
// failed probe: the panic goes on up, the circuit opens again, and the
// slot is not left taken for the next period, from every clock start.
// cfg is called once per breaker, since each needs a policy of its own.
func wantPanickingProbeFails(t *testing.T, cfg func() breaker.Config[int], want any) {
	t.Helper()
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		for _, via := range []string{"Execute", "Done"} {
			t.Run(via, func(t *testing.T) {
				r := halfOpen(t, cs, cfg(), 1)
				v := catch(func() {
					if via == "Execute" {
						r.exec(nil)
					} else {
						allow(t, r).Done(0, nil)
					}
				})
				if v != want {
					t.Fatalf("recovered %v, want %v", v, want)
				}
				r.wantState(breaker.Open)
				r.clk.Add(time.Second)
				allow(t, r)
				r.wantLog("closed>open", "open>half-open", "half-open>open", "open>half-open")
			})
		}
	})
}

// TestOnStateChangePanicQueued: when a callback panics with more
// transitions queued behind it, they are delivered, in order, by the next
// call that delivers transitions; the chain is unbroken.
func TestOnStateChangePanicQueued(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		armed := false
		r := newRig(t, cs, breaker.Config[int]{
			OpenTimeout: time.Second,
			OnStateChange: func(_ string, _, to breaker.State) {
				if armed && to == breaker.HalfOpen {
					armed = false
					panic("callback")
				}
			},
		})
		r.b.Trip()
		r.clk.Add(time.Second)
		armed = true
		// Trip on an expired open circuit goes through half-open: two
		// transitions, and the first callback panics.
		if v := catch(r.b.Trip); v != "callback" {
			t.Fatalf("recovered %v, want the callback's panic", v)
		}
		r.wantLog("closed>open", "open>half-open")
		r.wantState(breaker.Open) // State delivers what was left queued
		r.wantLog("closed>open", "open>half-open", "half-open>open")
	})
}

// TestOnStateChangePanicOnClose: a callback that panics when a probe closes
// the circuit reaches the probe's caller after fn ran once and was counted.
func TestOnStateChangePanicOnClose(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := halfOpen(t, cs, breaker.Config[int]{
			OnStateChange: func(_ string, _, to breaker.State) {
				if to == breaker.Closed {
					panic("callback")
				}
			},
		}, 1)
		if v := catch(func() { r.exec(nil) }); v != "callback" {
			t.Fatalf("recovered %v, want the callback's panic", v)
		}
		if r.calls != 1 {
			t.Fatalf("fn ran %d times, want 1", r.calls)
		}
		r.wantState(breaker.Closed)
		if err := r.exec(nil); err != nil {
			t.Fatalf("closed breaker rejected a call: %v", err)
		}
	})
}

func TestPolicyRecordPanic(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		// Each way a closed call reaches Record: Execute's fast path (a
		// success without Classify), Execute with a failure, and Done.
		ways := []struct {
			name string
			call func(*rig)
		}{
			{"Execute success", func(r *rig) { r.exec(nil) }},
			{"Execute failure", func(r *rig) { r.exec(errDependency) }},
			{"Done", func(r *rig) { allow(r.t, r).Done(0, errDependency) }},
		}
		for _, w := range ways {
			t.Run(w.name, func(t *testing.T) {
				p := &panicky{Policy: policy.Consecutive(2)}
				r := newRig(t, cs, breaker.Config[int]{Policy: p})
				r.exec(errDependency) // one failure counted before
				p.recordPanics = 1
				if v := catch(func() { w.call(r) }); v != "record" {
					t.Fatalf("recovered %v, want Record's panic", v)
				}
				// The call was not counted; the breaker is unchanged and works.
				r.wantState(breaker.Closed)
				r.wantLog()
				r.exec(errDependency)
				r.wantState(breaker.Open)
			})
		}
	})
}

func TestPolicyResetPanic(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		t.Run("Reset leaves the circuit as it was", func(t *testing.T) {
			p := &panicky{Policy: policy.Consecutive(1), resetPanics: 1}
			r := newRig(t, cs, breaker.Config[int]{Policy: p, OpenTimeout: time.Second})
			r.b.Trip()
			if v := catch(r.b.Reset); v != "reset" {
				t.Fatalf("recovered %v, want Reset's panic", v)
			}
			r.wantState(breaker.Open)
			r.wantLog("closed>open")
			// The lock was released: everything still works.
			r.b.Reset()
			r.wantState(breaker.Closed)
			r.exec(errDependency)
			r.wantState(breaker.Open)
			r.wantLog("closed>open", "open>closed", "closed>open")
		})
		t.Run("closing probe leaves the circuit half-open", func(t *testing.T) {
			p := &panicky{Policy: policy.Consecutive(1), resetPanics: 1}
			r := halfOpen(t, cs, breaker.Config[int]{Policy: p}, 2)
			r.exec(nil)
			if v := catch(func() { r.exec(nil) }); v != "reset" {
				t.Fatalf("recovered %v, want Reset's panic", v)
			}
			r.wantState(breaker.HalfOpen)
			r.wantLog("closed>open", "open>half-open")
			// Both slots are free again.
			a, b := allow(t, r), allow(t, r)
			wantAllowRejected(t, r)
			a.Done(0, nil) // tries to close again, and does
			r.wantState(breaker.Closed)
			b.Done(0, errDependency) // late
			r.wantState(breaker.Closed)
		})
	})
}

// TestResetPanicWedgedHalfOpen is the regression test for a circuit that a
// single panic in Policy.Reset left unable to close: the probe whose success
// reached HalfOpenProbes had counted it before closing, so later successes
// went past the count that closes the circuit and never met it again; every
// one of them still counted, until the 16-bit success count overflowed into
// the count of probes in flight and the circuit, still half-open, rejected
// every call for good.
func TestResetPanicWedgedHalfOpen(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		p := &panicky{Policy: policy.Consecutive(1), resetPanics: 1 << 30}
		r := halfOpen(t, cs, breaker.Config[int]{Policy: p}, 1)
		ctx := context.Background()
		ok := func(context.Context) (int, error) { return 0, nil }
		// More successes than the count holds, each of whose close panics.
		for i := range 1<<16 + 1 {
			v := catch(func() {
				if _, err := r.b.Execute(ctx, ok); err != nil {
					t.Fatalf("probe %d rejected: %v", i, err)
				}
			})
			if v != "reset" {
				t.Fatalf("probe %d: recovered %v, want Reset's panic", i, v)
			}
		}
		r.wantState(breaker.HalfOpen)
		p.resetPanics = 0
		if _, err := r.b.Execute(ctx, ok); err != nil {
			t.Fatalf("probe rejected after the policy recovered: %v", err)
		}
		r.wantState(breaker.Closed)
		r.wantLog("closed>open", "open>half-open", "half-open>closed")
	})
}

// TestBackoffRandPanicLeakedProbeSlot is the regression test for a probe
// slot lost to a panic in Backoff.Rand: a failed probe frees its slot by
// opening a new period, and when opening panicked there was no new period,
// so the slot stayed taken and a one-probe circuit stayed half-open,
// rejecting every call, for good. The panic also counted a trip that did
// not happen, lengthening the next open period.
func TestBackoffRandPanicLeakedProbeSlot(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		panics := false
		r := newRig(t, cs, breaker.Config[int]{
			OpenTimeout:    time.Second,
			HalfOpenProbes: 1,
			Backoff: &breaker.Backoff{Max: time.Hour, Jitter: 0.5, Rand: func() float64 {
				if panics {
					panic("rand")
				}
				return 0
			}},
		})
		r.b.Trip()
		r.clk.Add(time.Second)
		panics = true
		if v := catch(func() { r.exec(errDependency) }); v != "rand" {
			t.Fatalf("recovered %v, want Rand's panic", v)
		}
		// The circuit did not open; the failed probe's slot is free.
		r.wantState(breaker.HalfOpen)
		r.wantLog("closed>open", "open>half-open")
		panics = false
		r.exec(errDependency) // the probe fails again, and this time opens it
		r.wantState(breaker.Open)
		// Second trip in a row: twice OpenTimeout, not four times.
		r.clk.Add(2*time.Second - time.Nanosecond)
		r.wantState(breaker.Open)
		r.clk.Add(time.Nanosecond)
		r.wantState(breaker.HalfOpen)
	})
}
