package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// Every *Breaker[T] is a Circuit, whatever its T.
var (
	_ breaker.Circuit = (*breaker.Breaker[int])(nil)
	_ breaker.Circuit = (*breaker.Breaker[*strings.Builder])(nil)
)

func TestOnTransitionDetails(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newManualRig(t, cs, breaker.Config[int]{Name: "db", Policy: policy.Consecutive(1), OpenTimeout: time.Second, HalfOpenProbes: 1})
		opened := r.clk.Now()
		r.exec(errDependency)
		r.clk.Add(3 * time.Second) // half-open from opened+1s, noticed 2s later
		r.exec(nil)
		if len(r.events) != 3 {
			t.Fatalf("transitions %+v, want 3", r.events)
		}
		trip, half, closed := r.events[0], r.events[1], r.events[2]
		if trip.Name != "db" || trip.Cause != breaker.CausePolicy || !trip.At.Equal(opened) || !trip.Until.Equal(opened.Add(time.Second)) {
			t.Fatalf("trip %+v", trip)
		}
		if half.Cause != breaker.CauseTimeout || !half.At.Equal(trip.Until) || !half.Until.IsZero() {
			t.Fatalf("half-open %+v: want At = the end of the open period, %v", half, trip.Until)
		}
		if closed.Cause != breaker.CauseProbe || !closed.At.Equal(r.clk.Now()) {
			t.Fatalf("close %+v", closed)
		}
		if !(trip.Generation < half.Generation && half.Generation < closed.Generation) {
			t.Fatalf("generations do not rise: %d %d %d", trip.Generation, half.Generation, closed.Generation)
		}
	})
}

func TestCauseModeStrings(t *testing.T) {
	for v, want := range map[breaker.Cause]string{breaker.CausePolicy: "policy", breaker.CauseProbe: "probe", breaker.CauseTimeout: "timeout", breaker.CauseManual: "manual", breaker.CauseExternal: "external", 0: "Cause(0)"} {
		if v.String() != want {
			t.Errorf("Cause %d = %q, want %q", v, v.String(), want)
		}
	}
	for v, want := range map[breaker.Mode]string{breaker.ModeNone: "none", breaker.ModeForcedOpen: "forced-open", breaker.ModeDisabled: "disabled", 9: "Mode(9)"} {
		if v.String() != want {
			t.Errorf("Mode %d = %q, want %q", v, v.String(), want)
		}
	}
}

func TestSubscribe(t *testing.T) {
	var order []string
	r := newManualRig(t, todayStart, breaker.Config[int]{
		OnStateChange: func(string, breaker.State, breaker.State) { order = append(order, "state") },
		OnTransition:  func(breaker.Transition) { order = append(order, "transition") },
	})
	var cancelB func()
	cancelA := r.b.Subscribe(func(breaker.Transition) { order = append(order, "a") })
	cancelB = r.b.Subscribe(func(tr breaker.Transition) {
		order = append(order, "b")
		cancelB() // from inside its own delivery
	})
	r.b.Subscribe(nil) // adds nothing
	r.b.Trip()
	if got := strings.Join(order, " "); got != "state transition a b" {
		t.Fatalf("delivery order %q", got)
	}
	order = nil
	r.b.Reset()
	if got := strings.Join(order, " "); got != "state transition a" {
		t.Fatalf("after b cancelled itself: %q", got)
	}
	cancelA()
	cancelA()
	order = nil
	r.b.Trip()
	if got := strings.Join(order, " "); got != "state transition" {
		t.Fatalf("after both cancelled: %q", got)
	}
}

// A panicking OnStateChange does not keep the transition from OnTransition
// or a subscriber, and its panic goes on up with its value.
func TestListenerPanicStillDelivers(t *testing.T) {
	boom := errors.New("boom")
	var got []string
	r := newManualRig(t, todayStart, breaker.Config[int]{
		OnStateChange: func(string, breaker.State, breaker.State) { panic(boom) },
		OnTransition:  func(tr breaker.Transition) { got = append(got, "transition") },
	})
	r.b.Subscribe(func(breaker.Transition) { got = append(got, "sub"); panic("second") })
	if v := catch(r.b.Trip); v != boom {
		t.Fatalf("recovered %v, want the first listener's panic", v)
	}
	if strings.Join(got, " ") != "transition sub" {
		t.Fatalf("delivered to %v", got)
	}
	r.wantState(breaker.Open)
}

