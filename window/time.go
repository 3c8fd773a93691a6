package window

import (
	"math"
	"sync/atomic"
	"time"
)

// Buckets is the number of buckets of a [Time] window (windows shorter than
// Buckets nanoseconds have fewer). The trailing edge of a window is precise
// to one bucket: 1/Buckets of its length. A power of two, so that finding a
// bucket's slot in the ring is a mask, not a division.
const Buckets = 16

// Counts are the sums of a window, as Sum returns them: a plain value,
// whose zero value is the sums of an empty window.
type Counts struct {
	// Calls is how many calls the window holds.
	Calls int64
	// Failures is how many of them failed. Never more than Calls.
	Failures int64
	// Slow is how many of them were slow. Never more than Calls.
	Slow int64
}

// A counter word holds a bucket's lap in its high half and its count in the
// low half. Because the lap travels with the count, an increment and the roll
// of a bucket to a new lap are the same compare-and-swap: there is no
// separate clearing step that another goroutine's increment could slip
// under, and no increment is ever lost to a roll.
const (
	countBits = 32
	countMask = 1<<countBits - 1
)

// noHead marks a window that has recorded nothing since it was made.
const noHead = math.MinInt64

// lapGapBits bounds how far laps are compared. A lap tag is 32 bits, so two
// tags are ordered correctly while they are less than 2^31 laps apart. Every
// slot is re-tagged each time the head passes it, so stored tags are never
// more than a lap behind the head, except after the window sat idle: an
// advance of 2^30 laps or more therefore clears every slot instead of
// comparing tags.
const lapGapBits = 30

// Time counts calls, failures and slow calls over a trailing span of time:
// a sliding time window.
//
// Use it to ask "how many calls, and how many bad ones, in the last minute?"
// without keeping one entry per call. It is a ring of [Buckets] buckets,
// each width = over/Buckets long (rounded down to the nanosecond), with
// bucket k holding the calls that finished in [k·width, (k+1)·width) since
// the Unix epoch. Sum at now adds up the bucket of now and the Buckets-1
// before it, a span of Buckets·width: over, less the at most 15ns that the
// rounding lost. So a call is never counted once it is span old (and so
// never once it is over old), and always counted while it is younger than
// span - width. The edge of the window is precise to one bucket, 1/16 of
// its length.
//
// Time never reads a clock: the caller passes now to every method. A time
// older than the newest bucket recorded into (a clock that stepped back, or a
// goroutine that read the clock before another one that recorded first) is
// counted into that newest bucket, and Sum at such a time sums the window
// that ends at the newest bucket. Nothing panics, whatever the times.
//
// Every method is safe for concurrent use, and Record and Sum are lock-free
// and do not allocate. Under concurrency Sum may miss calls whose Record has not returned yet and
// may see the oldest bucket leave the window while it reads; it never counts
// a call twice, never counts a call that left the window before Sum started,
// and never reports more failures or slow calls than calls. A bucket counts
// at most 2^32-1 calls and saturates there.
//
// Build one with [NewTime]; the zero value is not usable. A Time must not be
// copied after first use.
type Time struct {
	width int64 // nanoseconds per bucket, at least 1
	shift uint  // log2 of the number of buckets in use
	// head is the newest bucket recorded into, or noHead. Writers only
	// ever count into the head bucket, so a slot other than the head's is
	// only written when the head passes it (see advance).
	head  atomic.Int64
	slots [Buckets]slot
}

// slot holds one bucket's three counter words.
type slot struct {
	calls, failures, slow atomic.Uint64
}

// NewTime returns an empty window over the trailing over. An over below one
// nanosecond is taken as one nanosecond; policies validate their durations
// before they get here.
func NewTime(over time.Duration) *Time {
	ns := max(int64(over), 1)
	shift := uint(4) // log2(Buckets)
	for ns < 1<<shift {
		shift--
	}
	w := &Time{width: ns >> shift, shift: shift}
	w.head.Store(noHead)
	return w
}

// Width returns the length of one bucket: the precision of the window's
// trailing edge.
func (w *Time) Width() time.Duration { return time.Duration(w.width) }

// Span returns the length of the window: its buckets' widths added up,
// which is over rounded down to a whole number of buckets. With a clock
// that only moves forward, a call recorded at t counts at now only while
// now - t < Span.
func (w *Time) Span() time.Duration { return time.Duration(w.width << w.shift) }

// Record counts one call that finished at now. It does not allocate and
// takes no lock: one load of the head, and one compare-and-swap per counter
// it bumps (the call, and its failure and slowness when set).
func (w *Time) Record(now time.Time, failed, slow bool) {
	k := w.bucket(now)
	for {
		h := w.head.Load()
		if k < h {
			k = h // count into the newest bucket
		} else if k > h {
			if !w.head.CompareAndSwap(h, k) {
				continue // another goroutine moved the head: look again
			}
			w.advance(h, k)
		}
		s, tag := &w.slots[k&w.mask()], w.tag(k)
		if !w.bump(&s.calls, tag, k, 1) {
			continue // the head lapped this slot meanwhile: count into the new head
		}
		// If the slot is lapped between these bumps, the call just
		// counted has left the window already, and so have its failure
		// and slowness: bump reports that and there is nothing to redo.
		if failed {
			w.bump(&s.failures, tag, k, 1)
		}
		if slow {
			w.bump(&s.slow, tag, k, 1)
		}
		return
	}
}

