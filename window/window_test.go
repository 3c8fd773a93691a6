package window_test

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/window"
)

// counter is what every window offers; [window.Last] ignores the times.
type counter interface {
	Record(now time.Time, m window.Marks)
	Sum(now time.Time) window.Counts
	Reset()
}

type lastAt struct{ *window.Last }

func (w lastAt) Record(_ time.Time, m window.Marks) { w.Last.Record(m) }
func (w lastAt) Sum(time.Time) window.Counts        { return w.Last.Sum() }

// impl is one window under test. holds says whether it keeps every call
// recorded within span of the first one, so that a test can demand exact
// totals. width is its bucket width, 0 for a window without buckets.
type impl struct {
	name  string
	make  func() counter
	holds func(calls int, span time.Duration) bool
	width time.Duration
}

func timeImpl(over time.Duration) impl {
	width := window.NewTime(over).Width()
	return impl{
		name: "time=" + over.String(),
		make: func() counter { return window.NewTime(over) },
		holds: func(_ int, span time.Duration) bool {
			return span == 0 || span < over-width
		},
		width: width,
	}
}

func lastImpl(n int) impl {
	return impl{
		name:  "last=" + strconv.Itoa(n),
		make:  func() counter { return lastAt{window.NewLast(n)} },
		holds: func(calls int, _ time.Duration) bool { return calls <= n },
	}
}

// impls is every window, in shapes that reach the edge cases: windows so
// short they have fewer buckets, and rings that end inside a word.
var impls = []impl{
	timeImpl(time.Minute),
	timeImpl(time.Second + 7),
	timeImpl(5), // 4 buckets of 1ns
	timeImpl(1), // 1 bucket of 1ns
	lastImpl(1),
	lastImpl(100),
	lastImpl(128),
	lastImpl(1000),
}

// forEach runs test for every window, from every epoch of its bucket
// width (epochs.For): today, past 2038, the ends of int64 nanoseconds, and
// just before each power of two of the bucket index, where lap tags wrap.
func forEach(t *testing.T, test func(t *testing.T, im impl, t0 time.Time)) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			epochs.Run(t, epochs.For(im.width), func(t *testing.T, t0 time.Time) { test(t, im, t0) })
		})
	}
}

// forEachFew is forEach from the dates of epochs.All only, for the tests
// that run thousands of calls on many goroutines.
func forEachFew(t *testing.T, test func(t *testing.T, im impl, t0 time.Time)) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			epochs.Run(t, epochs.All(), func(t *testing.T, t0 time.Time) { test(t, im, t0) })
		})
	}
}

func TestWindowsStartEmpty(t *testing.T) {
	forEach(t, func(t *testing.T, im impl, t0 time.Time) {
		if got := im.make().Sum(t0); got != (window.Counts{}) {
			t.Fatalf("new window sums to %+v", got)
		}
	})
}

func TestWindowsCountWhatTheyHold(t *testing.T) {
	forEach(t, func(t *testing.T, im impl, t0 time.Time) {
		w := im.make()
		w.Record(t0, 0)
		w.Record(t0, window.Failed)
		w.Record(t0, window.Slow)
		w.Record(t0, window.Failed|window.Slow)
		want := window.Counts{Calls: 4, Failures: 2, Slow: 2}
		if !im.holds(4, 0) {
			want = window.Counts{Calls: 1, Failures: 1, Slow: 1}
		}
		if got := w.Sum(t0); got != want {
			t.Fatalf("Sum = %+v, want %+v", got, want)
		}
	})
}

func TestWindowsResetForgetsEverything(t *testing.T) {
	forEach(t, func(t *testing.T, im impl, t0 time.Time) {
		w := im.make()
		for i := range 300 {
			w.Record(t0.Add(time.Duration(i)*time.Millisecond), window.Mark(i%2 == 0, i%3 == 0))
		}
		checkReset(t, w, t0.Add(300*time.Millisecond))
	})
}

// TestWindowsConcurrentResets records, sums and resets from 8 goroutines
// at once: a Reset racing Records may keep or forget them, but must not
// leave anything behind that a later Reset does not clear.
func TestWindowsConcurrentResets(t *testing.T) {
	forEachFew(t, func(t *testing.T, im impl, t0 time.Time) {
		w := im.make()
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 2000 {
					at := t0.Add(time.Duration(i) * time.Millisecond)
					switch (i + g) % 50 {
					case 0:
						w.Reset()
					case 1:
						checkConsistent(t, w.Sum(at))
					default:
						w.Record(at, window.Mark(i%2 == 0, i%3 == 0))
					}
				}
			}()
		}
		wg.Wait()
		checkReset(t, w, t0.Add(2*time.Second))
	})
}

// checkReset resets w and checks that it then holds nothing, and exactly
// the one failure recorded next.
func checkReset(t *testing.T, w counter, now time.Time) {
	t.Helper()
	w.Reset()
	if got := w.Sum(now); got != (window.Counts{}) {
		t.Fatalf("after Reset Sum = %+v", got)
	}
	w.Record(now, window.Failed)
	if got, want := w.Sum(now), (window.Counts{Calls: 1, Failures: 1}); got != want {
		t.Fatalf("after Reset and one failure Sum = %+v, want %+v", got, want)
	}
}

