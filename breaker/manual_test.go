package breaker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// todayStart is where the clocks of the single-date tests below start.
var todayStart = clockStart{name: "today", at: epochs.Today}

// manualRig is a rig whose clock starts at start and that also logs every
// OnTransition, as "from>to/cause/mode".
type manualRig struct {
	*rig
	events []breaker.Transition
}

func newManualRig(t *testing.T, cs clockStart, cfg breaker.Config[int]) *manualRig {
	t.Helper()
	m := &manualRig{}
	user := cfg.OnTransition
	cfg.OnTransition = func(tr breaker.Transition) {
		m.events = append(m.events, tr)
		if user != nil {
			user(tr)
		}
	}
	m.rig = newRig(t, cs, cfg)
	return m
}

func (m *manualRig) wantEvents(want ...string) {
	m.t.Helper()
	got := make([]string, len(m.events))
	for i, e := range m.events {
		got[i] = e.From.String() + ">" + e.To.String() + "/" + e.Cause.String() + "/" + e.Mode.String()
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		m.t.Fatalf("transitions = %v, want %v", got, want)
	}
}

func (m *manualRig) wantMode(want breaker.Mode) {
	m.t.Helper()
	if got := m.b.Metrics().Mode; got != want {
		m.t.Fatalf("Metrics().Mode = %v, want %v", got, want)
	}
}

func TestForceOpen(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newManualRig(t, cs, breaker.Config[int]{OpenTimeout: time.Second, HalfOpenProbes: 1})
		r.b.ForceOpen()
		r.wantState(breaker.Open)
		r.wantMode(breaker.ModeForcedOpen)
		for _, d := range []time.Duration{0, time.Second, time.Hour, 20 * time.Hour} {
			r.clk.Add(d)
			r.wantState(breaker.Open)
			if err := r.exec(nil); err == nil {
				t.Fatalf("forced open: a call ran after %v", d)
			} else {
				wantRejected(t, err)
			}
			if _, err := r.b.Allow(); err == nil {
				t.Fatalf("forced open: Allow let a probe through after %v", d)
			}
		}
		if r.calls != 0 {
			t.Fatalf("%d calls ran while forced open", r.calls)
		}
		m := r.b.Metrics()
		if m.State != breaker.Open || !m.Until.IsZero() || m.ManualOpens != 1 || m.Trips != 0 {
			t.Fatalf("Metrics while forced open = %+v", m)
		}
		r.b.ForceOpen() // again: nothing
		r.b.Reset()
		r.wantState(breaker.Closed)
		r.wantMode(breaker.ModeNone)
		if err := r.exec(nil); err != nil {
			t.Fatalf("after Reset: %v", err)
		}
		r.wantLog("closed>open", "open>closed")
		r.wantEvents("closed>open/manual/forced-open", "open>closed/manual/none")
		if !r.events[0].Until.IsZero() {
			t.Fatalf("forced-open transition has an Until: %+v", r.events[0])
		}
	})
}

func TestForceOpenOfOpenCircuit(t *testing.T) {
	r := newManualRig(t, todayStart, breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Second})
	r.exec(errDependency)
	r.b.ForceOpen()
	r.clk.Add(time.Minute)
	r.wantState(breaker.Open)
	// OnStateChange saw one open; OnTransition also saw the mode change.
	r.wantLog("closed>open")
	r.wantEvents("closed>open/policy/none", "open>open/manual/forced-open")
}

func TestDisable(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newManualRig(t, cs, breaker.Config[int]{Policy: policy.Consecutive(2), OpenTimeout: time.Second, CountCalls: true})
		r.exec(errDependency) // one failure towards the streak: forgotten by the time the mode ends
		r.b.Disable()
		r.wantMode(breaker.ModeDisabled)
		for range 10 {
			if err := r.exec(errDependency); !errors.Is(err, errDependency) {
				t.Fatalf("disabled: call returned %v, want the dependency's error", err)
			}
			r.wantState(breaker.Closed)
		}
		r.clk.Add(time.Hour)
		r.wantState(breaker.Closed)
		if m := r.b.Metrics(); m.Failures != 11 || m.Trips != 0 || m.State != breaker.Closed {
			t.Fatalf("Metrics while disabled = %+v; want 11 failures counted, no trip", m)
		}
		r.b.Reset()
		r.wantMode(breaker.ModeNone)
		r.exec(errDependency)
		r.wantState(breaker.Closed) // the failure before Disable was forgotten
		r.exec(errDependency)
		r.wantState(breaker.Open)
		r.wantLog("closed>open")
		r.wantEvents("closed>closed/manual/disabled", "closed>closed/manual/none", "closed>open/policy/none")
	})
}

