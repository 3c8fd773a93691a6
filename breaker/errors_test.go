package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// newAt returns a breaker on a mock clock set to start, tripped by one
// failure.
func newAt(t *testing.T, start time.Time, cfg breaker.Config[int]) (*breaker.Breaker[int], interface {
	Now() time.Time
	Add(time.Duration)
}) {
	t.Helper()
	clk := epochs.Mock(start)
	cfg.Clock = clk
	if cfg.Policy == nil {
		cfg.Policy = policy.Consecutive(1)
	}
	b, err := breaker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b, clk
}

func rejection(t *testing.T, err error) *breaker.OpenError {
	t.Helper()
	var oe *breaker.OpenError
	if !errors.Is(err, breaker.ErrOpen) || !errors.As(err, &oe) {
		t.Fatalf("err = %v, want an *OpenError wrapping ErrOpen", err)
	}
	return oe
}

func fail(context.Context) (int, error)    { return 0, errDependency }
func succeed(context.Context) (int, error) { return 1, nil }

// TestOpenErrorSharedButReadOnly is the regression test for issue 15's
// first finding: every rejection of an open period is the same value, and
// what a caller reads from one cannot differ from what the next caller
// reads, since nothing of it can be written.
func TestOpenErrorSharedButReadOnly(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{Name: "db", OpenTimeout: 30 * time.Second})
		ctx := context.Background()
		b.Execute(ctx, fail)
		_, err1 := b.Execute(ctx, succeed)
		first := rejection(t, err1)
		until := clk.Now().Add(30 * time.Second)
		clk.Add(10 * time.Second)
		_, err2 := b.Execute(ctx, succeed)
		second := rejection(t, err2)
		if first != second {
			t.Fatal("two rejections of one open period are different values: the open path allocates")
		}
		if second.Name() != "db" || second.State() != breaker.Open || !second.Until().Equal(until) || second.Forced() {
			t.Fatalf("rejection says %q %v until %v forced %v; want db open until %v", second.Name(), second.State(), second.Until(), second.Forced(), until)
		}
		if got := second.RetryAfter(clk.Now()); got != 20*time.Second {
			t.Fatalf("RetryAfter = %v with 20s left", got)
		}
		if got := second.RetryAfter(until.Add(time.Second)); got != 0 {
			t.Fatalf("RetryAfter after the period = %v, want 0", got)
		}
		if want := `breaker: circuit "db" open until ` + until.Format(time.RFC3339Nano); second.Error() != want {
			t.Fatalf("Error() = %q, want %q", second.Error(), want)
		}
	})
}

// A half-open rejection hints at a short wait, not 0 (a retry loop that
// trusted 0 would spin until a probe finished).
func TestHalfOpenRejectionHint(t *testing.T) {
	tests := []struct {
		name         string
		openTimeout  time.Duration
		probeTimeout time.Duration
		want         time.Duration
	}{
		{"probe-timeout=off", time.Second, breaker.NoProbeTimeout, breaker.HalfOpenRetryAfter},
		{"probe-timeout=default/shorter", 300 * time.Millisecond, 0, 300 * time.Millisecond},
		{"probe-timeout=default/longer", time.Minute, 0, breaker.HalfOpenRetryAfter},
		{"probe-timeout=shorter", time.Second, 200 * time.Millisecond, 200 * time.Millisecond},
		{"probe-timeout=longer", time.Second, time.Minute, breaker.HalfOpenRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
				b, clk := newAt(t, start, breaker.Config[int]{OpenTimeout: tt.openTimeout, HalfOpenProbes: 1, ProbeTimeout: tt.probeTimeout})
				b.Execute(context.Background(), fail)
				clk.Add(tt.openTimeout)
				p, err := b.Allow()
				if err != nil {
					t.Fatal(err)
				}
				defer p.Release()
				_, err = b.Allow()
				oe := rejection(t, err)
				if oe.State() != breaker.HalfOpen || oe.Forced() {
					t.Fatalf("rejection says %v, forced %v", oe.State(), oe.Forced())
				}
				for _, now := range []time.Time{clk.Now(), clk.Now().Add(time.Hour)} {
					if got := oe.RetryAfter(now); got != tt.want {
						t.Fatalf("RetryAfter = %v, want %v", got, tt.want)
					}
				}
				if wait, ok := breaker.RetryAfter(err, clk.Now()); !ok || wait != tt.want {
					t.Fatalf("RetryAfter(err) = %v, %v; want %v, true", wait, ok, tt.want)
				}
			})
		})
	}
}