// Sum returns the counts of the window that ends at now (or at the newest
// bucket recorded into, if now is older). It reads every bucket once and
// does not allocate.
func (w *Time) Sum(now time.Time) Counts {
	var c Counts
	k, h := w.bucket(now), w.head.Load()
	n := int64(1) << w.shift
	if h == noHead {
		return c
	}
	if k < h {
		k = h
	} else if uint64(k-h) >= uint64(n) {
		return c // nothing recorded within the window
	}
	// Slot i holds bucket k's lap up to k's own slot, and the lap
	// before it past that: walking the slots in order needs no division.
	last, tag := k&w.mask(), w.tag(k)
	for i := range w.slots[:n] {
		if int64(i) == last+1 {
			tag--
		}
		s := &w.slots[i]
		// Calls first: a writer bumps calls before failures and slow,
		// so a failure read later may belong to a call this read
		// missed; the min below keeps the bucket consistent.
		calls, ok := count(s.calls.Load(), tag)
		if !ok {
			continue
		}
		f, _ := count(s.failures.Load(), tag)
		sl, _ := count(s.slow.Load(), tag)
		c.Calls += calls
		c.Failures += min(f, calls)
		c.Slow += min(sl, calls)
	}
	return c
}

// Reset forgets every call recorded. The newest time seen is kept, so a
// clock that stepped back before a Reset still counts into the newest
// bucket after it. A Record concurrent with Reset may or may not be
// forgotten.
func (w *Time) Reset() {
	for i := range w.slots {
		s := &w.slots[i]
		s.calls.Store(0)
		s.failures.Store(0)
		s.slow.Store(0)
	}
}

// advance re-tags the slots that the head passed on its way from old to k,
// so that they count from zero for their new lap. Only the goroutine whose
// compare-and-swap moved the head from old to k calls it, so the ranges of
// concurrent advances do not overlap.
func (w *Time) advance(old, k int64) {
	if old == noHead {
		return // a new window holds only zero counts
	}
	n := int64(1) << w.shift
	if gap := uint64(k - old); gap >= uint64(n)<<lapGapBits {
		// Idle for 2^30 laps or more: the stored tags are too old to
		// compare (see lapGapBits), and all of them are outside the
		// window. Writers that count into the new head while this runs
		// may lose that count; it takes a window idle for 2^30 of its
		// lengths to get here.
		w.Reset()
		return
	} else if gap < uint64(n) {
		n = int64(gap)
	}
	for i := range n {
		j := k - i
		s, tag := &w.slots[j&w.mask()], w.tag(j)
		w.bump(&s.calls, tag, j, 0)
		w.bump(&s.failures, tag, j, 0)
		w.bump(&s.slow, tag, j, 0)
	}
}

// bump adds d to the count that word holds for bucket k, whose lap tag is
// tag; d = 0 just re-tags it. A word that holds an older lap is that
// bucket's previous occupant, outside the window: it is replaced in the same
// compare-and-swap that counts. A word that holds a newer lap means the head
// lapped this slot since k was read; bump then returns false and leaves it.
// (A word that only looks newer, while the head has not moved past k, is
// left over from a Reset racing a Record and is replaced.)
func (w *Time) bump(word *atomic.Uint64, tag uint32, k int64, d uint64) bool {
	for {
		old := word.Load()
		next := uint64(tag)<<countBits | d
		if t := uint32(old >> countBits); t == tag {
			if d == 0 || old&countMask == countMask {
				return true // nothing to add, or saturated
			}
			next = old + d
		} else if int32(t-tag) > 0 && w.head.Load() > k {
			return false
		}
		if word.CompareAndSwap(old, next) {
			return true
		}
	}
}

// bucket returns the index of the bucket that holds now.
func (w *Time) bucket(now time.Time) int64 {
	ns := now.UnixNano()
	k := ns / w.width
	if ns < 0 && k*w.width != ns {
		k-- // round towards minus infinity before 1970 too
	}
	return max(k, noHead+1) // noHead stays a marker
}

// mask maps a bucket index to its slot.
func (w *Time) mask() int64 { return 1<<w.shift - 1 }

// tag is the lap of bucket k, truncated to the tag's 32 bits.
func (w *Time) tag(k int64) uint32 { return uint32(k >> w.shift) }

// count returns the count a word holds for tag, and whether it holds tag.
func count(word uint64, tag uint32) (int64, bool) {
	if uint32(word>>countBits) != tag {
		return 0, false
	}
	return int64(word & countMask), true
}
