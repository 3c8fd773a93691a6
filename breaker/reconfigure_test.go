package breaker_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

var errDown = errors.New("down")

func failN(b *breaker.Breaker[int], n int) {
	for range n {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDown })
	}
}

// TestReconfigure checks, from every clock start, that a Reconfigure
// keeps the state and what the policy counted, takes effect at once, and
// is delivered as a transition with its evidence, not to OnStateChange.
func TestReconfigure(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		clk := newManualClock(cs)
		var changes int
		b, err := breaker.New(breaker.Config[int]{
			Policy:        policy.Consecutive(3),
			Clock:         clk,
			OnStateChange: func(string, breaker.State, breaker.State) { changes++ },
		})
		if err != nil {
			t.Fatal(err)
		}
		failN(b, 2)
		if err := b.Reconfigure(breaker.Settings{Policy: policy.Consecutive(5), OpenTimeout: 10 * time.Second, HalfOpenProbes: 1}, "alice", "fewer false trips"); err != nil {
			t.Fatal(err)
		}
		if b.State() != breaker.Closed || changes != 0 {
			t.Fatalf("after Reconfigure: %v, %d changes of state; want closed, none", b.State(), changes)
		}
		tr := b.Transitions()
		if len(tr) != 1 {
			t.Fatalf("Transitions() = %+v, want the reconfiguration", tr)
		}
		r := tr[0]
		if r.Cause != breaker.CauseReconfigure || r.From != breaker.Closed || r.To != breaker.Closed || r.Generation == 0 || !r.At.Equal(clk.Now()) {
			t.Fatalf("transition %+v, want closed>closed by reconfigure at %v", r, clk.Now())
		}
		e := r.Evidence
		if e.Action != "reconfigure" || e.Who != "alice" || e.Why != "fewer false trips" ||
			e.Old != "consecutive(3)@open=1m,probes=3" || e.New != "consecutive(5)@open=10s,probes=1" ||
			!strings.Contains(e.Text, "counts carried over") {
			t.Fatalf("evidence %+v", e)
		}
		// The streak of 2 carried over: 3 more failures trip Consecutive(5).
		failN(b, 2)
		if b.State() != breaker.Closed {
			t.Fatalf("tripped at a streak of 4 under Consecutive(5)")
		}
		failN(b, 1)
		if b.State() != breaker.Open {
			t.Fatalf("not open at a streak of 5")
		}
		m := b.Metrics()
		if !m.Until.Equal(clk.Now().Add(10 * time.Second)) {
			t.Fatalf("open until %v, want the new timeout of 10s from %v", m.Until, clk.Now())
		}
		if s := b.Settings(); s.OpenTimeout != 10*time.Second || s.HalfOpenProbes != 1 || s.Text != e.New {
			t.Fatalf("Settings() = %+v", s)
		}
	})
}

// TestReconfigureOpenKeepsItsPeriod: an open circuit stays open until the
// end of its period; the new timeout and probes apply from then on.
func TestReconfigureOpenKeepsItsPeriod(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		clk := newManualClock(cs)
		b, _ := breaker.New(breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Minute, HalfOpenProbes: 3, Clock: clk})
		failN(b, 1)
		until := b.Metrics().Until
		if err := b.Reconfigure(breaker.Settings{OpenTimeout: time.Second, HalfOpenProbes: 1}, "", ""); err != nil {
			t.Fatal(err)
		}
		_, err := b.Allow()
		var oe *breaker.OpenError
		if !errors.As(err, &oe) || !oe.Until().Equal(until) {
			t.Fatalf("Allow after Reconfigure = %v, want rejected until %v", err, until)
		}
		clk.Add(time.Minute)
		if _, err := b.Allow(); err != nil {
			t.Fatalf("first probe: %v", err)
		}
		if _, err := b.Allow(); err == nil {
			t.Fatalf("a second probe ran: HalfOpenProbes is 1 now")
		}
	})
}