// TestWindowsConcurrent records from 8 goroutines, each with its own
// clock, while 2 more read: run it with -race. Each writer's clock crosses
// bucket boundaries on its own, so rolls happen under concurrent increments.
func TestWindowsConcurrent(t *testing.T) {
	const writers, each = 8, 2000
	const span = 40 * time.Second
	forEachFew(t, func(t *testing.T, im impl, t0 time.Time) {
		w := im.make()
		var wg, readers sync.WaitGroup
		done := make(chan struct{})
		for range 2 {
			readers.Add(1)
			go func() {
				defer readers.Done()
				for {
					select {
					case <-done:
						return
					default:
					}
					checkConsistent(t, w.Sum(t0.Add(span)))
				}
			}()
		}
		for g := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					at := t0.Add(span * time.Duration(i) / each)
					w.Record(at, window.Mark((i+g)%3 == 0, i%5 == 0))
				}
			}()
		}
		wg.Wait()
		close(done)
		readers.Wait()
		got := w.Sum(t0.Add(span))
		checkConsistent(t, got)
		if im.holds(writers*each, span) {
			want := window.Counts{Calls: writers * each}
			for g := range writers {
				for i := range each {
					want.Failures += b2i((i+g)%3 == 0)
					want.Slow += b2i(i%5 == 0)
				}
			}
			if got != want {
				t.Fatalf("Sum = %+v, want %+v", got, want)
			}
		}
	})
}

// TestWindowsTakeAnyTime feeds times at and past the ends of what UnixNano
// can represent, times with and without monotonic readings, and clocks
// that jump both ways: no panic, sane sums. The one time a Time window
// refuses, the zero time, has a test of its own.
func TestWindowsTakeAnyTime(t *testing.T) {
	mono, _ := epochs.Mono(epochs.Today)
	odd := []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), // a nanosecond after the zero time
		mono,
		mono.Add(-time.Hour),
		epochs.StepWall(mono, -time.Hour),
		time.Unix(0, 0),
		time.Unix(0, -1),
		time.Unix(0, math.MinInt64),
		time.Unix(0, math.MaxInt64),
		time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
	}
	forEach(t, func(t *testing.T, im impl, t0 time.Time) {
		w := im.make()
		odd := append(odd, t0, t0.Add(-time.Hour))
		for _, a := range odd {
			for _, b := range odd {
				w.Record(a, window.Failed)
				checkConsistent(t, w.Sum(b))
			}
		}
	})
}

func checkConsistent(t *testing.T, c window.Counts) {
	t.Helper()
	if c.Calls < 0 || c.Failures < 0 || c.Slow < 0 || c.Failures > c.Calls || c.Slow > c.Calls {
		t.Errorf("inconsistent sum %+v", c)
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// TestTimeLapTagsDoNotAlias steps a two-bucket window (laps of 2ns) through
// 2^31 laps, so that the lap tags (31 bits) wrap and a bucket left over from
// the first lap carries the same tag as one of the last. Counting it would
// bring a call back from 4.3 seconds (2^31 window lengths) ago. Two ways
// lead there: steps small enough that the tags are still compared (the
// head re-tags every slot it passes), and one idle jump (the window clears).
func TestTimeLapTagsDoNotAlias(t *testing.T) {
	// From 1970 and from today (a whole second, so bucket 0 of the test
	// is at an even nanosecond), with and without a monotonic reading.
	mono, _ := epochs.Mono(epochs.Today)
	for name, start := range map[string]time.Time{"unix0": epochs.Unix0, "today": epochs.Today, "today+mono": mono} {
		t.Run(name, func(t *testing.T) { testTimeLapTagsDoNotAlias(t, start) })
	}
}

func testTimeLapTagsDoNotAlias(t *testing.T, start time.Time) {
	at := func(ns int64) time.Time { return start.Add(time.Duration(ns)) }
	const lap = 2 // ns: two buckets of 1ns
	t.Run("steps", func(t *testing.T) {
		w := window.NewTime(lap)
		w.Record(at(1), window.Failed|window.Slow) // bucket 1, the second slot, lap 0
		for i := int64(1); i <= 8; i++ {
			w.Record(at(i<<29), 0) // first slot only, 2^28 laps apart
		}
		// Bucket 2^32+1 is in the second slot again, lap 2^31: lap 0's tag.
		if got, want := w.Sum(at(1<<32+1)), (window.Counts{Calls: 1}); got != want {
			t.Fatalf("Sum = %+v, want %+v", got, want)
		}
	})
	t.Run("jump", func(t *testing.T) {
		w := window.NewTime(lap)
		w.Record(at(1), window.Failed|window.Slow)
		w.Record(at(1<<32+1), 0) // same slot, same tag, 2^31 laps on
		if got, want := w.Sum(at(1<<32+1)), (window.Counts{Calls: 1}); got != want {
			t.Fatalf("Sum = %+v, want %+v", got, want)
		}
	})
}

// TestTimeRefusesTheZeroTime: the zero time is what a time-based policy
// gets as Call.At when the breaker was never told that it needs the time
// (issue 12). Counted, its calls would all fall into one bucket of the
// year 1 and stay there, so failures an hour apart would trip a one-minute
// window. The window panics instead, saying why.
func TestTimeRefusesTheZeroTime(t *testing.T) {
	for name, use := range map[string]func(w *window.Time){
		"Record":    func(w *window.Time) { w.Record(time.Time{}, window.Failed) },
		"RecordSum": func(w *window.Time) { w.RecordSum(time.Time{}, window.Failed) },
		"Sum":       func(w *window.Time) { w.Sum(time.Time{}) },
	} {
		for _, anchored := range []bool{false, true} {
			w := window.NewTime(time.Minute)
			if anchored {
				mono, _ := epochs.Mono(epochs.Today)
				w.Record(mono, 0)
			}
			func() {
				defer func() {
					msg, _ := recover().(string)
					if !strings.Contains(msg, "zero time") || !strings.Contains(msg, "NeedTime") {
						t.Errorf("%s(zero time), anchored %v: recovered %q, want a panic that says why", name, anchored, msg)
					}
				}()
				use(w)
			}()
		}
	}
}