// gate is a ProbeGate that answers with verdict, or panics with panicWith,
// and records what it was told. Each probe it admits gets the next id, from
// 1; ProbeDone panics with donePanic once it has recorded the report.
type gate struct {
	mu        sync.Mutex
	verdict   breaker.GateVerdict
	panicWith any
	donePanic any
	acquired  []uint64
	done      []string
	doneIDs   []breaker.ProbeID
	next      breaker.ProbeID
}

func (g *gate) AcquireProbe(gen uint64) (breaker.GateVerdict, breaker.ProbeID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.acquired = append(g.acquired, gen)
	if g.panicWith != nil {
		panic(g.panicWith)
	}
	g.next++
	return g.verdict, g.next
}

func (g *gate) ProbeDone(gen uint64, id breaker.ProbeID, o breaker.Outcome) {
	g.mu.Lock()
	g.done = append(g.done, o.String())
	g.doneIDs = append(g.doneIDs, id)
	p := g.donePanic
	g.mu.Unlock()
	if p != nil {
		panic(p)
	}
}

func TestProbeGate(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		t.Run("reject", func(t *testing.T) {
			r := halfOpen(t, cs, breaker.Config[int]{}, 1)
			g := &gate{verdict: breaker.GateReject}
			r.b.SetProbeGate(g)
			for range 3 {
				// The local slot is freed each time: otherwise the
				// second call would be rejected without asking.
				oe := wantRejected(t, r.exec(nil))
				if oe.State() != breaker.HalfOpen {
					t.Fatalf("rejection in %v", oe.State())
				}
			}
			if len(g.acquired) != 3 || len(g.done) != 0 {
				t.Fatalf("gate asked %d times, told %v", len(g.acquired), g.done)
			}
			if m := r.b.Metrics(); m.ProbesInFlight != 0 {
				t.Fatalf("%d probes in flight after rejections", m.ProbesInFlight)
			}
			r.b.SetProbeGate(nil)
			if err := r.exec(nil); err != nil {
				t.Fatalf("without the gate: %v", err)
			}
			r.wantState(breaker.Closed)
		})
		t.Run("admit", func(t *testing.T) {
			r := halfOpen(t, cs, breaker.Config[int]{CloseAfter: 2}, 1)
			g := &gate{verdict: breaker.GateAdmit}
			r.b.SetProbeGate(g)
			p := allow(t, r)
			// HalfOpenProbes still bounds the probes locally; the gate
			// is not asked when no slot is free.
			wantAllowRejected(t, r)
			p.Done(0, nil)
			r.exec(errDependency)
			r.wantState(breaker.Open)
			if len(g.acquired) != 2 || g.acquired[0] != g.acquired[1] || strings.Join(g.done, " ") != "success failure" {
				t.Fatalf("gate asked for %v, told %v", g.acquired, g.done)
			}
		})
		t.Run("unknown", func(t *testing.T) {
			r := halfOpen(t, cs, breaker.Config[int]{}, 1)
			g := &gate{verdict: breaker.GateUnknown}
			r.b.SetProbeGate(g)
			p := allow(t, r)
			wantAllowRejected(t, r) // the local limit stands
			p.Done(0, nil)
			r.wantState(breaker.Closed)
			if len(g.done) != 0 {
				t.Fatalf("a probe the gate did not admit was reported to it: %v", g.done)
			}
		})
		t.Run("panic", func(t *testing.T) {
			r := halfOpen(t, cs, breaker.Config[int]{}, 1)
			boom := errors.New("gate exploded")
			g := &gate{panicWith: boom}
			r.b.SetProbeGate(g)
			ran := false
			v := catch(func() {
				r.b.Execute(context.Background(), func(context.Context) (int, error) { ran = true; return 0, nil })
			})
			if v != boom || ran {
				t.Fatalf("recovered %v, fn ran %v; want the gate's panic and no call", v, ran)
			}
			if v := catch(func() { r.b.Allow() }); v != boom {
				t.Fatalf("Allow recovered %v", v)
			}
			if m := r.b.Metrics(); m.ProbesInFlight != 0 {
				t.Fatalf("a panicking gate leaked %d probe slots", m.ProbesInFlight)
			}
			r.b.SetProbeGate(nil)
			allow(t, r).Done(0, nil)
			r.wantState(breaker.Closed)
		})
	})
}

