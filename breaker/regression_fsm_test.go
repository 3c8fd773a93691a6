package breaker_test

import (
	"context"
	"math"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// Regression tests for faults of the state machine, each named after its
// fault.

// TestBackoffOverflow: float64(math.MaxInt64) rounds up to 2^63, and
// converting the capped period back to a Duration wrapped to the most
// negative one, so a circuit tripped with the longest period was half-open
// at once.
func TestBackoffOverflow(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		for _, bo := range []*breaker.Backoff{
			{Max: math.MaxInt64},
			{Max: math.MaxInt64, Factor: 1e300},
			{Max: math.MaxInt64, Jitter: 0.5, Rand: func() float64 { return 0 }},
		} {
			r := newRig(t, cs, breaker.Config[int]{OpenTimeout: math.MaxInt64, Backoff: bo})
			for range 3 {
				r.b.Trip()
				r.wantState(breaker.Open)
				r.clk.Add(time.Hour)
				r.wantState(breaker.Open)
				// A failed probe is the next period of a row: TripFor
				// brings the circuit to half-open without stepping.
				r.b.TripFor(0)
				r.wantState(breaker.HalfOpen)
			}
		}
	})
}

// TestProbeTimeoutDefaultFreesHungProbe: without a ProbeTimeout, a probe
// that never reported (a hung call, a lost permit) held its slot for good,
// and the circuit stayed half-open, rejecting every call. The default is now
// the open period; NoProbeTimeout keeps the old behaviour for those who ask.
func TestProbeTimeoutDefaultFreesHungProbe(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newRig(t, cs, breaker.Config[int]{OpenTimeout: time.Minute, HalfOpenProbes: 1})
		r.b.Trip()
		r.clk.Add(time.Minute)
		hung := allow(t, r)
		r.clk.Add(time.Minute - time.Nanosecond)
		wantAllowRejected(t, r)
		r.clk.Add(time.Nanosecond)
		if err := r.exec(nil); err != nil {
			t.Fatalf("a hung probe still holds the only slot after the open period: %v", err)
		}
		r.wantState(breaker.Closed)
		hung.Done(0, errDependency) // forgotten
		r.wantState(breaker.Closed)

		off := newRig(t, cs, breaker.Config[int]{OpenTimeout: time.Minute, HalfOpenProbes: 1, ProbeTimeout: breaker.NoProbeTimeout})
		off.b.Trip()
		off.clk.Add(time.Minute)
		_ = allow(t, off)
		off.clk.Add(time.Hour)
		wantAllowRejected(t, off)
	})
}

// TestHalfOpenSinceHasOneValue: Metrics().Since of a half-open period was
// the end of the open period until a call noticed it, and the time of that
// call afterwards, so an exporter's since gauge jumped. Both are now the
// end of the open period, and so is the At of the transition.
func TestHalfOpenSinceHasOneValue(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		var at time.Time
		r := newRig(t, cs, breaker.Config[int]{
			OpenTimeout:    time.Second,
			HalfOpenProbes: 2,
			OnTransition: func(tr breaker.Transition) {
				if tr.To == breaker.HalfOpen {
					at = tr.At
				}
			},
		})
		r.b.Trip()
		end := r.clk.Now().Add(time.Second)
		r.clk.Add(5 * time.Second)
		before := r.b.Metrics() // reports half-open without moving the circuit
		p := allow(t, r)        // moves it, 4s after the period ended
		after := r.b.Metrics()
		if before.State != breaker.HalfOpen || after.State != breaker.HalfOpen {
			t.Fatalf("states %v, %v; want half-open", before.State, after.State)
		}
		if !before.Since.Equal(end) || !after.Since.Equal(end) || !at.Equal(end) {
			t.Fatalf("half-open since %v before a call, %v after, transition at %v; want %v for all", before.Since, after.Since, at, end)
		}
		p.Done(0, nil)
	})
}