// TestReconfigureHalfOpenRestarts: the half-open period starts again; a
// probe admitted before changes nothing when it reports.
func TestReconfigureHalfOpenRestarts(t *testing.T) {
	clk := newManualClock(clockStarts()[0])
	b, _ := breaker.New(breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Second, HalfOpenProbes: 1, Clock: clk})
	failN(b, 1)
	clk.Add(time.Second)
	old, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Reconfigure(breaker.Settings{OpenTimeout: time.Second, HalfOpenProbes: 2, CloseAfter: 1}, "", ""); err != nil {
		t.Fatal(err)
	}
	if b.State() != breaker.HalfOpen {
		t.Fatalf("State() = %v, want half-open", b.State())
	}
	old.Done(0, errDown) // forgotten: must not reopen
	if b.State() != breaker.HalfOpen {
		t.Fatalf("a probe from before the Reconfigure reopened the circuit")
	}
	p, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	p.Done(1, nil)
	if b.State() != breaker.Closed {
		t.Fatalf("State() = %v after one success with CloseAfter 1, want closed", b.State())
	}
}

// TestReconfigureKeepsMode: a forced-open or disabled circuit stays so.
func TestReconfigureKeepsMode(t *testing.T) {
	for _, mode := range []breaker.Mode{breaker.ModeForcedOpen, breaker.ModeDisabled} {
		b, _ := breaker.New(breaker.Config[int]{Clock: newManualClock(clockStarts()[0])})
		if mode == breaker.ModeForcedOpen {
			b.ForceOpen()
		} else {
			b.Disable()
		}
		st := b.State()
		if err := b.Reconfigure(breaker.Settings{Policy: policy.Consecutive(1)}, "", ""); err != nil {
			t.Fatal(err)
		}
		if m := b.Metrics(); m.Mode != mode || m.State != st {
			t.Fatalf("%v: after Reconfigure %v, %v", mode, m.Mode, m.State)
		}
		tr := b.Transitions()
		if last := tr[len(tr)-1]; last.Cause != breaker.CauseReconfigure || last.Mode != mode {
			t.Fatalf("%v: last transition %+v", mode, last)
		}
	}
}

// TestReconfigureValidatesAsNew: an invalid Settings gets New's error for
// the same field and changes nothing.
func TestReconfigureValidatesAsNew(t *testing.T) {
	b, _ := breaker.New(breaker.Config[int]{Clock: newManualClock(clockStarts()[0])})
	other, _ := breaker.New(breaker.Config[int]{})
	shared := policy.Consecutive(2)
	_, _ = breaker.New(breaker.Config[int]{Policy: shared})
	_ = other
	for _, tc := range []struct {
		s   breaker.Settings
		cfg breaker.Config[int]
	}{
		{breaker.Settings{OpenTimeout: -1}, breaker.Config[int]{OpenTimeout: -1}},
		{breaker.Settings{HalfOpenProbes: breaker.MaxHalfOpenProbes + 1}, breaker.Config[int]{HalfOpenProbes: breaker.MaxHalfOpenProbes + 1}},
		{breaker.Settings{CloseAfter: -2}, breaker.Config[int]{CloseAfter: -2}},
		{breaker.Settings{Backoff: &breaker.Backoff{Max: time.Second}, OpenTimeout: time.Minute}, breaker.Config[int]{Backoff: &breaker.Backoff{Max: time.Second}, OpenTimeout: time.Minute}},
		{breaker.Settings{Policy: policy.Rate(1.5, 1, time.Second)}, breaker.Config[int]{Policy: policy.Rate(1.5, 1, time.Second)}},
	} {
		err := b.Reconfigure(tc.s, "", "")
		_, want := breaker.New(tc.cfg)
		if !errors.Is(err, breaker.ErrInvalidConfig) || err.Error() != want.Error() {
			t.Errorf("Reconfigure(%+v) = %v, want New's %v", tc.s, err, want)
		}
	}
	if err := b.Reconfigure(breaker.Settings{Policy: shared}, "", ""); !errors.Is(err, policy.ErrShared) || !errors.Is(err, breaker.ErrInvalidConfig) {
		t.Errorf("Reconfigure with another breaker's policy = %v, want ErrShared", err)
	}
	if len(b.Transitions()) != 0 {
		t.Errorf("a refused Reconfigure was reported: %+v", b.Transitions())
	}
}

