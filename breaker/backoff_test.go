package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// openPeriod trips r's breaker from whatever state, and returns how long it
// stays open, as the rejection says.
func openPeriod(t *testing.T, r *rig) time.Duration {
	t.Helper()
	var oe *breaker.OpenError
	if !errors.As(r.exec(nil), &oe) {
		t.Fatal("circuit not open")
	}
	return oe.Until().Sub(r.clk.Now())
}

func TestBackoff(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newRig(t, cs, breaker.Config[int]{
			Policy:         policy.Consecutive(1),
			OpenTimeout:    time.Second,
			HalfOpenProbes: 1,
			Backoff:        &breaker.Backoff{Max: 5 * time.Second},
		})
		var got []time.Duration
		r.exec(errDependency)
		for range 5 {
			d := openPeriod(t, r)
			got = append(got, d)
			r.clk.Add(d)
			r.exec(errDependency) // the probe fails: open again, longer
		}
		if fmt.Sprint(got) != "[1s 2s 4s 5s 5s]" {
			t.Fatalf("open periods %v, want doubling from 1s capped at 5s", got)
		}
		// A probe that succeeds closes the circuit and starts the count over.
		r.clk.Add(openPeriod(t, r))
		r.exec(nil)
		r.wantState(breaker.Closed)
		r.exec(errDependency)
		if d := openPeriod(t, r); d != time.Second {
			t.Fatalf("after closing, open period %v, want the base 1s again", d)
		}
		// So does Reset.
		r.b.Reset()
		r.b.Trip()
		if d := openPeriod(t, r); d != time.Second {
			t.Fatalf("after Reset, open period %v, want 1s", d)
		}
	})
}

func TestBackoffJitter(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		draws := []float64{0.5, 0, 0.999, 7 /* broken source: ignored */, 0}
		r := newRig(t, cs, breaker.Config[int]{
			Policy:         policy.Consecutive(1),
			OpenTimeout:    8 * time.Second,
			HalfOpenProbes: 1,
			Backoff: &breaker.Backoff{
				Factor: 1,
				Max:    8 * time.Second,
				Jitter: 0.5,
				Rand:   func() float64 { u := draws[0]; draws = draws[1:]; return u },
			},
		})
		r.exec(errDependency)
		var got []string
		for range 4 {
			d := openPeriod(t, r)
			got = append(got, d.Round(time.Millisecond).String())
			r.clk.Add(d)
			r.exec(errDependency)
		}
		if strings.Join(got, " ") != "6s 8s 4.004s 8s" {
			t.Fatalf("jittered periods %v", got)
		}
	})
}

// TestBackoffZeroMaxIsTenTimesOpenTimeout: &Backoff{} used to be refused
// for want of a Max; its zero Max now means DefaultBackoffMaxFactor times
// OpenTimeout, saturating rather than wrapping for huge timeouts.
func TestBackoffZeroMaxIsTenTimesOpenTimeout(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newRig(t, cs, breaker.Config[int]{
			Policy:         policy.Consecutive(1),
			OpenTimeout:    time.Second,
			HalfOpenProbes: 1,
			Backoff:        &breaker.Backoff{},
		})
		var got []time.Duration
		r.exec(errDependency)
		for range 6 {
			d := openPeriod(t, r)
			got = append(got, d)
			r.clk.Add(d)
			r.exec(errDependency)
		}
		if fmt.Sprint(got) != "[1s 2s 4s 8s 10s 10s]" {
			t.Fatalf("open periods %v, want doubling from 1s capped at 10s", got)
		}
	})
	if _, err := breaker.New(breaker.Config[int]{OpenTimeout: math.MaxInt64 / 2, Backoff: &breaker.Backoff{}}); err != nil {
		t.Fatalf("a huge OpenTimeout with the default Max: %v", err)
	}
}