// gatedPolicy wraps a policy: its first failure's Record stops, once it is
// inside the policy, until release is closed; every Reset is signalled on
// resets. Unwrap keeps the wrapped policy's terms.
type gatedPolicy struct {
	policy.Policy
	entered, release chan struct{}
	resets           chan struct{}
	first            atomic.Bool
	onReset          func()
}

func newGatedPolicy(p policy.Policy) *gatedPolicy {
	return &gatedPolicy{Policy: p, entered: make(chan struct{}), release: make(chan struct{}), resets: make(chan struct{}, 100)}
}

func (p *gatedPolicy) Record(c policy.Call) bool {
	if c.Failed && p.first.CompareAndSwap(false, true) {
		close(p.entered)
		<-p.release
	}
	return p.Policy.Record(c)
}

func (p *gatedPolicy) Reset() {
	if p.onReset != nil {
		p.onReset()
	}
	p.Policy.Reset()
	p.resets <- struct{}{}
}

func (p *gatedPolicy) Unwrap() policy.Policy { return p.Policy }

// TestResetFencesStaleResult: Record checked the call's generation, then
// called the policy with nothing keeping a concurrent Reset out, and the
// Reset cleared the policy before it published its generation; so a
// failure admitted before an operator's Reset landed after it, and with
// Consecutive(2) one more failure opened the circuit. Now the Reset waits
// for results already inside the policy, and resets it after them.
func TestResetFencesStaleResult(t *testing.T) {
	for _, path := range []string{"execute", "permit"} {
		t.Run("path="+path, func(t *testing.T) {
			pol := newGatedPolicy(policy.Consecutive(2))
			r := newRig(t, todayStart, breaker.Config[int]{Policy: pol})
			stale := make(chan struct{})
			go func() {
				defer close(stale)
				if path == "execute" {
					r.b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDependency })
					return
				}
				p, err := r.b.Allow()
				if err != nil {
					panic(err)
				}
				p.Done(0, errDependency)
			}()
			<-pol.entered // the stale failure is inside the policy's Record
			reset := make(chan struct{})
			go func() {
				defer close(reset)
				r.b.Reset()
			}()
			// Let the Reset run as far as it goes. Before the fix it reset
			// the policy at once: release the stale result after that, as
			// the race did. After it, the Reset waits for the result, and
			// releasing it at any point is correct.
			for i := 0; i < 1000; i++ {
				select {
				case <-pol.resets:
					i = 1000
				default:
					runtime.Gosched()
				}
			}
			close(pol.release)
			<-stale
			<-reset
			r.exec(errDependency) // the first failure after the Reset
			r.wantState(breaker.Closed)
			r.exec(errDependency)
			r.wantState(breaker.Open)
		})
	}
}

// TestPolicyResetOutsideLock: a custom Policy.Reset ran under the state
// machine's lock, so one that called b.Metrics() deadlocked. It now runs
// with no lock of the machine held, on every path that resets the policy.
func TestPolicyResetOutsideLock(t *testing.T) {
	for _, how := range []string{"reset", "probes", "adopt-close", "clear-disabled"} {
		t.Run("by="+how, func(t *testing.T) {
			pol := newGatedPolicy(policy.Consecutive(1))
			var b *breaker.Breaker[int]
			seen := make(chan breaker.Metrics, 10)
			pol.onReset = func() { seen <- b.Metrics() }
			r := newRig(t, todayStart, breaker.Config[int]{Policy: pol, OpenTimeout: time.Second, HalfOpenProbes: 1})
			b = r.b
			r.b.Trip()
			done := make(chan struct{})
			go func() {
				defer close(done)
				switch how {
				case "reset":
					r.b.Reset()
				case "probes":
					r.clk.Add(time.Second)
					r.exec(nil)
				case "adopt-close":
					r.b.Adopt(breaker.Adoption{Kind: breaker.AdoptClose})
				case "clear-disabled":
					r.b.Disable()
					r.b.Adopt(breaker.Adoption{Kind: breaker.AdoptClearMode})
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second): // a watchdog, not a wait: the deadlock never ends
				t.Fatal("Policy.Reset calling Metrics deadlocked")
			}
			if len(seen) == 0 {
				t.Fatal("the policy was not reset")
			}
			r.wantState(breaker.Closed)
		})
	}
}

