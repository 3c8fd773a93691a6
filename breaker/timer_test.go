package breaker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/internal/epochs"
)

// newTimerBreaker builds a breaker that behaves as with the real clock (an
// open period ends when its timer fires, not when a call reads the clock)
// but tells the time from a mock, so the test can say when time passes and,
// separately, when the timer fires.
func newTimerBreaker(t *testing.T, clk *clock.Mock, timeout time.Duration) *Breaker[int] {
	t.Helper()
	s, err := Config[int]{OpenTimeout: timeout, HalfOpenProbes: 1, Clock: clk}.validate()
	if err != nil {
		t.Fatal(err)
	}
	s.exactClock = false
	b := &Breaker[int]{core: new(core)}
	b.core.init(&s)
	return b
}

func TestOpenPeriodEndsWhenTimerFires(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		clk := epochs.Mock(start)
		// An hour: the real timer armed here never fires during the test; the
		// test fires it by hand.
		b := newTimerBreaker(t, clk, time.Hour)
		b.Trip()
		if b.timer == nil {
			t.Fatal("no timer armed for the open period")
		}
		ok := func(context.Context) (int, error) { return 1, nil }
		clk.Add(time.Hour)

		// The timeout has passed, but a rejected call reads no clock: until
		// the timer fires it is still rejected.
		if _, err := b.Execute(context.Background(), ok); !errors.Is(err, ErrOpen) {
			t.Fatalf("before the timer fired: err = %v, want a rejection", err)
		}
		b.m.MarkDue(b.load()) // what the timer does
		if _, err := b.Execute(context.Background(), ok); err != nil {
			t.Fatalf("after the timer fired: err = %v, want the probe to run", err)
		}
		if got := b.State(); got != Closed {
			t.Fatalf("State() = %v after the probe succeeded", got)
		}
	})
}

func TestTimerFiringEarlyKeepsCircuitOpen(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		clk := epochs.Mock(start)
		b := newTimerBreaker(t, clk, time.Hour)
		b.Trip()
		b.m.MarkDue(b.load())
		// The flag only makes callers read the clock; the clock decides.
		if _, err := b.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, ErrOpen) {
			t.Fatalf("err = %v, want a rejection: the open period has not ended", err)
		}
	})
}

func TestStateReadsClockWithoutTimer(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		clk := epochs.Mock(start)
		b := newTimerBreaker(t, clk, time.Hour)
		b.Trip()
		clk.Add(time.Hour)
		if got := b.State(); got != HalfOpen {
			t.Fatalf("State() = %v: it must report half-open once the timeout passed, timer or not", got)
		}
	})
}

func TestTimerFromEarlierPeriodIsHarmless(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		clk := epochs.Mock(start)
		b := newTimerBreaker(t, clk, time.Hour)
		b.Trip()
		stale := b.load()
		b.Reset()
		b.Trip()
		b.m.MarkDue(stale) // the first period's timer, firing late
		if b.load().Due() {
			t.Fatal("a timer of an earlier open period flagged the current one")
		}
	})
}

func TestRealClockFollowsTimeNow(t *testing.T) {
	c := newRealClock()
	for range 1000 {
		before := time.Now()
		got := c.Now()
		after := time.Now()
		// Monotonic order: what the breaker compares.
		if got.Before(before) || got.After(after) {
			t.Fatalf("realClock.Now() = %v, outside [%v, %v]", got, before, after)
		}
		// Wall time: what the breaker reports. Within a millisecond.
		if w := got.Round(0); w.Before(before.Round(0).Add(-time.Millisecond)) || w.After(after.Round(0).Add(time.Millisecond)) {
			t.Fatalf("wall time %v strays from [%v, %v]", w, before.Round(0), after.Round(0))
		}
	}
	// A base older than rebaseEvery is replaced.
	old := time.Now().Add(-2 * rebaseEvery)
	c.base.Store(&old)
	c.Now()
	if base := c.base.Load(); time.Since(*base) >= rebaseEvery {
		t.Fatal("base not retaken after rebaseEvery")
	}
}
