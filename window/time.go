package window

import (
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/internal/stripe"
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

// A lap tag is the lap of a bucket, truncated to tagBits bits, with
// tagLive set. An empty word (a new window's, or one Reset wrote) is all
// zero: its tag lacks tagLive, so it never equals a bucket's tag and never
// passes for a newer lap than one, whatever the lap and so whatever the
// date. (Tags of the lap's plain low 32 bits made 0, the empty word's, the
// newest tag there is once the head's tag had its top bit set: a bump into
// a slot the head had just passed was refused, and a failure counted after
// its call was lost. That is the fault this encoding removes.)
const (
	tagBits = 31
	tagLive = 1 << tagBits
	tagMask = tagLive - 1
)

// lapGapBits bounds how far laps are compared. Two tags are ordered
// correctly while they are less than 2^(tagBits-1) laps apart (see newer).
// Every slot is re-tagged each time the head passes it, so stored tags are
// never more than a lap behind the head, except after the window sat idle:
// an advance of 2^lapGapBits laps or more therefore renews every slot
// without comparing tags (see renew).
const lapGapBits = tagBits - 2

// newer reports whether the tag t, read from a word, is of a later lap
// than tag, the live tag of a bucket: a difference of the truncated laps,
// taken modulo 2^tagBits, that lies in (0, 2^(tagBits-1)). An empty word is
// never newer.
func newer(t, tag uint32) bool {
	d := (t - tag) & tagMask
	return t&tagLive != 0 && d != 0 && d < 1<<(tagBits-1)
}

// Time counts calls, failures and slow calls over a trailing span of time:
// a sliding time window.
//
// Use it to ask "how many calls, and how many bad ones, in the last minute?"
// without keeping one entry per call. It is a ring of [Buckets] buckets,
// each width = over/Buckets long (rounded down to the nanosecond), with
// bucket k holding the calls that finished in [k·width, (k+1)·width) since
// the Unix epoch (see below for times with a monotonic reading). Sum at now
// adds up the bucket of now and the Buckets-1 before it, a span of
// Buckets·width: over, less the at most 15ns that the
// rounding lost. So a call is never counted once it is span old (and so
// never once it is over old), and always counted while it is younger than
// span - width. The edge of the window is precise to one bucket, 1/16 of
// its length.
//
// Time never reads a clock: the caller passes now to every method. Times
// with a monotonic reading, as time.Now and the breaker's real clock give
// them, are placed by that reading (by their distance from the first such
// time the window saw), so a step of the wall clock moves nothing; times
// without one, plain values and mock clocks, by their wall time. A time
// older than the newest bucket recorded into (a goroutine that read the
// clock before another one that recorded first, or a plain clock that
// stepped back) is counted into that newest bucket, and Sum at such a time
// sums the window that ends at the newest bucket. Times past either end of
// int64 nanoseconds since 1970 count as that end (and the first nanosecond
// of that range as the second, in windows of 1ns buckets). The one time refused is
// the zero time: a time-based policy gets it only when the breaker was not
// told it needs the time, so every method panics on it, saying so.
//
// Every method is safe for concurrent use, and Record, Sum, RecordSum and
// RecordBounds are lock-free and do not allocate. Under concurrency Sum may miss calls
// whose Record has not returned yet and may see the oldest bucket leave the
// window while it reads; it never counts a call twice, never counts a call
// that left the window before Sum started, and never reports more failures
// or slow calls than calls. A bucket counts at most 2^32-1 calls and
// saturates there.
//
// Sum reads every bucket only on its first call after the head bucket (the
// newest one recorded into) moves on; until the head moves again it adds
// the head bucket to a cached sum of the others, which no longer change. So
// a policy that judges the window on every call reads all the buckets once
// each time the head moves on, not on every call.
//
// Calls are counted in stripes, one cache line pair per stripe, picked by
// the recording goroutine's stack address: four per processor
// (GOMAXPROCS at NewTime), at most 8, one with GOMAXPROCS 1. Concurrent
// successes on different cores then write different lines, and
// RecordBounds reads only its own; Sum and RecordSum add the stripes up.
// A window takes 512 bytes plus 128 per stripe: 1.5 KiB with
// GOMAXPROCS 2 or more.
//
// Build one with [NewTime]; the zero value is not usable. A Time must not be
// copied after first use.
type Time struct {
	width int64 // nanoseconds per bucket, at least 1
	shift uint  // log2 of the number of buckets in use
	mask  int64 // the number of buckets in use, less one: maps a bucket to its slot
	// Buckets low to low+high hold times whose start, in nanoseconds, an
	// int64 holds (every bucket but the lowest few, depending on width):
	// for them, whether a time is in the head bucket takes a
	// multiplication instead of the division that finds its bucket.
	low, high int64
	// head is the newest bucket recorded into, or noHead. Writers only
	// ever count into the head bucket, so a slot other than the head's is
	// only written when the head passes it (see advance), by a Record
	// that read the head just before it moved on, or by Reset.
	head atomic.Int64
	// The anchor is the first time with a monotonic reading the window
	// saw, and its nanoseconds since the Unix epoch: see nanos. anchored
	// is 0 until it is written, 1 while one goroutine writes it, and 2
	// once it is; the plain fields are written before the store of 2 and
	// read only after a load of 2.
	anchored   atomic.Uint32
	anchor     time.Time
	anchorNano int64
	// changed counts the writes of the second and third kind: it tells
	// the cache of older buckets that what it summed may have changed.
	changed atomic.Uint64
	older   olderSums
	// stripes hold the call counts (see callStripe); smask is their
	// number less one, and pick picks the caller's.
	stripes []callStripe
	smask   uintptr
	pick    stripe.Picker
	// The pad keeps the failure and slow counters off the cache line of
	// the words above, which every call reads: otherwise each failure on
	// one core would evict them from the others.
	_     [64]byte
	slots [Buckets]slot
}

// callStripe holds a call counter word for each bucket slot. Every call
// bumps a calls word, so one word per bucket would be written by every
// core and bounce between them: each goroutine counts into the stripe its
// stack address picks (see package internal/stripe), as the breaker's
// call counters and its Record fence do, and a bucket's calls are the sum
// over the stripes. A stripe is two cache
// lines, and the stripes are allocated in one power-of-two block, which
// Go's allocator aligns to its size, so no two stripes share a line.
//
// Failures and slow calls are not striped: they are written only by the
// calls they mark, and read by every call of a policy that judges the
// window, which reads a line another core writes only when calls fail.
type callStripe struct {
	calls [Buckets]atomic.Uint64
}

// maxStripes bounds the memory of a window: 128 bytes a stripe.
const maxStripes = 8

// stripesFor returns the number of stripes for procs processors: one
// alone, else four per processor, so that two busy goroutines share one by
// bad luck only (one chance in eight on two cores), and at most
// maxStripes.
func stripesFor(procs int) int {
	n := 1
	for procs > 1 && n < 4*procs && n < maxStripes {
		n <<= 1
	}
	return n
}

// stripe returns the stripe of the calling goroutine.
func (w *Time) stripe() *callStripe {
	if w.smask == 0 {
		return &w.stripes[0]
	}
	return &w.stripes[w.pick.Pick(w.smask)]
}

// olderSums caches the sums of the buckets of a window other than its
// head bucket, for the head bucket it was taken at. Those buckets change
// only when the head moves, which changes the key, or by the writes that
// Time.changed counts: so while the head stays in one bucket, which is
// most calls (a bucket of a one-minute window is 3.75s long), Sum reads
// the cache and the head bucket instead of every bucket.
//
// It is a sequence lock: a writer makes seq odd, writes, and makes it even
// again; a reader that sees the same even seq before and after its reads
// read one writer's values. Every field is atomic, so that readers racing
// a writer are well defined; a writer that finds seq odd skips caching
// rather than wait.
type olderSums struct {
	seq                   atomic.Uint64
	head                  atomic.Int64  // the head bucket the sums were taken at
	changed               atomic.Uint64 // Time.changed, read before the sums were taken
	calls, failures, slow atomic.Int64
}

// slot holds one bucket's failure and slow counter words; its calls are
// in the stripes.
type slot struct {
	failures, slow atomic.Uint64
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
	n := stripesFor(runtime.GOMAXPROCS(0))
	w := &Time{width: ns >> shift, shift: shift, mask: 1<<shift - 1, stripes: make([]callStripe, n), smask: uintptr(n - 1)}
	// Go's division truncates towards zero, so low·width >= MinInt64,
	// and (low+high)·width <= MaxInt64.
	w.low = max(math.MinInt64/w.width, noHead+1)
	w.high = math.MaxInt64/w.width - w.low
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

// Record counts one call that finished at now, with its marks (failed,
// slow: see [Marks]). It does not allocate and takes no lock: two loads of the head, and one compare-and-swap per
// counter it bumps (the call, and its failure and slowness when set).
func (w *Time) Record(now time.Time, m Marks) {
	w.count(w.stripe(), w.nanos(now), m&Failed != 0, m&Slow != 0)
}

// RecordSum counts one call that finished at now, as Record does, and
// returns the counts of the window that ends at now, as Sum then would,
// the call included. It is for code that judges the window on every call,
// as the ratio policies do: it reads the clock value and the head once,
// not twice, and takes the count of the call's own bucket from the
// compare-and-swap that counted it, so a success costs one atomic write
// and a few loads. It does not allocate and takes no lock.
func (w *Time) RecordSum(now time.Time, m Marks) Counts {
	k, _, ok := w.count(w.stripe(), w.nanos(now), m&Failed != 0, m&Slow != 0)
	if !ok {
		return w.Sum(now) // the head moved on meanwhile: rare
	}
	// cachedOlder(k), written out: it is not inlined, and this is every
	// call of a time-window policy.
	c, ok := w.cached(k)
	if !ok {
		c = w.cacheOlder(k)
	}
	c.add(w.bucketCounts(k&w.mask, w.tag(k)))
	return c
}

// RecordBounds counts one call that finished at now, as Record does, and
// returns the counts of the window that ends at now as RecordSum does,
// except, for a call without marks, Calls, which may fall short of
// RecordSum's by calls that other goroutines counted into the newest
// bucket: it is a lower bound, which Failures and Slow may exceed. For a
// call with marks (failed, slow), after which a verdict most often needs
// the exact count, it returns what RecordSum returns.
//
// It is for a policy that judges the window on every call and needs the
// exact number of calls only now and then: a ratio of failures to calls
// that stays below its threshold with the lower bound stays below it with
// any larger number of calls, so such a policy calls Sum only when the
// bound does not settle the verdict (see policy.Rate). It reads only the
// calling goroutine's own call counter, where RecordSum reads every
// core's: on many cores, a success then writes and reads no cache line
// that another core writes, unless calls fail. It does not allocate and
// takes no lock.
func (w *Time) RecordBounds(now time.Time, m Marks) Counts {
	// Small enough to be inlined with the stripe picked below: a policy
	// calls it on every call.
	return w.recordBounds(nil, now, m)
}

// recordBounds is RecordBounds into the stripe st, or the caller's if st
// is nil.
func (w *Time) recordBounds(st *callStripe, now time.Time, m Marks) Counts {
	if st == nil {
		st = w.stripe()
	}
	k, calls, ok := w.count(st, w.nanos(now), m&Failed != 0, m&Slow != 0)
	if !ok {
		return w.Sum(now) // the head moved on meanwhile: rare
	}
	c, ok := w.cached(k)
	if !ok {
		c = w.cacheOlder(k)
	}
	if m != 0 {
		c.add(w.bucketCounts(k&w.mask, w.tag(k)))
		return c
	}
	s, tag := &w.slots[k&w.mask], w.tag(k)
	f, _ := count(s.failures.Load(), tag)
	sl, _ := count(s.slow.Load(), tag)
	c.add(Counts{Calls: calls, Failures: f, Slow: sl})
	return c
}

// recordHead is RecordBounds for a success that counts into the head
// bucket with one compare-and-swap; it counts nothing, and reports
// false, for any other (a time past the head bucket, a word another
// goroutine wrote meanwhile, a sealed word). It is the fast path of
// internal/fastrec: a caller that gets false records the call again,
// through its fenced path.
func (w *Time) recordHead(now time.Time) (Counts, bool) {
	ns, h := w.nanos(now), w.head.Load()
	if !w.holdsOrAfter(h, ns) {
		return Counts{}, false
	}
	calls, ok := inc(&w.stripe().calls[h&w.mask], w.tag(h))
	if !ok {
		return Counts{}, false
	}
	if !w.settled(h) {
		return w.Sum(now), true // the head moved on meanwhile: rare
	}
	c, ok := w.cached(h)
	if !ok {
		c = w.cacheOlder(h)
	}
	s, tag := &w.slots[h&w.mask], w.tag(h)
	f, _ := count(s.failures.Load(), tag)
	sl, _ := count(s.slow.Load(), tag)
	c.add(Counts{Calls: calls, Failures: f, Slow: sl})
	return c, true
}

// renewed returns an empty window like w that keeps what Reset keeps:
// the newest bucket recorded into, and the anchor of monotonic times. It
// is Reset for a caller that replaces the window rather than clear it
// (see internal/fastrec): a Record into w meanwhile changes nothing the
// new window holds.
func (w *Time) renewed() *Time {
	n := &Time{width: w.width, shift: w.shift, mask: w.mask, low: w.low, high: w.high,
		stripes: make([]callStripe, len(w.stripes)), smask: w.smask}
	n.head.Store(w.head.Load())
	if w.anchored.Load() == 2 {
		n.anchor, n.anchorNano = w.anchor, w.anchorNano
		n.anchored.Store(2)
	}
	return n
}

// seal clears tagLive in every call counter word: inc, which wants the
// live tag, fails on a sealed word, while count reads it as before. It is
// a compare-and-swap per word, so an inc on a word either landed before
// the word was sealed or fails. Only inc may write a sealed window (see
// internal/fastrec): bump would take a sealed word for an older lap.
func (w *Time) seal() {
	for j := range w.stripes {
		for i := range w.stripes[j].calls {
			word := &w.stripes[j].calls[i]
			for {
				old := word.Load()
				if old&(tagLive<<countBits) == 0 || word.CompareAndSwap(old, old&^(tagLive<<countBits)) {
					break
				}
			}
		}
	}
}

// unseal undoes seal. An empty word stays empty: a sealed word of count
// zero reads as zero either way.
func (w *Time) unseal() {
	for j := range w.stripes {
		for i := range w.stripes[j].calls {
			word := &w.stripes[j].calls[i]
			for {
				old := word.Load()
				if old == 0 || old&(tagLive<<countBits) != 0 || word.CompareAndSwap(old, old|tagLive<<countBits) {
					break
				}
			}
		}
	}
}

// count counts one call at ns, in nanoseconds since the Unix epoch, into
// the stripe st. It returns the bucket it counted into, st's call count of
// that bucket just after it, and whether that bucket was still the head
// afterwards.
func (w *Time) count(st *callStripe, ns int64, failed, slow bool) (k, calls int64, head bool) {
	h := w.head.Load()
	if !failed && !slow && w.holdsOrAfter(h, ns) {
		// The common case, a success in the head bucket, or one timed
		// before it, which counts into it too: one compare-and-swap,
		// unless another goroutine wrote the word between its load and
		// the swap. (A late call through record cost a division: a
		// goroutine whose clock lagged another's by a bucket paid it on
		// every call, and parallel Record cost twice serial.)
		word := &st.calls[h&w.mask]
		if calls, ok := inc(word, w.tag(h)); ok {
			return h, calls, w.settled(h)
		}
		// Mostly another goroutine's write to this stripe: tell the
		// picker, which moves goroutines that keep colliding apart.
		w.pick.Contended()
	}
	return w.record(st, ns, h, failed, slow)
}

// record is count for every case; h is the head as count read it.
func (w *Time) record(st *callStripe, ns, h int64, failed, slow bool) (k, calls int64, head bool) {
	k = w.bucketNear(ns, h)
	for {
		if k < h {
			k = h // count into the newest bucket
		} else if k > h {
			far := w.before(h, k)
			if !w.head.CompareAndSwap(h, k) {
				h = w.head.Load()
				continue // another goroutine moved the head: look again
			}
			w.advance(h, k, far)
		}
		s, tag := &w.slots[k&w.mask], w.tag(k)
		n, ok := w.bump(&st.calls[k&w.mask], tag, k, 1)
		if !ok {
			h = w.head.Load()
			continue // the head lapped this slot meanwhile: count into the new head
		}
		calls = n
		// If the slot is lapped between these bumps, the call just
		// counted has left the window already, and so have its failure
		// and slowness: bump reports that and there is nothing to redo.
		if failed {
			w.bump(&s.failures, tag, k, 1)
		}
		if slow {
			w.bump(&s.slow, tag, k, 1)
		}
		return k, calls, w.settled(k)
	}
}

// settled reports whether k, the bucket a call was just counted into, is
// still the head. If not, the head moved on while the call was counted,
// and a cached sum of the buckets before the new head may have missed it:
// settled tells the cache so.
func (w *Time) settled(k int64) bool {
	if w.head.Load() != k {
		w.changed.Add(1)
		return false
	}
	return true
}

// inc is bump(word, tag, k, 1) for the common case, small enough to be
// inlined: the word holds tag already, is not saturated, and no other
// goroutine writes it between the load and the compare-and-swap. It
// reports false, having changed nothing, in every other case.
func inc(word *atomic.Uint64, tag uint32) (int64, bool) {
	old := word.Load()
	if uint32(old>>countBits) != tag || old&countMask == countMask || !word.CompareAndSwap(old, old+1) {
		return 0, false
	}
	return int64(old&countMask) + 1, true
}

// Sum returns the counts of the window that ends at now (or at the newest
// bucket recorded into, if now is older). It does not allocate. While the
// head stays in one bucket it reads the head bucket and a cached sum of
// the others; the first Sum after the head moves reads every bucket once.
func (w *Time) Sum(now time.Time) Counts {
	ns, h := w.nanos(now), w.head.Load()
	if h == noHead {
		return Counts{}
	}
	k := w.bucketNear(ns, h)
	if k <= h {
		// The window ends at the head: its older buckets no longer
		// change, so their sum can come from the cache.
		c := w.cachedOlder(h)
		c.add(w.bucketCounts(h&w.mask, w.tag(h)))
		return c
	}
	if uint64(k-h) >= uint64(1)<<w.shift {
		return Counts{} // nothing recorded within the window
	}
	// The window ends past the head, whose bucket still fills: no cache.
	c := w.sumOlder(k)
	c.add(w.bucketCounts(k&w.mask, w.tag(k)))
	return c
}

// cachedOlder returns the sums of the buckets before the head bucket h,
// from the cache if it holds them, else summed and cached.
func (w *Time) cachedOlder(h int64) Counts {
	if c, ok := w.cached(h); ok {
		return c
	}
	return w.cacheOlder(h)
}

// cached returns the cached sums of the buckets before the head bucket h,
// and whether the cache holds them.
func (w *Time) cached(h int64) (Counts, bool) {
	o := &w.older
	seq := o.seq.Load()
	if seq&1 != 0 || o.head.Load() != h || o.changed.Load() != w.changed.Load() {
		return Counts{}, false
	}
	c := Counts{Calls: o.calls.Load(), Failures: o.failures.Load(), Slow: o.slow.Load()}
	return c, o.seq.Load() == seq
}

// cacheOlder sums the buckets before the head bucket h, caches the sums
// and returns them.
func (w *Time) cacheOlder(h int64) Counts {
	// changed is read before the buckets: a write the sum below misses
	// bumps it afterwards, and so spoils the cache entry made from it.
	o, changed := &w.older, w.changed.Load()
	c := w.sumOlder(h)
	if seq := o.seq.Load(); seq&1 == 0 && o.seq.CompareAndSwap(seq, seq+1) {
		o.head.Store(h)
		o.changed.Store(changed)
		o.calls.Store(c.Calls)
		o.failures.Store(c.Failures)
		o.slow.Store(c.Slow)
		o.seq.Store(seq + 2)
	}
	return c
}

// sumOlder returns the sums of the buckets of the window that ends at
// bucket k, bucket k left out. It reads each of their slots once.
func (w *Time) sumOlder(k int64) Counts {
	var c Counts
	// Slot i holds bucket k's lap up to k's own slot, and the lap
	// before it past that: walking the slots in order needs no division.
	last, tag := k&w.mask, w.tag(k)
	for i := range int64(1) << w.shift {
		if i == last {
			tag = tagLive | (tag-1)&tagMask // the lap before
			continue
		}
		c.add(w.bucketCounts(i, tag))
	}
	return c
}

// bucketCounts returns what slot i holds for the lap tag, its calls
// summed over the stripes.
func (w *Time) bucketCounts(i int64, tag uint32) Counts {
	// Calls first: a writer bumps calls before failures and slow, so a
	// failure read later may belong to a call this read missed; the min
	// in countsWith keeps the bucket consistent.
	var calls int64
	for j := range w.stripes {
		n, _ := count(w.stripes[j].calls[i].Load(), tag)
		calls += n
	}
	if calls == 0 {
		return Counts{}
	}
	return w.slots[i].countsWith(tag, calls)
}

// countsWith returns what the slot holds for the lap tag, given that its
// calls counter held calls for tag just before.
func (s *slot) countsWith(tag uint32, calls int64) Counts {
	f, _ := count(s.failures.Load(), tag)
	sl, _ := count(s.slow.Load(), tag)
	return Counts{Calls: calls, Failures: min(f, calls), Slow: min(sl, calls)}
}

// add adds d to c, counter by counter.
func (c *Counts) add(d Counts) {
	c.Calls += d.Calls
	c.Failures += d.Failures
	c.Slow += d.Slow
}

// Reset forgets every call recorded. The newest time seen is kept, so a
// clock that stepped back before a Reset still counts into the newest
// bucket after it. A Record concurrent with Reset may or may not be
// forgotten.
func (w *Time) Reset() {
	for i := range w.slots {
		for j := range w.stripes {
			w.stripes[j].calls[i].Store(0)
		}
		s := &w.slots[i]
		s.failures.Store(0)
		s.slow.Store(0)
	}
	w.changed.Add(1) // after the stores: see cachedOlder
}

// farJump is what a slot held just before the head jumped to it from so
// far back that tags cannot be compared (see advance): its words.
type farJump struct {
	calls          [maxStripes]uint64 // by stripe
	failures, slow uint64
}

// before returns what advance needs to know from before the head moves
// from h to k: for a far jump, the words of k's slot.
func (w *Time) before(h, k int64) farJump {
	if h == noHead || uint64(k-h) < uint64(1)<<w.shift<<lapGapBits {
		return farJump{}
	}
	var far farJump
	for j := range w.stripes {
		far.calls[j] = w.stripes[j].calls[k&w.mask].Load()
	}
	s := &w.slots[k&w.mask]
	far.failures, far.slow = s.failures.Load(), s.slow.Load()
	return far
}

// advance re-tags the slots that the head passed on its way from old to k,
// so that they count from zero for their new lap. Only the goroutine whose
// compare-and-swap moved the head from old to k calls it, so the ranges of
// concurrent advances do not overlap. far is what before returned just
// ahead of that compare-and-swap.
func (w *Time) advance(old, k int64, far farJump) {
	if old == noHead {
		return // a new window holds only zero counts
	}
	n := int64(1) << w.shift
	if gap := uint64(k - old); gap >= uint64(n)<<lapGapBits {
		// Idle for 2^lapGapBits laps or more (a 16ms window idle for 99
		// days): the stored tags are too old to compare (see
		// lapGapBits), and all of them are outside the window. Clearing
		// every slot, as Reset does, also cleared the new head's, into
		// which writers that read the head may have counted already:
		// a call whose Record had returned was lost.
		for i := range n {
			j := k - i
			for st := range w.stripes {
				w.renew(&w.stripes[st].calls[j&w.mask], j, k, far.calls[st])
			}
			s := &w.slots[j&w.mask]
			w.renew(&s.failures, j, k, far.failures)
			w.renew(&s.slow, j, k, far.slow)
		}
		w.changed.Add(1) // a stale word that matched a tag is gone
		return
	} else if gap < uint64(n) {
		n = int64(gap)
	}
	for i := range n {
		j := k - i
		s, tag := &w.slots[j&w.mask], w.tag(j)
		for st := range w.stripes {
			w.bump(&w.stripes[st].calls[j&w.mask], tag, j, 0)
		}
		w.bump(&s.failures, tag, j, 0)
		w.bump(&s.slow, tag, j, 0)
	}
}

// renew re-tags word for bucket j, empty, after the head jumped to k from
// so far back that the tags the slots hold cannot be compared with j's.
// It keeps only what writers wrote since the jump: the count of the head
// bucket k, which writers that read the new head count into, and a word
// of a later lap than j's that the head, moving on past k meanwhile,
// wrote (one of a bucket no later than the head is now). Any
// other word is from before the jump, whatever its tag says. was is what
// k's slot held just before the jump: if it had k's tag already (its lap
// a multiple of 2^tagBits laps back), writers added to that old count,
// which is taken off.
func (w *Time) renew(word *atomic.Uint64, j, k int64, was uint64) {
	tag := w.tag(j)
	for {
		old := word.Load()
		t := uint32(old >> countBits)
		if t == tag && j == k {
			stale, _ := count(was, tag)
			if stale == 0 || word.CompareAndSwap(old, old-uint64(min(stale, int64(old&countMask)))) {
				return
			}
			continue
		}
		// The word is d laps ahead of j: it counts bucket j + d·buckets,
		// which a writer can only have written once the head reached it.
		// (Comparing laps alone kept a stale word of the lap the head is
		// in, of a bucket ahead of the head, that merely had that lap's
		// tag: the laps of k and of the old head had the same truncated
		// tag, and counts from before the jump came back a bucket later.)
		if d := (t - tag) & tagMask; t&tagLive != 0 && d != 0 && uint64(d)<<w.shift <= uint64(w.head.Load()-j) {
			return
		}
		if word.CompareAndSwap(old, uint64(tag)<<countBits) {
			return
		}
	}
}

// bump adds d to the count that word holds for bucket k, whose lap tag is
// tag; d = 0 just re-tags it. A word that holds an older lap is that
// bucket's previous occupant, outside the window: it is replaced in the same
// compare-and-swap that counts. A word that holds a newer lap means the head
// lapped this slot since k was read; bump then returns false and leaves it.
// (A word that only looks newer, while the head has not moved past k, is
// left over from a Reset racing a Record and is replaced.) It returns the
// count the word holds for tag afterwards.
func (w *Time) bump(word *atomic.Uint64, tag uint32, k int64, d uint64) (int64, bool) {
	for {
		old := word.Load()
		next := uint64(tag)<<countBits | d
		if t := uint32(old >> countBits); t == tag {
			if d == 0 || old&countMask == countMask {
				return int64(old & countMask), true // nothing to add, or saturated
			}
			next = old + d
		} else if newer(t, tag) && w.head.Load() > k {
			return 0, false
		}
		if word.CompareAndSwap(old, next) {
			return int64(next & countMask), true
		}
	}
}

// unixEpoch is what times without a monotonic reading are measured from.
var unixEpoch = time.Unix(0, 0)

// zeroTime is the panic of a window given the zero time.
const zeroTime = "window: a time window was given the zero time.Time: " +
	"a policy passes Call.At, which the breaker sets only for policies that ask for the time " +
	"(policy.NeedTime); a wrapper that hides what its policy needs from the breaker hides that request too"

// nanos returns where now lies on the window's line of time, in
// nanoseconds since the Unix epoch, saturated at the ends of an int64.
//
// A time with a monotonic reading, as the breaker's real clock gives, is
// placed by its monotonic distance from the window's anchor, the first such
// time the window saw: time.Time.Sub uses the monotonic readings when both
// times have one. So a step of the wall clock (NTP, a virtual machine
// resumed) moves no call between buckets: a step back does not pile an
// hour of failures into one window, and a step forward does not empty it.
// A time without one (a plain value, a mock clock) is placed by its wall
// time, which is then the only reading there is.
//
// The zero time panics: no call finished in the year 1, and a time-based
// policy that gets it was never given the time (see zeroTime).
func (w *Time) nanos(now time.Time) int64 {
	if w.anchored.Load() == 2 {
		d := now.Sub(w.anchor)
		if d == math.MinInt64 && now.IsZero() {
			panic(zeroTime)
		}
		return addSat(w.anchorNano, int64(d))
	}
	ns := wallNanos(now)
	if ns == math.MinInt64 && now.IsZero() {
		panic(zeroTime)
	}
	// Round(0) strips the monotonic reading: a time it changes has one.
	if now != now.Round(0) && w.anchored.CompareAndSwap(0, 1) {
		w.anchor, w.anchorNano = now, ns
		w.anchored.Store(2)
	}
	return ns
}

// Within these seconds since 1970, UnixNano is exact.
const (
	minExactSec = math.MinInt64/int64(time.Second) + 1
	maxExactSec = math.MaxInt64/int64(time.Second) - 1
)

// wallNanos returns t's wall time in nanoseconds since the Unix epoch,
// saturated at the ends of an int64: UnixNano where it is exact (every
// time from 1678 to 2262 but the last second at each end), else
// time.Time.Sub, which saturates but costs more.
func wallNanos(t time.Time) int64 {
	if s := t.Unix(); s >= minExactSec && s <= maxExactSec {
		return s*int64(time.Second) + int64(t.Nanosecond()) // UnixNano, without finding s twice
	}
	return int64(t.Sub(unixEpoch))
}

// addSat returns a + b, saturated at the ends of an int64.
func addSat(a, b int64) int64 {
	s := a + b
	if (s > a) != (b > 0) { // overflowed, or b == 0
		if b > 0 {
			return math.MaxInt64
		} else if b < 0 {
			return math.MinInt64
		}
	}
	return s
}

// bucket returns the index of the bucket that holds ns, a time in
// nanoseconds since the Unix epoch.
func (w *Time) bucket(ns int64) int64 {
	k := ns / w.width
	if ns < 0 && k*w.width != ns {
		k-- // round towards minus infinity before 1970 too
	}
	return max(k, noHead+1) // noHead stays a marker
}

// bucketNear is bucket(ns) for a caller that has read the head h: most
// times fall into the head bucket, and checking that takes a
// multiplication where bucket takes a division.
func (w *Time) bucketNear(ns, h int64) int64 {
	if w.holds(h, ns) {
		return h
	}
	return w.bucket(ns)
}

// holds reports whether bucket h holds ns. It is false for noHead, and
// for the few lowest buckets, which bucket finds instead.
func (w *Time) holds(h, ns int64) bool {
	if uint64(h-w.low) > uint64(w.high) {
		return false // h·width would overflow, or h is noHead
	}
	// ns - start is exact as a uint64 when ns >= start.
	start := h * w.width
	return ns >= start && uint64(ns-start) < uint64(w.width)
}

// holdsOrAfter reports whether ns falls in bucket h or before it, so that
// a call at ns counts into h: h is the head, and a time older than the
// head counts into it. Like holds, it is false for noHead and the few
// lowest buckets.
func (w *Time) holdsOrAfter(h, ns int64) bool {
	if uint64(h-w.low) > uint64(w.high) {
		return false
	}
	start := h * w.width
	return ns < start || uint64(ns-start) < uint64(w.width)
}

// tag is the lap tag of bucket k: its lap's low tagBits bits, and tagLive.
// (The shift is below 5; saying that it is below 64 spares a check of the
// shift.)
func (w *Time) tag(k int64) uint32 { return tagLive | uint32(k>>(w.shift&63))&tagMask }

// count returns the count a word holds for tag, and whether it holds tag.
// A sealed word (see seal) holds its tag without tagLive, and counts for
// the tag all the same; an empty word, all zero, counts nothing whatever
// the tag it seems to hold.
func count(word uint64, tag uint32) (int64, bool) {
	if uint32(word>>countBits)|tagLive != tag {
		return 0, false
	}
	return int64(word & countMask), true
}