// A disabled breaker records nothing, on any path: with a policy that needs
// the clock, through Allow and Done, and with the default policy's fastest
// path.
func TestDisableRecordsNothing(t *testing.T) {
	for _, pol := range []func() policy.Policy{
		func() policy.Policy { return nil },
		func() policy.Policy { return policy.Window(1, time.Minute) },
		func() policy.Policy { return policy.Slow(time.Millisecond, 0.5, 1, time.Minute) },
	} {
		cp := &countingPolicy{Policy: pol()}
		if cp.Policy == nil {
			cp.Policy = policy.Consecutive(breaker.DefaultFailures)
		}
		r := newManualRig(t, todayStart, breaker.Config[int]{Policy: cp})
		r.b.Disable()
		r.exec(nil)
		r.exec(errDependency)
		p, err := r.b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		p.Done(0, errDependency)
		if n := cp.records.Load(); n != 0 {
			t.Fatalf("%v: disabled breaker recorded %d calls", cp.Policy, n)
		}
		r.wantState(breaker.Closed)
	}
}

func TestTripFor(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		start := cs.at
		r := newManualRig(t, cs, breaker.Config[int]{
			Policy:         policy.Consecutive(1),
			OpenTimeout:    time.Second,
			HalfOpenProbes: 1,
			Backoff:        &breaker.Backoff{Max: time.Hour},
		})
		r.b.TripFor(10 * time.Minute)
		oe := wantRejected(t, r.exec(nil))
		if !oe.Until().Equal(start.Add(10 * time.Minute)) {
			t.Fatalf("rejection until %v, want %v", oe.Until(), start.Add(10*time.Minute))
		}
		if ev := r.events[0]; !ev.Until.Equal(start.Add(10*time.Minute)) || !ev.At.Equal(start) {
			t.Fatalf("transition %+v: want At %v and Until 10 minutes later", ev, start)
		}
		r.clk.Add(10*time.Minute - time.Nanosecond)
		r.wantState(breaker.Open)
		r.clk.Add(time.Nanosecond)
		r.wantState(breaker.HalfOpen)
		// The Backoff was not stepped: the failed probe's period is the
		// first of a row, OpenTimeout.
		r.exec(errDependency)
		if m := r.b.Metrics(); !m.Until.Equal(r.clk.Now().Add(time.Second)) || m.Reopens != 1 || m.ManualOpens != 1 {
			t.Fatalf("after a failed probe: %+v; want open for 1s (Backoff not stepped)", m)
		}
		r.wantEvents("closed>open/manual/none", "open>half-open/timeout/none", "half-open>open/probe/none")
	})
}

func TestTripForZeroOrLess(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second, -1 << 63} {
		r := newManualRig(t, todayStart, breaker.Config[int]{})
		r.b.TripFor(d)
		r.wantState(breaker.HalfOpen)
		r.wantLog("closed>open", "open>half-open")
	}
}

// The last manual action wins, and Trip or TripFor turn a forced mode into
// an ordinary open period.
func TestLastManualActionWins(t *testing.T) {
	type step struct {
		do    string
		state breaker.State
		mode  breaker.Mode
	}
	cases := [][]step{
		{{"force", breaker.Open, breaker.ModeForcedOpen}, {"disable", breaker.Closed, breaker.ModeDisabled}, {"reset", breaker.Closed, breaker.ModeNone}},
		{{"disable", breaker.Closed, breaker.ModeDisabled}, {"force", breaker.Open, breaker.ModeForcedOpen}, {"wait", breaker.Open, breaker.ModeForcedOpen}},
		{{"force", breaker.Open, breaker.ModeForcedOpen}, {"trip", breaker.Open, breaker.ModeNone}, {"wait", breaker.HalfOpen, breaker.ModeNone}},
		{{"force", breaker.Open, breaker.ModeForcedOpen}, {"tripfor", breaker.Open, breaker.ModeNone}, {"wait", breaker.Open, breaker.ModeNone}, {"wait", breaker.HalfOpen, breaker.ModeNone}},
		{{"disable", breaker.Closed, breaker.ModeDisabled}, {"trip", breaker.Open, breaker.ModeNone}, {"wait", breaker.HalfOpen, breaker.ModeNone}},
		{{"disable", breaker.Closed, breaker.ModeDisabled}, {"tripfor", breaker.Open, breaker.ModeNone}, {"reset", breaker.Closed, breaker.ModeNone}},
		{{"trip", breaker.Open, breaker.ModeNone}, {"disable", breaker.Closed, breaker.ModeDisabled}, {"wait", breaker.Closed, breaker.ModeDisabled}},
		{{"tripfor", breaker.Open, breaker.ModeNone}, {"force", breaker.Open, breaker.ModeForcedOpen}, {"wait", breaker.Open, breaker.ModeForcedOpen}, {"wait", breaker.Open, breaker.ModeForcedOpen}},
	}
	for _, steps := range cases {
		var name []string
		for _, s := range steps {
			name = append(name, s.do)
		}
		t.Run(strings.Join(name, ","), func(t *testing.T) {
			r := newManualRig(t, todayStart, breaker.Config[int]{OpenTimeout: time.Second})
			for i, s := range steps {
				switch s.do {
				case "force":
					r.b.ForceOpen()
				case "disable":
					r.b.Disable()
				case "reset":
					r.b.Reset()
				case "trip":
					r.b.Trip()
				case "tripfor":
					r.b.TripFor(2 * time.Second)
				case "wait":
					r.clk.Add(time.Second)
				}
				if got := r.b.State(); got != s.state {
					t.Fatalf("step %d (%s): State() = %v, want %v", i, s.do, got, s.state)
				}
				r.wantMode(s.mode)
			}
			// Whatever the steps, the transitions form a chain.
			for i := 1; i < len(r.events); i++ {
				if r.events[i].From != r.events[i-1].To || r.events[i].Generation <= r.events[i-1].Generation {
					t.Fatalf("transitions break the chain at %d: %+v", i, r.events)
				}
			}
		})
	}
}

