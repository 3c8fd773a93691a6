package window

import (
	"math"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
)

// TestTimeSaturates fills a bucket's words to the brim (2^32-1 calls are
// too many to record one by one) and checks that further calls stop
// counting instead of carrying into the lap tag, which would move the
// bucket to another lap and lose it from the window.
func TestTimeSaturates(t *testing.T) {
	epochs.Run(t, epochs.For(time.Minute/Buckets), testTimeSaturates)
}

func testTimeSaturates(t *testing.T, now time.Time) {
	w := NewTime(time.Minute)
	st := &w.stripes[0]
	w.recordOn(st, now, Failed|Slow)
	k := w.bucket(w.nanos(now))
	s, full := &w.slots[k&w.mask], uint64(w.tag(k))<<countBits|countMask
	st.calls[k&w.mask].Store(full)
	s.failures.Store(full)
	s.slow.Store(full)
	w.recordOn(st, now, Failed|Slow)
	want := Counts{Calls: countMask, Failures: countMask, Slow: countMask}
	if got := w.Sum(now); got != want {
		t.Fatalf("Sum = %+v, want %+v", got, want)
	}
}

// full sums the window that ends at the head bucket without the cache:
// what Sum returned before it had one.
func full(w *Time) Counts {
	h := w.head.Load()
	c := w.sumOlder(h)
	c.add(w.bucketCounts(h&w.mask, w.tag(h)))
	return c
}

// TestTimeCachesOlderBuckets checks that the calls after the first one in
// a bucket are judged from the cache, and that the cache holds what a full
// sum of the older buckets finds.
func TestTimeCachesOlderBuckets(t *testing.T) {
	epochs.Run(t, epochs.For(time.Second), testTimeCachesOlderBuckets)
}

func testTimeCachesOlderBuckets(t *testing.T, now time.Time) {
	w := NewTime(16 * time.Second) // buckets of 1s
	for i := range 40 {
		w.RecordSum(now.Add(time.Duration(i)*300*time.Millisecond), Mark(i%3 == 0, i%4 == 0))
	}
	now = now.Add(12 * time.Second)
	w.RecordSum(now, Failed)
	h := w.head.Load()
	if h != w.bucket(w.nanos(now)) {
		t.Fatalf("head = %d, want the bucket of %v", h, now)
	}
	cached, ok := w.cached(h)
	if !ok {
		t.Fatal("RecordSum left nothing in the cache")
	}
	if want := w.sumOlder(h); cached != want {
		t.Fatalf("cache holds %+v, a full sum of the older buckets gives %+v", cached, want)
	}
	got := w.RecordSum(now.Add(time.Millisecond), Slow)
	if want := full(w); got != want {
		t.Fatalf("RecordSum = %+v, a full sum gives %+v", got, want)
	}
	if got := w.Sum(now); got != full(w) {
		t.Fatalf("Sum = %+v, a full sum gives %+v", got, full(w))
	}
}

// TestTimeLateCallSpoilsCache is the race that the changed counter is
// there for: a goroutine reads the head, another moves the head on and
// caches the sum of the buckets behind it, and only then does the first
// count its call, into what is now an older bucket. The cache must not
// hide that call from later sums. record with a stale head is exactly the
// first goroutine's view.
func TestTimeLateCallSpoilsCache(t *testing.T) {
	epochs.Run(t, epochs.For(time.Second), testTimeLateCallSpoilsCache)
}

func testTimeLateCallSpoilsCache(t *testing.T, now time.Time) {
	w := NewTime(16 * time.Second)
	w.RecordSum(now, 0)
	stale := w.head.Load()
	next := now.Add(time.Second)
	if got, want := w.RecordSum(next, 0), (Counts{Calls: 2}); got != want {
		t.Fatalf("RecordSum = %+v, want %+v", got, want)
	}
	if _, _, head := w.record(w.stripe(), w.nanos(now), stale, true, false); head {
		t.Fatal("record into a bucket the head has left reports it as the head")
	}
	want := Counts{Calls: 3, Failures: 1}
	if got := w.Sum(next); got != want {
		t.Fatalf("Sum = %+v after a late call, want %+v", got, want)
	}
	if got := w.RecordSum(next, 0); got != (Counts{Calls: 4, Failures: 1}) {
		t.Fatalf("RecordSum = %+v after a late call, want 4 calls, 1 failure", got)
	}
}