// TestCallbackCallDeliveredAfterCallback pins the documented exception to
// synchronous delivery (Config.OnStateChange): a call made inside a
// callback returns before its own transition's callbacks run, and they run
// right after the current callback returns, in order, before the outer
// call returns.
func TestCallbackCallDeliveredAfterCallback(t *testing.T) {
	var log []string
	var b *breaker.Breaker[int]
	r := newRig(t, todayStart, breaker.Config[int]{
		OnStateChange: func(_ string, from, to breaker.State) {
			log = append(log, "enter "+from.String()+">"+to.String())
			if to == breaker.Open {
				b.Reset()
				log = append(log, "Reset returned in "+b.State().String())
			}
			log = append(log, "leave "+from.String()+">"+to.String())
		},
	})
	b = r.b
	b.Trip()
	log = append(log, "Trip returned")
	want := []string{
		"enter closed>open", "Reset returned in closed", "leave closed>open",
		"enter open>closed", "leave open>closed",
		"Trip returned",
	}
	if strings.Join(log, "; ") != strings.Join(want, "; ") {
		t.Fatalf("order:\n got  %q\n want %q", log, want)
	}
}

// TestExtremeDurationsStaySane: periods from user values near the ends of a
// Duration, at every epoch: an open period never ends before it began, and
// a probe timeout never wraps.
func TestExtremeDurationsStaySane(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newRig(t, cs, breaker.Config[int]{OpenTimeout: math.MaxInt64, HalfOpenProbes: 1, ProbeTimeout: math.MaxInt64})
		for _, d := range []time.Duration{math.MaxInt64, math.MaxInt64 - 1, 1 << 62} {
			r.b.TripFor(d)
			r.wantState(breaker.Open)
			if oe := wantRejected(t, r.exec(nil)); oe.RetryAfter(r.clk.Now()) <= 0 {
				t.Fatalf("TripFor(%v): RetryAfter %v", d, oe.RetryAfter(r.clk.Now()))
			}
			r.b.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: d})
			r.wantState(breaker.Open)
			r.clk.Add(time.Hour)
			r.wantState(breaker.Open)
		}
		r.b.Trip() // open already: nothing
		r.wantState(breaker.Open)
		r.b.TripFor(math.MinInt64)
		r.wantState(breaker.HalfOpen)
		p := allow(t, r)
		r.clk.Add(time.Hour)
		wantAllowRejected(t, r) // a ProbeTimeout of 292 years has not passed
		p.Done(0, nil)
		r.wantState(breaker.Closed)
	})
}

// duringReset is Consecutive with a hook that runs inside the policy's
// Reset, where a close waits without the breaker's lock: what another
// goroutine does while a Reset runs.
type duringReset struct {
	*policy.ConsecutivePolicy
	hook func()
}

func (p *duringReset) Unwrap() policy.Policy { return p.ConsecutivePolicy }

func (p *duringReset) Reset() {
	if h := p.hook; h != nil {
		p.hook = nil
		h()
	}
	p.ConsecutivePolicy.Reset()
}

