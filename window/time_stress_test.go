package window_test

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/window"
	"github.com/tripwire-go/tripwire/window/windowtest"
)

// TestTimeRollKeepsConcurrentCounts is the regression test for the bug that
// cep21/circuit's rolling buckets once had: a goroutine that rolls a bucket
// over to a new period clears it while others are counting into it, and
// their counts are lost (or half lost: a failure without its call).
//
// Each phase starts 8 writers at once on a new bucket, so the first of them
// rolls it while the rest count into it; some phases skip buckets or whole
// laps, so that rolls also re-tag the slots passed over. Readers sum
// throughout. Between phases the window must match the model exactly, and
// during a phase every sum must lie between the sums before and after it:
// the buckets of earlier phases are never written during a phase, so a
// lost or misplaced count shows. Half the writers record with
// RecordBounds, whose bounds must hold while the others write.
func TestTimeRollKeepsConcurrentCounts(t *testing.T) {
	epochs.Run(t, epochs.All(), testTimeRollKeepsConcurrentCounts)
}

func testTimeRollKeepsConcurrentCounts(t *testing.T, t0 time.Time) {
	const (
		writers = 8
		each    = 300
		phases  = 60
	)
	width := time.Millisecond
	over := window.Buckets * width
	w, m := window.NewTime(over), windowtest.NewTime(over)
	t0 = alignUp(t0, width) // each phase's calls fill one bucket
	rng := rand.New(rand.NewPCG(1, 2))
	bucket := int64(0)
	for range phases {
		bucket += []int64{1, 1, 1, 2, 5, window.Buckets + 3}[rng.IntN(6)]
		start := t0.Add(time.Duration(bucket) * width)
		end := start.Add(width - 1)
		// The calls of this phase, drawn up front so the model gets
		// the same ones.
		calls := make([][]call, writers)
		for g := range calls {
			for range each {
				c := call{start.Add(time.Duration(rng.Int64N(int64(width)))), rng.IntN(3) == 0, rng.IntN(4) == 0}
				calls[g] = append(calls[g], c)
				m.Record(c.at, window.Mark(c.failed, c.slow))
			}
		}
		before := w.Sum(end)
		after := m.Sum(end)

		var wg, readers sync.WaitGroup
		begin, done := make(chan struct{}), make(chan struct{})
		for range 2 {
			readers.Add(1)
			go func() {
				defer readers.Done()
				<-begin
				for {
					select {
					case <-done:
						return
					default:
					}
					checkBetween(t, w.Sum(end), before, after)
				}
			}()
		}
		for g := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-begin
				for _, c := range calls[g] {
					if g%2 == 0 {
						w.Record(c.at, window.Mark(c.failed, c.slow))
						continue
					}
					// RecordBounds, from a stripe of its own: at
					// least its own call, and never more than the
					// window holds once every writer is done.
					got := w.RecordBounds(c.at, window.Mark(c.failed, c.slow))
					if got.Calls < 1 || got.Calls > after.Calls || got.Failures > after.Failures || got.Slow > after.Slow {
						t.Errorf("bucket %d: RecordBounds = %+v, the window ends up with %+v", bucket, got, after)
						return
					}
				}
			}()
		}
		close(begin)
		wg.Wait()
		close(done)
		readers.Wait()
		if got := w.Sum(end); got != after {
			t.Fatalf("bucket %d: Sum = %+v, model says %+v", bucket, got, after)
		}
	}
}

// TestTimeCacheKeepsLateCalls has 8 writers step through ten buckets
// together with RecordSum, so that at each roll some of them count into
// the bucket the head just left while others already judge the window
// from a fresh cache. Each phase's calls all stay within the window, and
// the next phase starts a window length later, so once a phase's writers
// have returned the window must hold exactly that phase's calls: a cache
// that missed a late call would hide it until the head moved again. Each
// writer also checks that RecordSum counts its own call.
func TestTimeCacheKeepsLateCalls(t *testing.T) {
	epochs.Run(t, epochs.All(), testTimeCacheKeepsLateCalls)
}