// TestTimeResetSpoilsCache checks that a Reset empties cached sums too.
func TestTimeResetSpoilsCache(t *testing.T) {
	epochs.Run(t, epochs.For(time.Second), testTimeResetSpoilsCache)
}

func testTimeResetSpoilsCache(t *testing.T, now time.Time) {
	w := NewTime(16 * time.Second)
	w.RecordSum(now, Failed|Slow)
	w.RecordSum(now.Add(time.Second), Failed|Slow) // caches the first call
	w.Reset()
	if got, want := w.RecordSum(now.Add(time.Second), 0), (Counts{Calls: 1}); got != want {
		t.Fatalf("RecordSum after Reset = %+v, want %+v", got, want)
	}
}

// TestTimeHoldsNearTheEnds checks the multiplication that spares a
// division against the division itself, at the ends of int64 where the
// multiplication could overflow: holds may leave a bucket to the division
// (only the lowest few, below low), but must never claim a time for the
// wrong one.
func TestTimeHoldsNearTheEnds(t *testing.T) {
	for _, over := range []time.Duration{1, 2, 3, 16, 17, 48, time.Minute, 1<<62 + 12345, math.MaxInt64} {
		w := NewTime(over)
		for _, ns := range []int64{math.MinInt64, math.MinInt64 + 1, math.MinInt64 + 2, -1, 0, 1, 1e18, math.MaxInt64 - 1, math.MaxInt64} {
			k := w.bucket(ns)
			for _, h := range []int64{k - 1, k, k + 1, noHead, noHead + 1, w.low - 1, w.low, w.low + w.high, math.MaxInt64} {
				got := w.holds(h, ns)
				if got && h != k || h == noHead && got {
					t.Errorf("over %d: holds(%d, %d) = true, bucket says %d", over, h, ns, k)
				}
				// (bucket clamps MinInt64 into bucket noHead+1, which
				// does not hold it.)
				if !got && h == k && k >= w.low && ns != math.MinInt64 {
					t.Errorf("over %d: holds(%d, %d) = false for the bucket of ns", over, h, ns)
				}
			}
		}
	}
}

// TestTimeEmptySlotIsNeverNewer is issue 10's window.Time fault, step by
// step. Slots start empty, and Reset empties them. With lap tags that were
// the lap's low 32 bits, an empty word read as lap tag 0, which compares as
// newer than the head's tag once that tag's top bit is set: today for
// windows of 250ms, 500ms and 800ms, from 2038 for 1s windows. A Record
// bumps its call, then its failure; if the head moves on between the two,
// the failure's bump met an empty word that looked newer and was refused:
// the call counted, its failure lost for good. Here the head moves on
// exactly there, at each epoch, in a fresh window and after a Reset.
func TestTimeEmptySlotIsNeverNewer(t *testing.T) {
	for _, over := range []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Minute} {
		width := over / Buckets
		epochs.Run(t, epochs.For(width), func(t *testing.T, start time.Time) {
			for _, reset := range []bool{false, true} {
				w := NewTime(over)
				if reset {
					w.Record(start, Failed|Slow)
					w.Reset()
				}
				k := w.bucket(w.nanos(start))
				end := start.Add(time.Duration((k+1)*w.width - 1 - w.nanos(start))) // the last nanosecond of start's bucket
				// The failure's Record has counted its call in bucket k...
				w.Record(end, 0)
				// ...another goroutine's success moves the head on...
				w.Record(end.Add(1), 0)
				// ...and the failure's own bumps come last: it failed,
				// and it was slow.
				s := &w.slots[k&w.mask]
				if _, ok := w.bump(&s.failures, w.tag(k), k, 1); !ok {
					t.Fatalf("over %v, reset %v: the failure's bump into an empty word was refused", over, reset)
				}
				if _, ok := w.bump(&s.slow, w.tag(k), k, 1); !ok {
					t.Fatalf("over %v, reset %v: the slow call's bump into an empty word was refused", over, reset)
				}
				if got := w.Sum(end.Add(1)); got.Failures != 1 || got.Slow != 1 {
					t.Fatalf("over %v, reset %v: Sum = %+v, want the failure and its slowness counted", over, reset, got)
				}
			}
		})
	}
}