// onOtherGoroutine runs f on another goroutine and waits for it.
func onOtherGoroutine(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

// TestResetUndoneByEarlierProbe: a half-open probe admitted before Reset
// that failed while Reset ran (resetting the policy without the lock)
// opened the circuit again, and Reset, finding a newer word than the one
// it began from, dropped its close: Reset returned with the circuit open,
// although calls that started before a Reset change nothing. An adopted
// close (how a coordinator applies the fleet's close) was lost the same
// way.
func TestResetUndoneByEarlierProbe(t *testing.T) {
	closes := map[string]func(b *breaker.Breaker[int]){
		"Reset":       func(b *breaker.Breaker[int]) { b.Reset() },
		"AdoptClose":  func(b *breaker.Breaker[int]) { b.Adopt(breaker.Adoption{Kind: breaker.AdoptClose}) },
		"probe-close": nil, // the other probe's success closes it
	}
	for name, closeIt := range closes {
		t.Run(name, func(t *testing.T) {
			eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
				pol := &duringReset{ConsecutivePolicy: policy.Consecutive(1)}
				r := newRig(t, cs, breaker.Config[int]{Policy: pol, OpenTimeout: time.Minute, HalfOpenProbes: 2, CloseAfter: 1})
				r.b.Trip()
				r.clk.Add(time.Minute)
				early := allow(t, r) // a probe admitted before the close
				pol.hook = func() { onOtherGoroutine(func() { early.Done(0, errDependency) }) }
				if closeIt != nil {
					closeIt(r.b)
				} else {
					allow(t, r).Done(0, nil)
				}
				r.wantState(breaker.Closed)
				r.wantLog("closed>open", "open>half-open", "half-open>closed")
				if m := r.b.Metrics(); m.Reopens != 0 {
					t.Fatalf("Metrics().Reopens = %d: the earlier probe reopened the circuit", m.Reopens)
				}
			})
		})
	}
}

// TestTripForZeroRejectsUntilTimerFires: with the real clock, TripFor(0)
// and Adopt(AdoptOpen{For: 0}) (how a coordinator adopts a half-open
// record) published an open word and armed a zero-length timer to flag
// it; until that timer ran, calls were rejected without a look at the
// clock, though the doc says the next call finds the circuit half-open.
func TestTripForZeroRejectsUntilTimerFires(t *testing.T) {
	opens := map[string]func(b *breaker.Breaker[int]){
		"TripFor(0)":         func(b *breaker.Breaker[int]) { b.TripFor(0) },
		"TripFor(-1)":        func(b *breaker.Breaker[int]) { b.TripFor(-1) },
		"AdoptOpen(0)":       func(b *breaker.Breaker[int]) { b.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen}) },
		"AdoptOpen(-1s)":     func(b *breaker.Breaker[int]) { b.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: -time.Second}) },
		"TripFor(0) on open": func(b *breaker.Breaker[int]) { b.Trip(); b.TripFor(0) },
	}
	for name, open := range opens {
		t.Run(name, func(t *testing.T) {
			b, err := breaker.New(breaker.Config[int]{OpenTimeout: time.Hour, HalfOpenProbes: 1})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 100 {
				open(b)
				if _, err := b.Execute(context.Background(), succeed); err != nil {
					t.Fatalf("round %d: the call after an open period of zero was rejected: %v", i, err)
				}
				if s := b.State(); s != breaker.Closed {
					t.Fatalf("round %d: State() = %v after the probe succeeded, want closed", i, s)
				}
			}
		})
	}
}

// TestResetUndoneByEndOfOpenPeriod: the same fault through time instead of
// a probe. An open period that ended while Reset reset the policy moved the
// circuit to half-open at the next look, and Reset, finding a newer word,
// dropped its close. Only a decision made meanwhile (Trip, ForceOpen, ...)
// may stand against a close now.
func TestResetUndoneByEndOfOpenPeriod(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		pol := &duringReset{ConsecutivePolicy: policy.Consecutive(1)}
		r := newRig(t, cs, breaker.Config[int]{Policy: pol, OpenTimeout: time.Minute})
		r.b.Trip()
		pol.hook = func() {
			r.clk.Add(time.Minute)
			onOtherGoroutine(func() { r.b.State() })
		}
		r.b.Reset()
		r.wantState(breaker.Closed)
		r.wantLog("closed>open", "open>half-open", "half-open>closed")

		// A decision made while the policy resets stands: the last wins.
		r.b.Trip()
		pol.hook = func() { onOtherGoroutine(r.b.ForceOpen) }
		r.b.Reset()
		r.wantState(breaker.Open)
		if m := r.b.Metrics(); m.Mode != breaker.ModeForcedOpen {
			t.Fatalf("Metrics().Mode = %v, want the ForceOpen made during Reset", m.Mode)
		}
	})
}