func TestBackoffInvalid(t *testing.T) {
	tests := []struct {
		bo    breaker.Backoff
		names string
	}{
		{breaker.Backoff{Max: time.Second, Factor: 0.5}, "Backoff.Factor"},
		{breaker.Backoff{Max: time.Minute, Factor: -1}, "Backoff.Factor"},
		{breaker.Backoff{Max: 59 * time.Second}, "Backoff.Max"},
		{breaker.Backoff{Max: time.Hour, Jitter: 1}, "Backoff.Jitter"},
		{breaker.Backoff{Max: time.Hour, Jitter: -0.1}, "Backoff.Jitter"},
	}
	for _, tt := range tests {
		bo := tt.bo
		_, err := breaker.New(breaker.Config[int]{Backoff: &bo})
		if !errors.Is(err, breaker.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.names) {
			t.Errorf("Backoff %+v: err = %v, want one naming %s", tt.bo, err, tt.names)
		}
	}
}

func TestProbeTimeout(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newRig(t, cs, breaker.Config[int]{
			OpenTimeout:    time.Second,
			HalfOpenProbes: 2,
			ProbeTimeout:   10 * time.Second,
		})
		r.b.Trip()
		r.clk.Add(time.Second)
		hung1, _ := r.b.Allow()
		r.clk.Add(5 * time.Second)
		hung2, _ := r.b.Allow()

		r.clk.Add(10*time.Second - time.Nanosecond)
		wantRejected(t, r.exec(nil)) // not yet: the last admission was under 10s ago
		r.clk.Add(time.Nanosecond)
		if err := r.exec(nil); err != nil {
			t.Fatalf("slots not reclaimed after ProbeTimeout: %v", err)
		}
		hung1.Done(0, errDependency) // forgotten: must not reopen the circuit
		r.wantState(breaker.HalfOpen)
		r.exec(nil)
		r.wantState(breaker.Closed)
		hung2.Done(0, errDependency)
		r.wantState(breaker.Closed)
		r.wantLog("closed>open", "open>half-open", "half-open>closed")

	})
}

// Backoff gives a dependency that keeps failing its probes more time at
// each trip. A fixed Rand makes the jitter deterministic here.
func ExampleBackoff() {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, time.December, 1, 9, 0, 0, 0, time.UTC)) // start at a real date: a mock starts in 1970
	b, err := breaker.New(breaker.Config[int]{
		Policy:         policy.Consecutive(1),
		OpenTimeout:    10 * time.Second,
		HalfOpenProbes: 1,
		Backoff: &breaker.Backoff{
			Max:    time.Minute,
			Jitter: 0.1,
			Rand:   func() float64 { return 0.5 }, // shorten each period by 5%
		},
		Clock: clk,
	})
	if err != nil {
		panic(err)
	}
	down := func(context.Context) (int, error) { return 0, errors.New("down") }
	b.Execute(context.Background(), down)
	for range 4 {
		_, err := b.Execute(context.Background(), down)
		var open *breaker.OpenError
		errors.As(err, &open)
		wait := open.RetryAfter(clk.Now())
		fmt.Println("open for", wait)
		clk.Add(wait)
		b.Execute(context.Background(), down) // the probe fails
	}
	// Output:
	// open for 9.5s
	// open for 19s
	// open for 38s
	// open for 57s
}

// TestBackoffFirstPeriodExactNearMaxInt64: the first open period is
// OpenTimeout to the nanosecond, even where float64 cannot hold it (it
// used to round up to 2^63 and come out as Max, 38 ns too long).
func TestBackoffFirstPeriodExactNearMaxInt64(t *testing.T) {
	const open = time.Duration(math.MaxInt64 - 38)
	for _, jitter := range []float64{0, 0.5} {
		clk := epochs.Mock(epochs.Today)
		b, err := breaker.New(breaker.Config[int]{
			Policy:      policy.Consecutive(1),
			OpenTimeout: open,
			Clock:       clk,
			Backoff:     &breaker.Backoff{Max: math.MaxInt64, Jitter: jitter, Rand: func() float64 { return 0 }},
		})
		if err != nil {
			t.Fatal(err)
		}
		b.Trip()
		_, err = b.Allow()
		var oe *breaker.OpenError
		if !errors.As(err, &oe) {
			t.Fatalf("jitter %v: not open: %v", jitter, err)
		}
		if got := oe.RetryAfter(clk.Now()); got != open {
			t.Errorf("jitter %v: first open period %d, want OpenTimeout %d", jitter, got, open)
		}
	}
}