// A call admitted before a manual action changes nothing when it finishes.
func TestManualActionFencesEarlierCalls(t *testing.T) {
	r := newManualRig(t, todayStart, breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Second})
	p, err := r.b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	r.b.Disable()
	r.b.Reset()
	p.Done(0, errDependency)
	r.wantState(breaker.Closed)
}

func TestCloseAfter(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		// One probe at a time, three successes to close: three probes in a
		// row.
		r := newManualRig(t, cs, breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Second, HalfOpenProbes: 1, CloseAfter: 3})
		r.exec(errDependency)
		r.clk.Add(time.Second)
		for i := range 3 {
			r.wantState(breaker.HalfOpen)
			p, err := r.b.Allow()
			if err != nil {
				t.Fatalf("probe %d rejected: %v", i+1, err)
			}
			if _, err := r.b.Allow(); err == nil {
				t.Fatalf("a second probe ran beside probe %d with HalfOpenProbes 1", i+1)
			}
			if m := r.b.Metrics(); m.ProbesSucceeded != i || m.ProbesInFlight != 1 {
				t.Fatalf("probe %d: Metrics %+v", i+1, m)
			}
			p.Done(0, nil)
		}
		r.wantState(breaker.Closed)
		r.wantLog("closed>open", "open>half-open", "half-open>closed")

		// More probes at once than it takes to close: the first CloseAfter
		// successes close it; a late one changes nothing.
		r = newManualRig(t, cs, breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Second, HalfOpenProbes: 4, CloseAfter: 2})
		r.exec(errDependency)
		r.clk.Add(time.Second)
		var ps []breaker.Permit[int]
		for range 4 {
			p, err := r.b.Allow()
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
		ps[0].Done(0, nil)
		r.wantState(breaker.HalfOpen)
		ps[1].Done(0, nil)
		r.wantState(breaker.Closed)
		ps[2].Done(0, errDependency)
		r.wantState(breaker.Closed)
	})
}

func TestCloseAfterInvalid(t *testing.T) {
	for _, n := range []int{-1, breaker.MaxHalfOpenProbes + 1} {
		_, err := breaker.New(breaker.Config[int]{CloseAfter: n})
		var ce *breaker.ConfigError
		if !errors.Is(err, breaker.ErrInvalidConfig) || !errors.As(err, &ce) || ce.Field != "CloseAfter" {
			t.Fatalf("CloseAfter %d: err = %v, want a ConfigError naming CloseAfter", n, err)
		}
	}
	if _, err := breaker.New(breaker.Config[int]{HalfOpenProbes: 1, CloseAfter: breaker.MaxHalfOpenProbes}); err != nil {
		t.Fatalf("CloseAfter at its maximum: %v", err)
	}
}

// OnStateChange may call the manual actions: no deadlock, and every change
// is reported in order.
func TestManualActionsFromOnStateChange(t *testing.T) {
	var r *manualRig
	done := false
	r = newManualRig(t, todayStart, breaker.Config[int]{
		OnStateChange: func(_ string, from, to breaker.State) {
			if to == breaker.Open && !done {
				done = true
				r.b.Disable()
			}
		},
	})
	r.b.ForceOpen()
	r.b.State()
	r.wantEvents("closed>open/manual/forced-open", "open>closed/manual/disabled")
	_, _ = r.b.Execute(context.Background(), func(context.Context) (int, error) { return 0, nil })
}