// TestReconfigureResizesWindow: a Rate over 10s replaced by one over a
// minute keeps the calls of the 10s; one replaced by LastN restarts.
func TestReconfigureResizesWindow(t *testing.T) {
	eachClockStart(t, clockStartsFor(time.Minute), func(t *testing.T, cs clockStart) {
		clk := newManualClock(cs)
		b, _ := breaker.New(breaker.Config[int]{Policy: policy.Rate(0.5, 10, 10*time.Second), Clock: clk})
		failN(b, 4)
		if err := b.Reconfigure(breaker.Settings{Policy: policy.Rate(0.5, 5, time.Minute)}, "", ""); err != nil {
			t.Fatal(err)
		}
		if ev := b.Transitions()[0].Evidence; !strings.Contains(ev.Text, "counts carried over") {
			t.Fatalf("evidence %q", ev.Text)
		}
		failN(b, 1) // the fifth failure of the minute
		if b.State() != breaker.Open {
			t.Fatalf("not open after 5 failures in a minute: the window did not carry over")
		}
		b.Reset()
		if err := b.Reconfigure(breaker.Settings{Policy: policy.LastN(0.5, 2, 10)}, "", ""); err != nil {
			t.Fatal(err)
		}
		if ev := b.Transitions()[len(b.Transitions())-1].Evidence; !strings.Contains(ev.Text, "counts restart") {
			t.Fatalf("evidence %q", ev.Text)
		}
	})
}

// TestReconfigureCountsCallAdmittedDuringHandover pins a lost call: a
// Reconfigure fenced the calls it let run during the handover with the
// muted word of a Reset, so their results were dropped. The policy's
// TakeOver admits a call meanwhile; its failure must count.
func TestReconfigureCountsCallAdmittedDuringHandover(t *testing.T) {
	b, _ := breaker.New(breaker.Config[int]{Policy: policy.Consecutive(2), Clock: newManualClock(clockStarts()[0])})
	var during breaker.Permit[int]
	next := &hookedTakeOver{Policy: policy.Consecutive(2), hook: func() {
		var err error
		if during, err = b.Allow(); err != nil {
			t.Fatalf("Allow during the handover: %v", err)
		}
	}}
	if err := b.Reconfigure(breaker.Settings{Policy: next}, "", ""); err != nil {
		t.Fatal(err)
	}
	during.Done(0, errDown)
	failN(b, 1)
	if b.State() != breaker.Open {
		t.Fatalf("State() = %v after two failures under Consecutive(2): the one admitted during the handover was lost", b.State())
	}
}

// TestReconfigureCarriedCallGetsTheTime pins a panic: a call that
// finished under Consecutive, which needs no time, and reached Record
// while a Reconfigure to Rate handed over, was recorded by the Rate after
// it with a zero time, which a time window refuses. The call reports from
// another goroutine during the handover; the hook waits until it was
// counted (CountCalls counts first), so that it read the old needs.
func TestReconfigureCarriedCallGetsTheTime(t *testing.T) {
	eachClockStart(t, clockStartsFor(10*time.Second), func(t *testing.T, cs clockStart) {
		clk := newManualClock(cs)
		b, _ := breaker.New(breaker.Config[int]{Policy: policy.Consecutive(5), Clock: clk, CountCalls: true})
		p, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		reported := make(chan any)
		next := &hookedTakeOver{Policy: policy.Rate(0.5, 1, 10*time.Second), hook: func() {
			go func() {
				defer func() { reported <- recover() }()
				p.Done(0, errDown)
			}()
			for b.Metrics().Failures == 0 {
				runtime.Gosched()
			}
			for range 100 {
				runtime.Gosched() // let it reach Record, which waits for the handover
			}
		}}
		if err := b.Reconfigure(breaker.Settings{Policy: next}, "", ""); err != nil {
			t.Fatal(err)
		}
		if v := <-reported; v != nil {
			t.Fatalf("Done during the handover panicked: %v", v)
		}
		if b.State() != breaker.Open {
			t.Fatalf("State() = %v: the carried failure did not count", b.State())
		}
	})
}

// hookedTakeOver is a policy whose TakeOver runs hook first.
type hookedTakeOver struct {
	policy.Policy
	hook func()
}

