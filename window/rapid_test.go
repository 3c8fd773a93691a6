package window_test

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/window"
	"github.com/tripwire-go/tripwire/window/windowtest"
)

// overs draws window lengths, from ones too short for all 16 buckets to ones
// that are no multiple of 16 nanoseconds.
func overs() *rapid.Generator[time.Duration] {
	return rapid.OneOf(
		rapid.SampledFrom([]time.Duration{1, 2, 3, 5, 16, 17, time.Second, time.Minute}),
		rapid.Custom(func(t *rapid.T) time.Duration {
			return time.Duration(rapid.Int64Range(1, int64(time.Hour)).Draw(t, "ns"))
		}),
	)
}

// Steps draws how far a clock moves between two calls: often not at all,
// often about a bucket or about the window's length (where the edge is),
// sometimes backwards, and now and then an idle jump long enough for the
// window to stop comparing lap tags.
func Steps(over, width time.Duration) *rapid.Generator[time.Duration] {
	near := func(d time.Duration) *rapid.Generator[time.Duration] {
		return rapid.Custom(func(t *rapid.T) time.Duration {
			return d + time.Duration(rapid.Int64Range(-2, 2).Draw(t, "off"))
		})
	}
	gens := []*rapid.Generator[time.Duration]{
		rapid.Just(time.Duration(0)),
		near(width), near(over - width), near(over), near(-width), near(-over),
		rapid.Custom(func(t *rapid.T) time.Duration {
			return time.Duration(rapid.Int64Range(-2*int64(over), 3*int64(over)).Draw(t, "any"))
		}),
	}
	if over <= 1<<20 { // a few hundred such steps stay within what UnixNano represents
		gens = append(gens, rapid.Custom(func(t *rapid.T) time.Duration {
			return time.Duration(rapid.Int64Range(int64(over)<<29, int64(over)<<31).Draw(t, "idle"))
		}))
	}
	return rapid.OneOf(gens...)
}

// starts draws the first time of a run: an epoch of internal/epochs for
// the window's bucket width (today, past 2038, the ends of int64
// nanoseconds, just before each power of two of the bucket index, with and
// without a monotonic reading), a little before or after it, or any time
// either side of 1970, so that bucket indexes are negative too.
func starts(width time.Duration) *rapid.Generator[time.Time] {
	return rapid.OneOf(
		rapid.Custom(func(t *rapid.T) time.Time {
			e := epochs.Gen(epochs.For(width)).Draw(t, "epoch")
			return e.At.Add(time.Duration(rapid.Int64Range(-2*int64(width), 2*int64(width)).Draw(t, "off")))
		}),
		rapid.Custom(func(t *rapid.T) time.Time {
			return time.Unix(0, rapid.Int64Range(-1e15, 1e15).Draw(t, "start"))
		}),
	)
}

// wallSteps steps the wall clock of now, if it has a monotonic reading,
// and leaves it be otherwise: a window must not see the step.
func wallStep(t *rapid.T, now time.Time) time.Time {
	if !epochs.HasMono(now) {
		return now
	}
	d := rapid.SampledFrom([]time.Duration{-time.Hour, -time.Second, time.Second, time.Hour}).Draw(t, "wallStep")
	if s := now.Add(d); !epochs.HasMono(s) {
		return now // past what a monotonic reading can go with
	}
	return epochs.StepWall(now, d)
}

// TestTimeMatchesModel compares a Time window with the brute-force model,
// sum for sum, over random streams of calls, clock steps and resets. The
// model sums every call on every Sum, so this is also the check that the
// window's cached sums of its older buckets agree with a full evaluation:
// runs of calls within one bucket are judged from the cache.
func TestTimeMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		over := overs().Draw(t, "over")
		w, m := window.NewTime(over), windowtest.NewTime(over)
		if w.Width() != m.Width() {
			t.Fatalf("Width = %v, model says %v", w.Width(), m.Width())
		}
		steps := Steps(over, m.Width())
		now := starts(m.Width()).Draw(t, "now")
		t.Repeat(map[string]func(*rapid.T){
			"record": func(t *rapid.T) {
				now = now.Add(steps.Draw(t, "step"))
				failed, slow := rapid.Bool().Draw(t, "failed"), rapid.Bool().Draw(t, "slow")
				w.Record(now, window.Mark(failed, slow))
				m.Record(now, window.Mark(failed, slow))
			},
			// Calls counted into each stripe, as goroutines on
			// different cores count them: the sums are the same.
			"recordOn": func(t *rapid.T) {
				now = now.Add(steps.Draw(t, "step"))
				failed, slow := rapid.Bool().Draw(t, "failed"), rapid.Bool().Draw(t, "slow")
				w.RecordOn(rapid.IntRange(0, w.Stripes()-1).Draw(t, "stripe"), now, window.Mark(failed, slow))
				m.Record(now, window.Mark(failed, slow))
			},
			// RecordBounds from a stripe: failures and slow calls
			// as the model counts them, calls at most the model's
			// and at least what that stripe and the older buckets
			// hold; for a failed or slow call, all of it exact.
			"recordBounds": func(t *rapid.T) {
				now = now.Add(steps.Draw(t, "step"))
				failed, slow := rapid.Bool().Draw(t, "failed"), rapid.Bool().Draw(t, "slow")
				stripe := rapid.IntRange(0, w.Stripes()-1).Draw(t, "stripe")
				m.Record(now, window.Mark(failed, slow))
				got, want := w.RecordBoundsOn(stripe, now, window.Mark(failed, slow)), m.Sum(now)
				if got.Failures != want.Failures || got.Slow != want.Slow || got.Calls > want.Calls || got.Calls < 1 {
					t.Fatalf("RecordBounds(%v) = %+v, model says %+v", now, got, want)
				}
				if (w.Stripes() == 1 || failed || slow) && got != want {
					t.Fatalf("RecordBounds(%v, failed %v, slow %v) with %d stripes = %+v, model says %+v", now, failed, slow, w.Stripes(), got, want)
				}
			},
			// RecordSum is Record then Sum, in runs so that most
			// of a run's sums come from the cache.
			"recordSum": func(t *rapid.T) {
				now = now.Add(steps.Draw(t, "step"))
				failed, slow := rapid.Bool().Draw(t, "failed"), rapid.Bool().Draw(t, "slow")
				for range rapid.IntRange(1, 5).Draw(t, "times") {
					m.Record(now, window.Mark(failed, slow))
					if got, want := w.RecordSum(now, window.Mark(failed, slow)), m.Sum(now); got != want {
						t.Fatalf("RecordSum(%v) = %+v, model says %+v", now, got, want)
					}
				}
			},
			"wait":     func(t *rapid.T) { now = now.Add(steps.Draw(t, "step")) },
			"wallStep": func(t *rapid.T) { now = wallStep(t, now) },
			"reset": func(t *rapid.T) {
				w.Reset()
				m.Reset()
			},
			"": func(t *rapid.T) {
				if got, want := w.Sum(now), m.Sum(now); got != want {
					t.Fatalf("Sum(%v) = %+v, model says %+v", now, got, want)
				}
			},
		})
	})
}

