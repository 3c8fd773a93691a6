package migrationtest

import (
	"errors"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// Claims every guide makes about what tripwire has that the peers lack or
// spell otherwise: the manual modes, CloseAfter, RetryAfter.

// CloseAfter apart from HalfOpenProbes: HalfOpenProbes 1 and CloseAfter 3
// run three probes one after the other, and the third success closes the
// circuit. HalfOpenProbes n and CloseAfter n is gobreaker's MaxRequests n
// and failsafe-go's WithSuccessThreshold(n).
func TestCloseAfterApartFromProbes(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{OpenTimeout: time.Second, HalfOpenProbes: 1, CloseAfter: 3})
		tripAndWait(t, b, clk, time.Second)
		for range 3 {
			wantState(t, b, breaker.HalfOpen)
			p := allow(t, b)
			rejection(t, b) // one at a time
			p.Done(1, nil)
		}
		wantState(t, b, breaker.Closed)
	})
}

// ForceOpen holds the circuit open whatever time passes, and its
// rejections say so; RetryAfter tells a retry loop to give up on it. Reset
// ends it.
func TestForceOpen(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{OpenTimeout: time.Second})
		b.ForceOpen()
		clk.Add(time.Hour)
		wantState(t, b, breaker.Open)
		_, err := b.Allow()
		if oe := rejection(t, b); !oe.Forced() {
			t.Fatal("rejection of a forced-open circuit does not say it is forced")
		}
		if _, ok := breaker.RetryAfter(err, clk.Now()); ok {
			t.Fatal("RetryAfter tells a retry loop to wait for a forced-open circuit")
		}
		b.Reset()
		wantState(t, b, breaker.Closed)
	})
}

// Disable runs every call and never trips, until Reset.
func TestDisable(t *testing.T) {
	b, err := breaker.New(breaker.Config[int]{Policy: policy.Consecutive(1)})
	if err != nil {
		t.Fatal(err)
	}
	b.Disable()
	for range 100 {
		if !run(b, fail) {
			t.Fatal("a disabled breaker rejected a call")
		}
	}
	wantState(t, b, breaker.Closed)
	b.Reset()
	run(b, fail)
	wantState(t, b, breaker.Open)
}

// TripFor opens the circuit for a given time, then it goes half-open as
// after any trip; a rejection's RetryAfter says how long is left. TripFor(0)
// makes the circuit half-open at once.
func TestTripFor(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{})
		b.TripFor(0) // failsafe-go's HalfOpen()
		wantState(t, b, breaker.HalfOpen)
		b.TripFor(10 * time.Minute)
		_, err := b.Allow()
		if wait, ok := breaker.RetryAfter(err, clk.Now()); !ok || wait != 10*time.Minute {
			t.Fatalf("RetryAfter = %v, %v; want 10m, true", wait, ok)
		}
		clk.Add(10 * time.Minute)
		wantState(t, b, breaker.HalfOpen)
	})
}

// A setting out of range is an error from New that names it, never a
// silent default (gobreaker replaces a Timeout of 0 or less with 60s;
// failsafe-go panics on a failure rate outside [0, 1]).
func TestBadSettingIsAnError(t *testing.T) {
	for field, cfg := range map[string]breaker.Config[int]{
		"OpenTimeout":    {OpenTimeout: -time.Second},
		"HalfOpenProbes": {HalfOpenProbes: -1},
		"Policy.ratio":   {Policy: policy.Rate(1.5, 10, time.Minute)},
	} {
		_, err := breaker.New(cfg)
		var ce *breaker.ConfigError
		if !errors.Is(err, breaker.ErrInvalidConfig) || !errors.As(err, &ce) || ce.Field != field {
			t.Fatalf("%s: New = %v, want a ConfigError naming it", field, err)
		}
	}
}