func (p *hookedTakeOver) Unwrap() policy.Policy { return p.Policy }

func (p *hookedTakeOver) TakeOver(prev policy.Policy, now time.Time) bool {
	p.hook()
	return policy.TakeOver(p.Policy, prev, now)
}

// TestReconfiguredHotPathDoesNotAllocate: after a Reconfigure, a closed
// success and an open rejection allocate nothing, as before one.
func TestReconfiguredHotPathDoesNotAllocate(t *testing.T) {
	b, _ := breaker.New(breaker.Config[int]{})
	if err := b.Reconfigure(breaker.Settings{Policy: policy.Consecutive(2), OpenTimeout: time.Hour}, "", ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ok := func(context.Context) (int, error) { return 1, nil }
	if n := testing.AllocsPerRun(100, func() { _, _ = b.Execute(ctx, ok) }); n != 0 {
		t.Errorf("closed success: %v allocations", n)
	}
	failN(b, 2)
	_, _ = b.Execute(ctx, ok) // the first rejection builds the period's error
	if n := testing.AllocsPerRun(100, func() { _, _ = b.Execute(ctx, ok) }); n != 0 {
		t.Errorf("open rejection: %v allocations", n)
	}
}

// TestReconfigureToSlowWithCallsInFlight pins a panic: a call (or a
// half-open probe) admitted under a policy that needs no durations, which
// finished after a Reconfigure to Slow, reached Slow's Record (or its
// judge of probes) with no duration, and Call.Duration panicked. Such a
// call counts with a duration of zero: never slow.
func TestReconfigureToSlowWithCallsInFlight(t *testing.T) {
	eachClockStart(t, clockStartsFor(time.Minute), func(t *testing.T, cs clockStart) {
		clk := newManualClock(cs)
		b, _ := breaker.New(breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Second, ProbeTimeout: breaker.NoProbeTimeout, Clock: clk})
		p, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Reconfigure(breaker.Settings{Policy: policy.Slow(time.Second, 0.5, 1, time.Minute), OpenTimeout: time.Second, ProbeTimeout: breaker.NoProbeTimeout}, "", ""); err != nil {
			t.Fatal(err)
		}
		p.Done(1, nil)
		if b.State() != breaker.Closed {
			t.Fatalf("a carried success tripped Slow: %v", b.State())
		}

		b2, _ := breaker.New(breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Second, ProbeTimeout: breaker.NoProbeTimeout, Clock: clk})
		failN(b2, 1)
		clk.Add(time.Second)
		probe, err := b2.Allow()
		if err != nil {
			t.Fatal(err)
		}
		if err := b2.Reconfigure(breaker.Settings{Policy: policy.Slow(time.Second, 0.5, 1, time.Minute), OpenTimeout: time.Second, ProbeTimeout: breaker.NoProbeTimeout}, "", ""); err != nil {
			t.Fatal(err)
		}
		probe.Done(1, nil) // forgotten; judged first, with no duration
	})
}

// TestReconfigurePanickingTakeOver: a policy whose TakeOver panics leaves
// the breaker as it was, with the old policy, and the panic goes on up;
// a call admitted before counts for the old policy.
func TestReconfigurePanickingTakeOver(t *testing.T) {
	b, _ := breaker.New(breaker.Config[int]{Policy: policy.Consecutive(2), Clock: newManualClock(clockStarts()[0])})
	p, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	bad := &hookedTakeOver{Policy: policy.Consecutive(10), hook: func() { panic("takeover") }}
	if v := catch(func() { _ = b.Reconfigure(breaker.Settings{Policy: bad}, "", "") }); v != "takeover" {
		t.Fatalf("recovered %v, want the TakeOver's panic", v)
	}
	if len(b.Transitions()) != 0 || b.Settings().Text != "consecutive(2)@open=1m,probes=3" {
		t.Fatalf("a failed Reconfigure changed the breaker: %+v, %q", b.Transitions(), b.Settings().Text)
	}
	p.Done(0, errDown)
	failN(b, 1)
	if b.State() != breaker.Open {
		t.Fatalf("State() = %v after 2 failures under the old Consecutive(2)", b.State())
	}
}