// Each probe's report names the probe: the gate gets back the id it gave,
// whatever order the probes of one generation end in.
func TestProbeGateReportNamesItsProbe(t *testing.T) {
	r := newManualRig(t, todayStart, breaker.Config[int]{OpenTimeout: time.Second, HalfOpenProbes: 3})
	g := &gate{verdict: breaker.GateAdmit}
	r.b.SetProbeGate(g)
	r.b.Trip()
	r.clk.Add(time.Second)
	p1, p2, p3 := allow(t, r.rig), allow(t, r.rig), allow(t, r.rig)
	p2.Release()
	p3.Done(0, errDependency)
	p1.Done(0, nil)
	if fmt.Sprint(g.doneIDs) != "[2 3 1]" || strings.Join(g.done, " ") != "ignored failure success" {
		t.Fatalf("reports %v for ids %v, want ignored, failure, success for 2, 3, 1", g.done, g.doneIDs)
	}
}

// Fault 12 of issue 18: a ProbeGate whose ProbeDone panicked kept the
// probe's local slot; with NoProbeTimeout the circuit stayed half-open for
// good, rejecting every call. The slot is freed and the outcome counts.
func TestProbeDonePanicLeaksSlot(t *testing.T) {
	r := halfOpen(t, todayStart, breaker.Config[int]{ProbeTimeout: breaker.NoProbeTimeout}, 1)
	boom := errors.New("report exploded")
	g := &gate{verdict: breaker.GateAdmit, donePanic: boom}
	r.b.SetProbeGate(g)
	if v := catch(func() { r.exec(nil) }); v != boom {
		t.Fatalf("recovered %v, want the gate's panic", v)
	}
	if m := r.b.Metrics(); m.ProbesInFlight != 0 || m.State != breaker.Closed {
		t.Fatalf("after a panicking ProbeDone: %+v; want the slot freed and the success counted", m)
	}
}

// The probe gate is asked with the generation of the half-open period, the
// one Subscribe reports for the transition to half-open.
func TestProbeGateGeneration(t *testing.T) {
	r := newManualRig(t, todayStart, breaker.Config[int]{OpenTimeout: time.Second, HalfOpenProbes: 1})
	g := &gate{verdict: breaker.GateAdmit}
	r.b.SetProbeGate(g)
	r.b.Trip()
	r.clk.Add(time.Second)
	allow(t, r.rig).Done(0, nil)
	half := r.events[1]
	if half.To != breaker.HalfOpen || len(g.acquired) != 1 || g.acquired[0] != half.Generation {
		t.Fatalf("gate asked for %v; half-open transition %+v", g.acquired, half)
	}
}

