package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/internal/fsm"
	"github.com/tripwire-go/tripwire/policy"
)

func okCall(context.Context) (int, error)   { return 1, nil }
func failCall(context.Context) (int, error) { return 0, errDown }

// closeByProbe trips b, lets its open period pass on clk and closes it with
// one successful probe (HalfOpenProbes 1).
func closeByProbe(t *testing.T, b *breaker.Breaker[int], clk *epochs.Clock, open time.Duration) {
	t.Helper()
	b.Trip()
	clk.Add(open)
	if _, err := b.Execute(context.Background(), okCall); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if s := b.State(); s != breaker.Closed {
		t.Fatalf("state after the probe: %v, want closed", s)
	}
}

// admitted runs n calls that succeed and returns how many ran, checking
// that every rejection is a ramp-up's.
func admitted(t *testing.T, b *breaker.Breaker[int], n int) int {
	t.Helper()
	ran := 0
	for range n {
		_, err := b.Execute(context.Background(), okCall)
		switch {
		case err == nil:
			ran++
		case !errors.Is(err, breaker.ErrRampUp) || !errors.Is(err, breaker.ErrOpen):
			t.Fatalf("rejection %v: want ErrRampUp and ErrOpen", err)
		}
	}
	return ran
}

func TestRampUpAdmitsARisingShare(t *testing.T) {
	epochs.Run(t, monoEpochs(), func(t *testing.T, start time.Time) {
		clk := epochs.NewClock(start)
		b, err := breaker.New(breaker.Config[int]{Clock: clk, HalfOpenProbes: 1, OpenTimeout: 10 * time.Second, RampUp: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		closeByProbe(t, b, clk, 10*time.Second)
		// At the close: the floor, 10%, of any run, to within one call.
		if n := admitted(t, b, 100); n < 10 || n > 11 {
			t.Fatalf("at the close %d of 100 calls ran, want 10", n)
		}
		clk.Add(15 * time.Second) // halfway: 10% + 90%/2 = 55%
		if n := admitted(t, b, 1000); n < 540 || n > 560 {
			t.Fatalf("halfway %d of 1000 calls ran, want about 550", n)
		}
		clk.StepWall(-time.Hour) // the wall clock steps back: the ramp follows the monotonic reading
		clk.Add(15 * time.Second)
		if n := admitted(t, b, 100); n != 100 {
			t.Fatalf("after the ramp %d of 100 calls ran, want all", n)
		}
		if s := b.State(); s != breaker.Closed {
			t.Fatalf("state %v", s)
		}
	})
}

func TestRampUpRejectionSaysSo(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	b, _ := breaker.New(breaker.Config[int]{Name: "db", Clock: clk, HalfOpenProbes: 1, OpenTimeout: time.Second, RampUp: 20 * time.Second})
	closeByProbe(t, b, clk, time.Second)
	b.Execute(context.Background(), okCall) // the first call of a ramp runs
	_, err := b.Execute(context.Background(), okCall)
	var oe *breaker.OpenError
	if !errors.As(err, &oe) || !oe.Ramping() || oe.State() != breaker.Closed {
		t.Fatalf("rejection %v: want a ramping *OpenError", err)
	}
	if !strings.Contains(err.Error(), "ramping up") {
		t.Fatalf("message %q does not say so", err)
	}
	if d, ok := breaker.RetryAfter(err, clk.Now()); !ok || d != breaker.HalfOpenRetryAfter {
		t.Fatalf("RetryAfter = %v, %v; want %v", d, ok, breaker.HalfOpenRetryAfter)
	}
	clk.Add(19*time.Second + 500*time.Millisecond)
	if d, _ := breaker.RetryAfter(err, clk.Now()); d != 500*time.Millisecond {
		t.Fatalf("RetryAfter near the end = %v, want 500ms", d)
	}
	// A rejection of an open circuit is no ramp-up's.
	b.Trip()
	_, err = b.Execute(context.Background(), okCall)
	if errors.Is(err, breaker.ErrRampUp) {
		t.Fatalf("open rejection %v says ramp-up", err)
	}
}

// rampCountingPolicy counts what it records.
type rampCountingPolicy struct {
	policy.Policy
	n int
}

func (p *rampCountingPolicy) Record(c policy.Call) bool { p.n++; return p.Policy.Record(c) }
func (p *rampCountingPolicy) Unwrap() policy.Policy     { return p.Policy }

func TestRampUpRejectionsNeverReachThePolicy(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	p := &rampCountingPolicy{Policy: policy.Consecutive(3)}
	b, err := breaker.New(breaker.Config[int]{Clock: clk, Policy: p, HalfOpenProbes: 1, OpenTimeout: time.Second, RampUp: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	closeByProbe(t, b, clk, time.Second)
	before := p.n
	ran := admitted(t, b, 50)
	if got := p.n - before; got != ran {
		t.Fatalf("the policy recorded %d calls, %d ran", got, ran)
	}
}

func TestRampUpFailuresReopen(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	var events []string
	b, _ := breaker.New(breaker.Config[int]{Clock: clk, Policy: policy.Consecutive(2), HalfOpenProbes: 1, OpenTimeout: time.Second, RampUp: time.Minute,
		OnTransition: func(tr breaker.Transition) { events = append(events, tr.To.String()+"/"+tr.Evidence.Text) }})
	closeByProbe(t, b, clk, time.Second)
	for range 40 { // 10% of 40: 4 calls run, 2 failures trip
		b.Execute(context.Background(), failCall)
	}
	if s := b.State(); s != breaker.Open {
		t.Fatalf("state %v, want open: failures during the ramp must trip", s)
	}
	if !strings.Contains(strings.Join(events, "\n"), "ramping up over 1m0s") {
		t.Fatalf("the close's evidence does not name the ramp: %q", events)
	}
}

func TestRampUpNotAfterReset(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	b, _ := breaker.New(breaker.Config[int]{Clock: clk, RampUp: time.Minute})
	b.Trip()
	b.Reset()
	if n := admitted(t, b, 20); n != 20 {
		t.Fatalf("after Reset %d of 20 ran: an operator's close starts no ramp", n)
	}
	// A manual mode wins over a ramp.
	closeWithRamp, _ := breaker.New(breaker.Config[int]{Clock: clk, HalfOpenProbes: 1, OpenTimeout: time.Second, RampUp: time.Minute})
	closeByProbe(t, closeWithRamp, clk, time.Second)
	closeWithRamp.Disable()
	if n := admitted(t, closeWithRamp, 20); n != 20 {
		t.Fatalf("disabled, %d of 20 ran", n)
	}
}

// A result from a call admitted during the ramp that finishes after the
// ramp ended still counts: the word lost only its ramp flag.
func TestRampUpLateResultCounts(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	b, _ := breaker.New(breaker.Config[int]{Clock: clk, Policy: policy.Consecutive(1), HalfOpenProbes: 1, OpenTimeout: time.Second, RampUp: time.Minute})
	closeByProbe(t, b, clk, time.Second)
	p, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	admitted(t, b, 1) // ends the ramp
	p.Done(0, errDown)
	if s := b.State(); s != breaker.Open {
		t.Fatalf("state %v: a failure admitted during the ramp was dropped", s)
	}
}

func TestRampUpConfig(t *testing.T) {
	_, err := breaker.New(breaker.Config[int]{RampUp: -time.Second})
	if !errors.Is(err, breaker.ErrInvalidConfig) || !strings.Contains(err.Error(), "RampUp") {
		t.Fatalf("New with a negative RampUp: %v", err)
	}
	_, err = breaker.New(breaker.Config[int]{MaxRetryAfter: -time.Second})
	if !errors.Is(err, breaker.ErrInvalidConfig) || !strings.Contains(err.Error(), "MaxRetryAfter") {
		t.Fatalf("New with a negative MaxRetryAfter: %v", err)
	}
}

// retryAfterError is a failure whose dependency asked for a wait.
type retryAfterError struct{ d time.Duration }

func (e retryAfterError) Error() string             { return "busy" }
func (e retryAfterError) RetryAfter() time.Duration { return e.d }

func TestRetryAfterOpensForTheAskedPeriod(t *testing.T) {
	epochs.Run(t, monoEpochs(), func(t *testing.T, start time.Time) {
		clk := epochs.NewClock(start)
		var evs []breaker.Transition
		b, _ := breaker.New(breaker.Config[int]{Clock: clk, MaxRetryAfter: 30 * time.Second, OpenTimeout: 5 * time.Second,
			OnTransition: func(tr breaker.Transition) { evs = append(evs, tr) }})
		b.Execute(context.Background(), func(context.Context) (int, error) { return 0, retryAfterError{12 * time.Second} })
		if s := b.State(); s != breaker.Open {
			t.Fatalf("state %v after one failure asking 12s, want open", s)
		}
		if len(evs) != 1 || !evs[0].Until.Equal(clk.Now().Add(12*time.Second)) || !strings.Contains(evs[0].Evidence.Text, "open period 12s asked by the dependency") {
			t.Fatalf("transition %+v", evs)
		}
		if m := b.Metrics(); m.TripRule != "retry-after" {
			t.Fatalf("Metrics().TripRule = %q, want retry-after", m.TripRule)
		}
		clk.Add(12 * time.Second)
		if s := b.State(); s != breaker.HalfOpen {
			t.Fatalf("state %v after 12s, want half-open", s)
		}
		// A probe that fails asking for an hour: clamped to 30s.
		b.Execute(context.Background(), func(context.Context) (int, error) {
			return 0, fmt.Errorf("wrapped: %w", retryAfterError{time.Hour})
		})
		last := evs[len(evs)-1]
		if last.To != breaker.Open || last.Cause != breaker.CauseProbe || !last.Until.Equal(clk.Now().Add(30*time.Second)) {
			t.Fatalf("after a probe asking an hour: %+v", last)
		}
		if !strings.Contains(last.Evidence.Text, "open period 1h0m0s asked by the dependency (retry-after), clamped to 30s") {
			t.Fatalf("evidence %q", last.Evidence.Text)
		}
	})
}

func TestRetryAfterIgnoredWithoutMax(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	b, _ := breaker.New(breaker.Config[int]{Clock: clk})
	b.Execute(context.Background(), func(context.Context) (int, error) { return 0, retryAfterError{time.Minute} })
	if s := b.State(); s != breaker.Closed {
		t.Fatalf("state %v: without MaxRetryAfter one failure must not open", s)
	}
}

func TestRetryAfterDoesNotOverrideManualModes(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	b, _ := breaker.New(breaker.Config[int]{Clock: clk, MaxRetryAfter: time.Minute})
	b.Disable()
	b.Execute(context.Background(), func(context.Context) (int, error) { return 0, retryAfterError{time.Minute} })
	if s := b.State(); s != breaker.Closed {
		t.Fatalf("disabled, state %v", s)
	}
	// A stale result changes nothing.
	b.Reset()
	p, _ := b.Allow()
	b.Trip()
	b.Reset()
	p.Done(0, retryAfterError{time.Minute})
	if s := b.State(); s != breaker.Closed {
		t.Fatalf("a stale result opened the circuit: %v", s)
	}
}

// monoEpochs are the real dates whose times carry a monotonic reading, so
// that a test can step the wall clock alone.
func monoEpochs() []epochs.Epoch {
	var out []epochs.Epoch
	for _, e := range epochs.For(time.Hour) {
		if _, ok := epochs.Mono(e.At); ok {
			out = append(out, e)
		}
	}
	return out
}

// Neither a ramp nor a throttle allocates per call: their rejections are
// built once per generation.
func TestRampAndThrottleAllocateNothingPerCall(t *testing.T) {
	ctx := context.Background()
	clk := epochs.NewClock(epochs.Today)
	b, _ := breaker.New(breaker.Config[int]{Clock: clk, HalfOpenProbes: 1, OpenTimeout: time.Second, RampUp: time.Hour})
	closeByProbe(t, b, clk, time.Second)
	if n := testing.AllocsPerRun(1000, func() { b.Execute(ctx, okCall) }); n != 0 {
		t.Fatalf("a ramping breaker allocates %v per call", n)
	}
	th, _ := breaker.New(breaker.Config[int]{Clock: clk, Policy: policy.Throttle(2, time.Minute).WithRand(func() float64 { return 0 })})
	for range 10 {
		th.Execute(ctx, failCall)
	}
	if n := testing.AllocsPerRun(1000, func() { th.Execute(ctx, okCall) }); n != 0 {
		t.Fatalf("a throttling breaker allocates %v per call", n)
	}
}

func TestRampFloorIsTheMachines(t *testing.T) {
	if breaker.RampFloor != fsm.RampFloor {
		t.Fatalf("breaker.RampFloor %v, fsm.RampFloor %v", breaker.RampFloor, fsm.RampFloor)
	}
}

// A breaker with a ramp and a throttle at once builds each rejection once
// per generation, not once per alternation between them.
func TestRejectionCacheThrashBetweenRampAndThrottle(t *testing.T) {
	ctx := context.Background()
	clk := epochs.NewClock(epochs.Today)
	u := 0.999 // sheds nothing yet
	b, _ := breaker.New(breaker.Config[int]{Clock: clk, HalfOpenProbes: 1, OpenTimeout: time.Second, RampUp: 90 * time.Second,
		Policy: policy.Throttle(1, time.Minute).WithRand(func() float64 { return u })})
	b.Trip()
	clk.Add(time.Second)
	b.Execute(ctx, okCall)    // the probe closes it: ramping
	clk.Add(40 * time.Second) // the ramp's share is 10% + 90%·40/90 = 50%: every other call
	for range 20 {
		b.Execute(ctx, failCall) // those that run fail and are counted
	}
	u = 0 // now the throttle sheds every call the ramp lets through
	var ramp, throttled int
	if n := testing.AllocsPerRun(1000, func() {
		_, err := b.Execute(ctx, failCall)
		if errors.Is(err, breaker.ErrRampUp) {
			ramp++
		} else if errors.Is(err, breaker.ErrThrottled) {
			throttled++
		}
	}); n != 0 {
		t.Fatalf("a ramping, throttling breaker allocates %v per call", n)
	}
	if ramp == 0 || throttled == 0 {
		t.Fatalf("%d ramp rejections, %d throttled: want both", ramp, throttled)
	}
}

// A Reconfigure during a ramp ends the ramp, and the calls the ramp let
// through count for the new policy, as any closed call carried over does.
func TestReconfigureDuringRamp(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	b, _ := breaker.New(breaker.Config[int]{Clock: clk, HalfOpenProbes: 1, OpenTimeout: time.Second, RampUp: time.Hour, MaxRetryAfter: time.Minute})
	closeByProbe(t, b, clk, time.Second)
	p, err := b.Allow() // the ramp's first call
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Reconfigure(breaker.Settings{Policy: policy.Consecutive(1), OpenTimeout: time.Second, HalfOpenProbes: 1}, "test", "ramp"); err != nil {
		t.Fatal(err)
	}
	if n := admitted(t, b, 20); n != 20 {
		t.Fatalf("after a Reconfigure %d of 20 ran: it ends the ramp", n)
	}
	p.Done(0, errDown)
	if s := b.State(); s != breaker.Open {
		t.Fatalf("state %v: a failure the ramp let through was lost across the Reconfigure", s)
	}
	// MaxRetryAfter is kept.
	clk.Add(time.Second)
	b.Execute(context.Background(), okCall) // closes: ramping again
	clk.Add(time.Hour)
	b.Execute(context.Background(), func(context.Context) (int, error) { return 0, busy{30 * time.Second} })
	if tr := b.Transitions(); tr[len(tr)-1].Until.Sub(tr[len(tr)-1].At) != 30*time.Second {
		t.Fatalf("after a Reconfigure the retry-after was not honoured: %+v", tr[len(tr)-1])
	}
}
