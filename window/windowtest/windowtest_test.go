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

// TestTimeAnchorsAtTheFirstSum pins where the model anchors times with a
// monotonic reading: at the first such time any method is given, a Sum of
// an empty window included, as the window does. A model that anchored only
// at its first Record placed every call of a run that began with a Sum, and
// then stepped the wall clock, by the step: a different bucket phase from
// the window's, so the two disagreed about which calls had left.
func TestTimeAnchorsAtTheFirstSum(t *testing.T) {
	ran := 0
	for _, e := range epochs.All() {
		if !epochs.HasMono(e.At) {
			continue // a plain time is placed by its wall time: no anchor
		}
		ran++
		t.Run(e.Name, func(t *testing.T) {
			// t0 starts a bucket of 1s and keeps the monotonic reading.
			r := e.At.Round(0).Sub(epochs.Unix0) % time.Second
			if r < 0 {
				r += time.Second
			}
			t0 := e.At.Add((time.Second - r) % time.Second)
			m, w := windowtest.NewTime(16*time.Second), window.NewTime(16*time.Second)
			testTimeAnchorsAtTheFirstSum(t, "model", t0, m.Record, m.Sum)
			testTimeAnchorsAtTheFirstSum(t, "window", t0, w.Record, w.Sum)
		})
	}
	if ran == 0 {
		t.Fatal("no epoch with a monotonic reading")
	}
}

func testTimeAnchorsAtTheFirstSum(t *testing.T, name string, t0 time.Time,
	record func(time.Time, window.Marks), sum func(time.Time) window.Counts) {
	if got := sum(t0); got != (window.Counts{}) { // anchors at t0
		t.Fatalf("%s: Sum of an empty window = %+v", name, got)
	}
	// The wall clock steps 500ms forward; 600ms later by the monotonic
	// reading, the call lies in t0's bucket, 600ms after the anchor. Anchored
	// at the call instead, it would lie at t0+1.1s, in the next bucket.
	s := epochs.StepWall(t0, 500*time.Millisecond)
	record(s.Add(600*time.Millisecond), window.Failed)
	if got, want := sum(s.Add(15*time.Second)), (window.Counts{Calls: 1, Failures: 1}); got != want {
		t.Fatalf("%s: Sum 15s after t0 = %+v, want %+v", name, got, want)
	}
	// 16s after t0 by the monotonic reading, t0's bucket has left.
	if got := sum(s.Add(16 * time.Second)); got != (window.Counts{}) {
		t.Fatalf("%s: Sum 16s after t0 = %+v, want none", name, got)
	}
}