func testTimeCacheKeepsLateCalls(t *testing.T, t0 time.Time) {
	const (
		writers = 8
		each    = 1000 // 100 calls a bucket: ten buckets of a window of 16
		phases  = 10
	)
	width := time.Millisecond
	w := window.NewTime(window.Buckets * width)
	t0 = alignUp(t0, width)
	for p := range phases {
		start := t0.Add(time.Duration(p) * 2 * window.Buckets * width)
		at := func(i int) time.Time { return start.Add(width * time.Duration(i) / 100) }
		var wg sync.WaitGroup
		for g := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					c := w.RecordSum(at(i), window.Mark((i+g)%3 == 0, i%5 == 0))
					checkConsistent(t, c)
					if c.Calls < 1 {
						t.Errorf("RecordSum = %+v: its own call is missing", c)
						return
					}
				}
			}()
		}
		wg.Wait()
		want := window.Counts{Calls: writers * each}
		for g := range writers {
			for i := range each {
				want.Failures += b2i((i+g)%3 == 0)
				want.Slow += b2i(i%5 == 0)
			}
		}
		if got := w.Sum(at(each - 1)); got != want {
			t.Fatalf("phase %d: Sum = %+v, want %+v", p, got, want)
		}
	}
}

// TestLastConcurrentLaps has 8 writers lap a small ring many times, all
// with failures, then with successes while they also reset it: whichever
// writer wins a slot, the bits and the counts agree.
func TestLastConcurrentLaps(t *testing.T) {
	w := window.NewLast(70)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				w.Record(window.Failed | window.Slow)
				checkConsistent(t, w.Sum())
			}
		}()
	}
	wg.Wait()
	if got, want := w.Sum(), (window.Counts{Calls: 70, Failures: 70, Slow: 70}); got != want {
		t.Fatalf("Sum = %+v, want %+v", got, want)
	}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				if i%100 == 0 {
					w.Reset()
				}
				w.Record(0)
			}
		}()
	}
	wg.Wait()
	if got, want := w.Sum(), (window.Counts{Calls: 70}); got != want {
		t.Fatalf("after successes Sum = %+v, want %+v", got, want)
	}
	// RecordSum of successes, which writes nothing into a full ring of
	// them, races Records of failures: once the last failure is 70 plain
	// calls back, the ring holds none.
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				if g == 0 && i%10 == 0 {
					w.Record(window.Failed)
					continue
				}
				checkConsistent(t, w.RecordSum(0))
			}
		}()
	}
	wg.Wait()
	for range 70 {
		w.RecordSum(0)
	}
	if got, want := w.Sum(), (window.Counts{Calls: 70}); got != want {
		t.Fatalf("70 successes after the failures: Sum = %+v, want %+v", got, want)
	}
}

type call struct {
	at           time.Time
	failed, slow bool
}

// checkBetween reports a sum outside [lo, hi], counter by counter.
func checkBetween(t *testing.T, c, lo, hi window.Counts) {
	t.Helper()
	checkConsistent(t, c)
	if c.Calls < lo.Calls || c.Calls > hi.Calls ||
		c.Failures < lo.Failures || c.Failures > hi.Failures ||
		c.Slow < lo.Slow || c.Slow > hi.Slow {
		t.Errorf("Sum = %+v, outside [%+v, %+v]", c, lo, hi)
	}
}

// alignUp returns the first start of a bucket of width at or after t,
// keeping t's monotonic reading (Truncate would strip it).
func alignUp(t time.Time, width time.Duration) time.Time {
	r := t.Round(0).Sub(epochs.Unix0) % width
	if r < 0 {
		r += width
	}
	if r == 0 {
		return t
	}
	return t.Add(width - r)
}

// TestTimeFarJumpKeepsConcurrentCounts: four writers record at once, the
// first time after the window sat idle 2^29 laps or more (a 16ms window
// idle for 99 days). Whichever moves the head re-tags every slot while the
// others count into the new head; each call whose Record returned must be
// in the sum. Clearing every slot there lost about one round in a
// thousand; TestLongIdleJumpLosesRecordedCall replays that interleaving
// exactly.
func TestTimeFarJumpKeepsConcurrentCounts(t *testing.T) {
	const writers = 4
	start := epochs.Today
	over := window.Buckets * time.Millisecond
	for _, laps := range []int64{1 << 29, 1<<31 + 5, 1 << 31} {
		far := start.Add(time.Duration(laps) * over)
		for round := range 500 {
			w := window.NewTime(over)
			w.Record(start, window.Failed)
			var wg sync.WaitGroup
			for range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					w.Record(far, window.Failed)
				}()
			}
			wg.Wait()
			if got, want := w.Sum(far), (window.Counts{Calls: writers, Failures: writers}); got != want {
				t.Fatalf("jump of %d laps, round %d: Sum = %+v, want %+v", laps, round, got, want)
			}
		}
	}
}
