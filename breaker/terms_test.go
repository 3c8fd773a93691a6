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
	"github.com/tripwire-go/tripwire/window"
)

// TestConfigErrorNamesThePolicyArgument (issue 15, one error shape): a bad
// policy argument is reported with Field "Policy.<argument>", the policy's
// own *policy.ArgError kept inside.
func TestConfigErrorNamesThePolicyArgument(t *testing.T) {
	cases := []struct {
		p     policy.Policy
		field string
	}{
		{policy.Rate(2, 1, time.Minute), "Policy.ratio"},
		{policy.Window(3, -time.Minute), "Policy.over"},
		{policy.Slow(time.Minute, 0.8, 20, time.Second), "Policy.threshold"},
		{policy.Any(policy.Consecutive(1), policy.LastN(0.5, 1, 0)), "Policy.ps[1].n"},
		{policy.When(time.Minute, nil), "Policy.trip"},
		{struct{ policy.Policy }{policy.Window(5, time.Minute)}, "Policy"},
	}
	for _, c := range cases {
		_, err := breaker.New(breaker.Config[int]{Policy: c.p, Clock: epochs.Mock(epochs.Today)})
		var ce *breaker.ConfigError
		var ae *policy.ArgError
		if !errors.As(err, &ce) || ce.Field != c.field || !errors.Is(err, breaker.ErrInvalidConfig) || !errors.As(err, &ae) {
			t.Errorf("New(%T) = %v, want a ConfigError with Field %q around a *policy.ArgError", c.p, err, c.field)
		}
	}
}

// forgetful is the custom policy of issue 12 that goes silently wrong: it
// counts into a time window but never asks the breaker for the time, so
// every Call.At is the zero time, every failure falls into one bucket of
// the year 1, and failures an hour apart trip a one-minute window. The
// window now refuses the zero time, so the mistake shows at its first call.
type forgetful struct{ w *window.Time }

func (f forgetful) Record(c policy.Call) bool {
	return f.w.RecordSum(c.At, window.Mark(c.Failed, false)).Failures >= 2
}

func (f forgetful) Reset() { f.w.Reset() }

func TestTimePolicyThatForgotTheTimeFailsLoudly(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, err := breaker.New(breaker.Config[int]{Policy: forgetful{window.NewTime(time.Minute)}, Clock: epochs.Mock(start)})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			msg, _ := recover().(string)
			if !strings.Contains(msg, "zero time") || !strings.Contains(msg, "NeedTime") {
				t.Fatalf("recovered %q, want the window's explanation", msg)
			}
		}()
		b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("down") })
		t.Fatal("a time window counted a call at the zero time")
	})
}

// remembering is forgetful, fixed: it states its need in Bind.
type remembering struct{ forgetful }

func (remembering) Bind(b *policy.Binding) error {
	b.Need(policy.NeedTime)
	return nil
}

// TestBoundNeedsReachTheBreaker: a custom policy that asks for the time
// gets it, and a wrapper that Unwraps keeps the built-in policy's needs,
// so Window(2, time.Minute) does not trip on failures an hour apart.
func TestBoundNeedsReachTheBreaker(t *testing.T) {
	for name, make := range map[string]func() policy.Policy{
		"custom":  func() policy.Policy { return remembering{forgetful{window.NewTime(time.Minute)}} },
		"wrapper": func() policy.Policy { return unwrapping{policy.Window(2, time.Minute)} },
	} {
		t.Run(name, func(t *testing.T) {
			epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
				clk := epochs.Mock(start)
				b, err := breaker.New(breaker.Config[int]{Policy: make(), Clock: clk})
				if err != nil {
					t.Fatal(err)
				}
				fail := func(context.Context) (int, error) { return 0, errors.New("down") }
				b.Execute(context.Background(), fail)
				clk.Add(time.Hour)
				b.Execute(context.Background(), fail)
				if got := b.State(); got != breaker.Closed {
					t.Fatalf("State = %v after two failures an hour apart, want closed", got)
				}
				b.Execute(context.Background(), fail)
				if got := b.State(); got != breaker.Open {
					t.Fatalf("State = %v after two failures within a minute, want open", got)
				}
			})
		})
	}
}

// unwrapping is a wrapper that keeps its policy's terms.
type unwrapping struct{ inner policy.Policy }

func (u unwrapping) Record(c policy.Call) bool { return u.inner.Record(c) }
func (u unwrapping) Reset()                    { u.inner.Reset() }
func (u unwrapping) Unwrap() policy.Policy     { return u.inner }

// TestBreakerWindowIgnoresWallClockSteps is issue 10's third fault through
// the breaker: on a clock whose times carry a monotonic reading, as the
// real clock's do, a one-hour step back of the wall clock must not make
// Window(3, time.Minute) trip on failures 20 minutes apart, and a step
// forward must not empty it.
func TestBreakerWindowIgnoresWallClockSteps(t *testing.T) {
	fail := func(context.Context) (int, error) { return 0, errors.New("down") }
	for _, start := range []time.Time{epochs.Today, epochs.Y2038} {
		t.Run("back/"+start.Format("2006"), func(t *testing.T) {
			clk := epochs.NewClock(start)
			b, err := breaker.New(breaker.Config[int]{Policy: policy.Window(3, time.Minute), Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				b.Execute(context.Background(), fail)
				clk.Add(20 * time.Minute)
				if i == 0 {
					clk.StepWall(-time.Hour)
				}
			}
			if got := b.State(); got != breaker.Closed {
				t.Fatalf("State = %v after failures 20 minutes apart across a step back, want closed", got)
			}
		})
		t.Run("forward/"+start.Format("2006"), func(t *testing.T) {
			clk := epochs.NewClock(start)
			b, err := breaker.New(breaker.Config[int]{Policy: policy.Window(3, time.Minute), Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if i == 2 {
					clk.StepWall(time.Hour)
				}
				b.Execute(context.Background(), fail)
				clk.Add(5 * time.Second)
			}
			if got := b.State(); got != breaker.Open {
				t.Fatalf("State = %v after three failures in 10s across a step forward, want open", got)
			}
		})
	}
}