func TestRetryAfter(t *testing.T) {
	b, clk := newAt(t, epochs.Today, breaker.Config[int]{OpenTimeout: 5 * time.Second})
	ctx := context.Background()
	_, err := b.Execute(ctx, fail)
	if wait, ok := breaker.RetryAfter(err, clk.Now()); ok || wait != 0 {
		t.Fatalf("RetryAfter(a failure) = %v, %v; want 0, false: only rejections are the breaker's to judge", wait, ok)
	}
	if wait, ok := breaker.RetryAfter(nil, clk.Now()); ok || wait != 0 {
		t.Fatalf("RetryAfter(nil) = %v, %v", wait, ok)
	}
	_, err = b.Execute(ctx, succeed)
	wrapped := fmt.Errorf("loading user: %w", err)
	if wait, ok := breaker.RetryAfter(wrapped, clk.Now()); !ok || wait != 5*time.Second {
		t.Fatalf("RetryAfter(wrapped rejection) = %v, %v; want 5s, true", wait, ok)
	}
}

func TestClockIsTheConfiguredOne(t *testing.T) {
	clk := epochs.Mock(epochs.Y2038)
	b, err := breaker.New(breaker.Config[int]{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if b.Clock() != breaker.Clock(clk) {
		t.Fatalf("Clock() = %v, want the configured mock", b.Clock())
	}
	real, err := breaker.New(breaker.Config[int]{})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(real.Clock().Now()); d < -time.Second || d > time.Second {
		t.Fatalf("the default Clock is %v away from the real time", d)
	}
}

// A forced-open rejection says so and makes up no retry time; RetryAfter
// tells a retry loop to stop.
func TestForcedOpenRejection(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{Name: "db", OpenTimeout: time.Second})
		for _, before := range []string{"closed", "open"} {
			t.Run("from="+before, func(t *testing.T) {
				b.Reset()
				if before == "open" {
					b.Execute(context.Background(), fail) // an ordinary open period first
				}
				b.ForceOpen()
				clk.Add(time.Hour)
				_, err := b.Execute(context.Background(), succeed)
				oe := rejection(t, err)
				if !oe.Forced() || oe.State() != breaker.Open || !oe.Until().IsZero() || oe.RetryAfter(clk.Now()) != 0 {
					t.Fatalf("forced rejection: forced %v, %v, until %v, RetryAfter %v", oe.Forced(), oe.State(), oe.Until(), oe.RetryAfter(clk.Now()))
				}
				if oe.Error() != `breaker: circuit "db" forced open` {
					t.Fatalf("Error() = %q", oe.Error())
				}
				if wait, ok := breaker.RetryAfter(err, clk.Now()); ok || wait != 0 {
					t.Fatalf("RetryAfter(forced) = %v, %v; want 0, false", wait, ok)
				}
				// Trip ends the forced mode: an ordinary period again.
				b.Trip()
				_, err = b.Execute(context.Background(), succeed)
				if oe := rejection(t, err); oe.Forced() || oe.RetryAfter(clk.Now()) != time.Second {
					t.Fatalf("after Trip: forced %v, RetryAfter %v", oe.Forced(), oe.RetryAfter(clk.Now()))
				}
			})
		}
	})
}

// The ProbeTimeout hint is honest: a caller that waits it out is let
// through, even when the probe that held the slot never reports.
func TestHalfOpenHintLetsTheRetryThrough(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{OpenTimeout: time.Second, HalfOpenProbes: 1, ProbeTimeout: 200 * time.Millisecond})
		b.Execute(context.Background(), fail)
		clk.Add(time.Second)
		if _, err := b.Allow(); err != nil { // never reported
			t.Fatal(err)
		}
		clk.Add(50 * time.Millisecond)
		_, err := b.Allow()
		wait, ok := breaker.RetryAfter(err, clk.Now())
		if !ok || wait != 200*time.Millisecond {
			t.Fatalf("RetryAfter = %v, %v", wait, ok)
		}
		clk.Add(wait)
		p, err := b.Allow()
		if err != nil {
			t.Fatalf("rejected again after waiting the hint: %v", err)
		}
		p.Done(1, nil)
		if s := b.State(); s != breaker.Closed {
			t.Fatalf("after the retried probe: %v", s)
		}
	})
}