// TestLongIdleJumpLosesRecordedCall: a head that jumped 2^lapGapBits laps
// or more (a 16ms window idle for 99 days, a 1ms one for 6) reset every
// slot, the new head's included, after its compare-and-swap had published
// the new head: a writer that read the new head and counted into it
// before the reset lost its call, after its Record had returned. The
// interleaving is replayed step by step: the head moves, another goroutine
// records, then the goroutine that moved the head advances.
func TestLongIdleJumpLosesRecordedCall(t *testing.T) {
	epochs.Run(t, epochs.For(time.Millisecond), func(t *testing.T, start time.Time) {
		for _, laps := range []int64{1 << lapGapBits, 1<<lapGapBits + 3, 1 << (tagBits - 1), 1 << tagBits} {
			w := NewTime(16 * time.Millisecond)
			w.Record(start, Failed)
			h := w.head.Load()
			k := h + laps<<w.shift
			now := start.Add(time.Duration(k-h) * w.Width())
			far := w.before(h, k)
			if !w.head.CompareAndSwap(h, k) {
				t.Fatal("head moved")
			}
			// Writers on every stripe read the new head and count into it.
			for i := range w.stripes {
				w.recordOn(&w.stripes[i], now, Failed|Slow)
			}
			w.advance(h, k, far)
			n := int64(len(w.stripes))
			if got, want := w.Sum(now), (Counts{Calls: n, Failures: n, Slow: n}); got != want {
				t.Fatalf("after a jump of %d laps: Sum = %+v, want %+v: the calls recorded into the new head", laps, got, want)
			}
			w.Record(now.Add(w.Width()), 0)
			if got, want := w.Sum(now.Add(w.Width())), (Counts{Calls: n + 1, Failures: n, Slow: n}); got != want {
				t.Fatalf("a bucket on: Sum = %+v, want %+v", got, want)
			}
		}
	})
}

// TestFarJumpKeepsStaleCountOfLapAhead: after a jump far enough for
// advance to renew every slot, renew kept a stale word whose tag was
// fewer laps ahead of its slot's new bucket than the head was, taking it
// for one written since the jump. But a slot after the head's holds the
// lap before the head's: a word with the head's lap tag there counts a
// bucket ahead of the head, which no writer can have reached. With the
// old head and the new one 2^tagBits·… laps apart their lap tags are
// equal, and the old head's calls came back into the window a bucket
// after the jump. (Found by TestTimeMatchesModel: a 2ns window, calls at
// 1ns and 0ns, then at 2^32ns and 2^32+1ns, summed four calls.)
func TestFarJumpKeepsStaleCountOfLapAhead(t *testing.T) {
	epochs.Run(t, epochs.For(time.Nanosecond), func(t *testing.T, start time.Time) {
		w := NewTime(2 * time.Nanosecond) // two buckets of 1ns
		if w.bucket(w.nanos(start))&1 == 0 {
			start = start.Add(time.Nanosecond) // the head in the second slot
		}
		w.Record(start, 0)
		w.Record(start.Add(-time.Nanosecond), 0) // late: into the head
		// 2^31 laps on, in the first slot: the same truncated lap tag.
		jump := start.Add(1<<32 - 1)
		w.Record(jump, 0)
		w.Record(jump.Add(time.Nanosecond), 0) // into the second slot
		if got, want := w.Sum(jump.Add(time.Nanosecond)), (Counts{Calls: 2}); got != want {
			t.Fatalf("Sum = %+v, want %+v: the calls before the jump came back", got, want)
		}
	})
}