// TestTimeEdgeIsPreciseToABucket checks the documented precision against
// the times themselves, not against buckets: with a clock that only moves
// forward, a call is always counted while younger than span - width and
// never once it is span old, and the span is over less what the rounding
// to whole buckets lost.
func TestTimeEdgeIsPreciseToABucket(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		over := overs().Draw(t, "over")
		w := window.NewTime(over)
		width, span := w.Width(), w.Span()
		if span > over || span <= over-time.Duration(window.Buckets) {
			t.Fatalf("Span = %v for over = %v", span, over)
		}
		steps := rapid.Custom(func(t *rapid.T) time.Duration {
			return max(Steps(over, width).Draw(t, "step"), 0)
		})
		now := starts(width).Draw(t, "now")
		var at []time.Time
		t.Repeat(map[string]func(*rapid.T){
			"record": func(t *rapid.T) {
				now = now.Add(steps.Draw(t, "step"))
				w.Record(now, 0)
				at = append(at, now)
			},
			"wait": func(t *rapid.T) { now = now.Add(steps.Draw(t, "step")) },
			"": func(t *rapid.T) {
				var young, recent int64 // younger than span - width; younger than span
				for _, a := range at {
					age := clamp(now).Sub(clamp(a))
					young += b2i(age < span-width)
					recent += b2i(age < span)
				}
				if got := w.Sum(now).Calls; got < young || got > recent {
					t.Fatalf("Sum(%v).Calls = %d, want between %d and %d", now, got, young, recent)
				}
			},
		})
	})
}

// clamp is where the window places t: within the int64 nanoseconds since
// 1970 (see window.Time), the first of them taken as the second, where the
// window keeps its marker of an empty head.
func clamp(t time.Time) time.Time {
	if low := time.Unix(0, math.MinInt64+1); t.Before(low) {
		return low
	}
	if high := time.Unix(0, math.MaxInt64); t.After(high) {
		return high
	}
	return t
}

// TestLastMatchesModel compares a Last window with the brute-force model.
func TestLastMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.OneOf(rapid.IntRange(-1, 3), rapid.IntRange(60, 70), rapid.IntRange(1, 300)).Draw(t, "n")
		w, m := window.NewLast(n), windowtest.NewLast(n)
		if w.Len() != max(n, 1) {
			t.Fatalf("Len = %d for n = %d", w.Len(), n)
		}
		t.Repeat(map[string]func(*rapid.T){
			"record": func(t *rapid.T) {
				// Runs of one outcome, so that the ring fills and laps.
				failed, slow := rapid.Bool().Draw(t, "failed"), rapid.Bool().Draw(t, "slow")
				for range rapid.IntRange(1, 2*max(n, 1)).Draw(t, "times") {
					w.Record(window.Mark(failed, slow))
					m.Record(window.Mark(failed, slow))
				}
			},
			// RecordSum, in runs: a run of plain successes over a
			// full ring of them writes nothing, and the calls after
			// it must count as if it had.
			"recordSum": func(t *rapid.T) {
				failed, slow := rapid.Bool().Draw(t, "failed"), rapid.Bool().Draw(t, "slow")
				for range rapid.IntRange(1, 2*max(n, 1)).Draw(t, "times") {
					m.Record(window.Mark(failed, slow))
					if got, want := w.RecordSum(window.Mark(failed, slow)), m.Sum(); got != want {
						t.Fatalf("RecordSum = %+v, model says %+v", got, want)
					}
				}
			},
			"reset": func(t *rapid.T) {
				w.Reset()
				m.Reset()
			},
			"": func(t *rapid.T) {
				if got, want := w.Sum(), m.Sum(); got != want {
					t.Fatalf("Sum = %+v, model says %+v", got, want)
				}
			},
		})
	})
}