// Adopt applies each kind of decision, and every transition it causes
// carries CauseExternal, so that a coordinator never echoes it back.
func TestAdoptNeverEchoes(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newManualRig(t, cs, breaker.Config[int]{OpenTimeout: time.Second})
		var echoed []breaker.Transition
		r.b.Subscribe(func(tr breaker.Transition) {
			if tr.Cause != breaker.CauseExternal {
				echoed = append(echoed, tr)
			}
		})
		start := r.clk.Now()
		r.b.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: time.Minute})
		if m := r.b.Metrics(); m.State != breaker.Open || !m.Until.Equal(start.Add(time.Minute)) || m.ExternalOpens != 1 || m.ManualOpens != 0 {
			t.Fatalf("after AdoptOpen: %+v", m)
		}
		r.b.Adopt(breaker.Adoption{Kind: breaker.AdoptClose})
		r.wantState(breaker.Closed)
		r.b.Adopt(breaker.Adoption{Kind: breaker.AdoptClose}) // closed: nothing
		r.b.Adopt(breaker.Adoption{Kind: breaker.AdoptForceOpen})
		r.clk.Add(time.Hour)
		r.wantState(breaker.Open)
		r.wantMode(breaker.ModeForcedOpen)
		r.b.Adopt(breaker.Adoption{Kind: breaker.AdoptClearMode})
		r.wantMode(breaker.ModeNone)
		r.wantState(breaker.Open)
		r.clk.Add(time.Second)
		r.wantState(breaker.HalfOpen) // an ordinary open period, then probes
		r.b.Adopt(breaker.Adoption{Kind: breaker.AdoptDisable})
		r.wantState(breaker.Closed)
		r.wantMode(breaker.ModeDisabled)
		r.b.Adopt(breaker.Adoption{Kind: breaker.AdoptClearMode})
		r.wantMode(breaker.ModeNone)
		r.b.Adopt(breaker.Adoption{Kind: 99}) // unknown: nothing
		r.wantEvents(
			"closed>open/external/none",
			"open>closed/external/none",
			"closed>open/external/forced-open",
			"open>open/external/none",
			"open>half-open/timeout/none",
			"half-open>closed/external/disabled",
			"closed>closed/external/none",
		)
		// The only transition not caused by Adopt is the end of an open
		// period, which every instance sees on its own.
		if len(echoed) != 1 || echoed[0].Cause != breaker.CauseTimeout {
			t.Fatalf("transitions a coordinator would echo: %+v", echoed)
		}
		if m := r.b.Metrics(); m.ExternalOpens != 3 || m.ManualOpens != 0 || m.Trips != 0 {
			t.Fatalf("opens counted %+v", m)
		}
	})
}

// A local decision after an adopted one wins, and the other way round.
func TestAdoptLastDecisionWins(t *testing.T) {
	r := newManualRig(t, todayStart, breaker.Config[int]{})
	r.b.Adopt(breaker.Adoption{Kind: breaker.AdoptForceOpen})
	r.b.Reset()
	r.wantState(breaker.Closed)
	r.b.Disable()
	r.b.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: time.Second})
	r.wantMode(breaker.ModeNone)
	r.wantState(breaker.Open)
}

// OpenTiming reports the open period and backoff with their defaults, as
// the breaker uses them, for a fleet that follows them.
func TestOpenTiming(t *testing.T) {
	b, err := breaker.New(breaker.Config[int]{})
	if err != nil {
		t.Fatal(err)
	}
	if ot := b.OpenTiming(); ot.Timeout != breaker.DefaultOpenTimeout || ot.Backoff != nil {
		t.Fatalf("defaults: %+v", ot)
	}
	b, err = breaker.New(breaker.Config[int]{OpenTimeout: 2 * time.Second, Backoff: &breaker.Backoff{Jitter: 0.5, Rand: func() float64 { return 0 }}})
	if err != nil {
		t.Fatal(err)
	}
	ot := b.OpenTiming()
	if ot.Timeout != 2*time.Second || ot.Backoff == nil || ot.Backoff.Factor != breaker.DefaultBackoffFactor ||
		ot.Backoff.Max != 2*time.Second*breaker.DefaultBackoffMaxFactor || ot.Backoff.Jitter != 0.5 || ot.Backoff.Rand != nil {
		t.Fatalf("with a backoff: %+v %+v", ot, ot.Backoff)
	}
	ot.Backoff.Factor = 9
	if b.OpenTiming().Backoff.Factor == 9 {
		t.Fatal("OpenTiming returned the breaker's own Backoff, not a copy")
	}
}
