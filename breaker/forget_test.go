package breaker_test

import (
	"context"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
)

// openPeriods drives a breaker whose Backoff remembers through trips,
// closes and healthy time, reading each open period from its transitions.
func TestBackoffForgetRemembersAcrossCloses(t *testing.T) {
	epochs.Run(t, monoEpochs(), func(t *testing.T, start time.Time) {
		clk := epochs.NewClock(start)
		var last breaker.Transition
		b, err := breaker.New(breaker.Config[int]{Clock: clk, OpenTimeout: 10 * time.Second, HalfOpenProbes: 1,
			Backoff:      &breaker.Backoff{Factor: 2, Max: 10 * time.Minute, Forget: time.Minute},
			OnTransition: func(tr breaker.Transition) { last = tr }})
		if err != nil {
			t.Fatal(err)
		}
		period := func() time.Duration {
			t.Helper()
			if last.To != breaker.Open {
				t.Fatalf("last transition %+v, want an open", last)
			}
			return last.Until.Sub(last.At)
		}
		probe := func(fn func(context.Context) (int, error)) {
			t.Helper()
			clk.Add(period())
			b.Execute(context.Background(), fn)
		}
		b.Trip()
		if p := period(); p != 10*time.Second {
			t.Fatalf("first period %v", p)
		}
		probe(failCall)
		if p := period(); p != 20*time.Second {
			t.Fatalf("second period %v", p)
		}
		probe(okCall) // closed, two trips remembered
		if b.State() != breaker.Closed {
			t.Fatal("not closed")
		}
		// Flapping: it fails again at once, and rests longer than before.
		b.Trip()
		if p := period(); p != 40*time.Second {
			t.Fatalf("a trip right after the close: %v, want 40s (remembered)", p)
		}
		probe(okCall) // closed with three trips
		// The wall clock jumps a day ahead: no healthy time for that.
		clk.StepWall(24 * time.Hour)
		clk.Add(2*time.Minute + 30*time.Second) // two Forgets: three trips become one
		b.Trip()
		if p := period(); p != 20*time.Second {
			t.Fatalf("after 2m30s healthy: %v, want 20s (two of three trips forgiven)", p)
		}
		probe(okCall)
		clk.StepWall(-48 * time.Hour) // and back: nothing revived
		clk.Add(time.Hour)
		b.Trip()
		if p := period(); p != 10*time.Second {
			t.Fatalf("after an hour healthy: %v, want 10s (all forgiven)", p)
		}
	})
}

func TestBackoffForgetResetStartsOver(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	var last breaker.Transition
	b, _ := breaker.New(breaker.Config[int]{Clock: clk, OpenTimeout: 10 * time.Second, HalfOpenProbes: 1,
		Backoff:      &breaker.Backoff{Forget: time.Hour},
		OnTransition: func(tr breaker.Transition) { last = tr }})
	b.Trip()
	clk.Add(10 * time.Second)
	b.Execute(context.Background(), failCall) // 20s
	b.Reset()
	b.Trip()
	if p := last.Until.Sub(last.At); p != 10*time.Second {
		t.Fatalf("after Reset: %v, want 10s: an operator's close starts over", p)
	}
}

func TestBackoffForgetConfig(t *testing.T) {
	if _, err := breaker.New(breaker.Config[int]{Backoff: &breaker.Backoff{Forget: -1}}); err == nil {
		t.Fatal("a negative Backoff.Forget was accepted")
	}
}
