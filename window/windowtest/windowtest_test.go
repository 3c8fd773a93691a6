package windowtest_test

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/window"
	"github.com/tripwire-go/tripwire/window/windowtest"
)

// The references are what the real windows are checked against, so their
// own behaviour is pinned here on cases small enough to count by hand.

func TestTimeForgetsWhatLeftTheWindow(t *testing.T) {
	epochs.Run(t, epochs.For(time.Second), func(t *testing.T, start time.Time) {
		// The start of the first bucket of 1s after start, keeping a
		// monotonic reading.
		r := start.Round(0).Sub(epochs.Unix0) % time.Second
		if r < 0 {
			r += time.Second
		}
		testTimeForgetsWhatLeftTheWindow(t, start.Add((time.Second-r)%time.Second))
	})
}

func testTimeForgetsWhatLeftTheWindow(t *testing.T, t0 time.Time) {
	m := windowtest.NewTime(16 * time.Second) // 16 buckets of 1s
	m.Record(t0, window.Failed)
	m.Record(t0.Add(500*time.Millisecond), window.Slow)
	m.Record(t0.Add(3*time.Second), window.Failed|window.Slow)
	if got, want := m.Sum(t0.Add(3*time.Second)), (window.Counts{Calls: 3, Failures: 2, Slow: 2}); got != want {
		t.Fatalf("Sum = %+v, want %+v", got, want)
	}
	// 16s after t0's bucket began, its two calls have left; the third stays.
	if got, want := m.Sum(t0.Add(16*time.Second)), (window.Counts{Calls: 1, Failures: 1, Slow: 1}); got != want {
		t.Fatalf("Sum = %+v, want %+v", got, want)
	}
	m.Reset()
	if got := m.Sum(t0.Add(3 * time.Second)); got != (window.Counts{}) {
		t.Fatalf("Sum after Reset = %+v", got)
	}
}

func TestLastKeepsTheLastN(t *testing.T) {
	m := windowtest.NewLast(3)
	for _, failed := range []bool{true, true, false, false} {
		m.Record(window.Mark(failed, false))
	}
	if got, want := m.Sum(), (window.Counts{Calls: 3, Failures: 1}); got != want {
		t.Fatalf("Sum = %+v, want %+v", got, want)
	}
	m.Reset()
	if got := m.Sum(); got != (window.Counts{}) {
		t.Fatalf("Sum after Reset = %+v", got)
	}
}
