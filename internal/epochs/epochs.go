// Package epochs hands out the starting points that time-based tests run
// from, so that no test of tripwire runs only where a mock clock starts
// (1970) while production runs today.
//
// A fault of a time encoding shows at some dates only: a lap tag whose top
// bit is set, a count of seconds that no longer fits 32 bits, an int64 of
// nanoseconds near its end. Every test that drives time should run from
// each [Epoch] of [For] (or [All], for code without buckets), and with the
// wall clock stepped under it ([Clock.StepWall]), which is what NTP or a
// resumed virtual machine does to a real clock.
//
// Every epoch is a fixed instant, so a failing run repeats. The "+mono"
// epochs carry a monotonic reading, as times from [time.Now] do: their wall
// time is fixed, and the reading only ever matters relative to another
// time taken from it. Import it from tests only.
package epochs

import (
	"math"
	"strconv"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/benbjohnson/clock"
	"pgregory.net/rapid"
)

// Today stands for the date production runs at: fixed, not time.Now, so
// that a test repeats. Times like it have the high bits of their bucket
// index and lap tags set, which a 1970 start never reaches.
var Today = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)

// Y2038 is the first second whose count since 1970 does not fit an int32:
// code that keeps seconds, or the seconds of a lap, in 32 signed bits goes
// wrong from here.
var Y2038 = time.Date(2038, 1, 19, 3, 14, 8, 0, time.UTC)

// Y2106 is the first second whose count since 1970 does not fit a uint32.
var Y2106 = time.Date(2106, 2, 7, 6, 28, 16, 0, time.UTC)

// Day is how far past its start a test may drive the clock and stay within
// every epoch's range: FarEnd is a Day before the last nanosecond an int64
// count from 1970 holds.
const Day = 24 * time.Hour

// FarEnd is a Day before the last instant whose nanoseconds since 1970 fit
// an int64 (2262-04-11T23:47:16.854775807Z), the end of what
// time.Time.UnixNano and time.Duration arithmetic can express: sums and
// products of times and durations overflow near here.
var FarEnd = time.Unix(0, math.MaxInt64).Add(-Day).UTC()

// FarPast is the first instant whose nanoseconds since 1970 fit an int64
// (1677-09-21): negative counts, and the rounding of negative divisions,
// are tested here.
var FarPast = time.Unix(0, math.MinInt64).UTC()

// Unix0 is 1970-01-01T00:00:00Z, where a clock.Mock starts: the start
// every old test ran from. Kept so that the rounding at bucket 0 stays
// tested, never alone.
var Unix0 = time.Unix(0, 0).UTC()

// An Epoch is a starting point for a time-based test.
type Epoch struct {
	// Name names the subtest: "today", "y2038+mono", "bucket=2^35".
	Name string
	// At is where the test's clock starts.
	At time.Time
	// Why says what the epoch tests.
	Why string
}

// All returns the dates every time-based test runs from, whatever its
// encoding: today, past 2038 and 2106, the ends of int64 nanoseconds, 1970,
// and today and 2038 again with monotonic readings.
func All() []Epoch {
	es := []Epoch{
		{"today", Today, "where production runs: the high bits of every bucket index and lap tag are set"},
		{"y2038", Y2038, "seconds since 1970 no longer fit an int32"},
		{"y2106", Y2106, "seconds since 1970 no longer fit a uint32"},
		{"far-end", FarEnd, "a day before int64 nanoseconds since 1970 run out: sums of times and durations overflow"},
		{"far-past", FarPast, "the first instant int64 nanoseconds since 1970 hold: negative counts and their rounding"},
		{"unix0", Unix0, "where a mock clock starts; bucket 0 and the rounding around it"},
	}
	for _, e := range []Epoch{es[0], es[1]} {
		at, ok := Mono(e.At)
		if !ok {
			panic("epochs: no monotonic reading at " + e.At.String())
		}
		es = append(es, Epoch{e.Name + "+mono", at, e.Why + "; with a monotonic reading, as the real clock gives"})
	}
	return es
}

// Now is time.Now() as an epoch: the real clock, with its monotonic
// reading, as production reads it. It is not in All, because a failure
// from it does not repeat; add it to a test's epochs where the real
// clock's own behaviour is the point.
func Now() Epoch {
	return Epoch{"now", time.Now(), "the real clock, monotonic reading and all; a failure from here does not repeat"}
}

// For returns [All] and, for code that cuts time into buckets of width,
// a start a few buckets before each power of two of the bucket index
// (nanoseconds since 1970 divided by width), up to FarEnd. Any tag made of
// the low bits of the bucket index, or of a lap of a power-of-two number of
// buckets, wraps at one of them, and its top bit sets at the one before:
// a test from each crosses every wrap early in its run. A width below one
// nanosecond returns All.
func For(width time.Duration) []Epoch {
	es := All()
	if width <= 0 {
		return es
	}
	w := int64(width)
	for n := 12; n < 63; n++ {
		if w > (math.MaxInt64-int64(Day))>>n {
			break // the boundary lies past FarEnd
		}
		boundary := w << n
		es = append(es, Epoch{
			Name: "bucket=2^" + strconv.Itoa(n),
			At:   time.Unix(0, boundary-3*w).UTC(),
			Why:  "three buckets of " + width.String() + " before bucket 2^" + strconv.Itoa(n) + ": a tag of the index's low bits wraps or sets its top bit here",
		})
	}
	return es
}

// Run runs test as a subtest of t from each epoch.
func Run(t *testing.T, es []Epoch, test func(t *testing.T, start time.Time)) {
	t.Helper()
	for _, e := range es {
		t.Run(e.Name, func(t *testing.T) { test(t, e.At) })
	}
}

// Gen draws one of es, for rapid properties: a property runs from a
// different epoch on each of its runs, and a failure shrinks to the first.
func Gen(es []Epoch) *rapid.Generator[Epoch] { return rapid.SampledFrom(es) }

// Mock returns a mock clock set to at. A clock.Mock starts at 1970; every
// test clock must start at an epoch instead.
func Mock(at time.Time) *clock.Mock {
	m := clock.NewMock()
	m.Set(at)
	return m
}

// HasMono reports whether t carries a monotonic reading. Round(0) strips
// it, and changes nothing else.
func HasMono(t time.Time) bool { return t != t.Round(0) }

// Mono returns t's instant with a monotonic reading, as if read from
// time.Now: time.Time.Add moves the wall time and the reading together, so
// adding to a fresh time.Now() what separates it from t gives t's wall
// time and a reading. Go keeps a monotonic reading only for wall times
// from 1885 to 2157; for others, and for times further than 292 years from
// now, it reports false. The result is in time.Local: In, UTC and Local
// strip a monotonic reading.
//
// The check compares wall times: two monotonic readings taken a moment
// apart differ from their wall times by what the system clock was slewed
// in between, so a t that carries one of its own would not be Equal.
func Mono(t time.Time) (time.Time, bool) {
	if HasMono(t) {
		return t, true
	}
	now := time.Now()
	m := now.Add(t.Sub(now.Round(0)))
	if !HasMono(m) || !m.Round(0).Equal(t.Round(0)) {
		return time.Time{}, false
	}
	return m, true
}

// A Clock is a test clock that behaves like the real one: its times carry
// a monotonic reading, time passes for both readings (Add), and the wall
// clock alone can step (StepWall), as when NTP corrects it or a virtual
// machine resumes. Code that compares times with time.Time.Sub, Before or
// After follows the monotonic reading and does not see the step; code that
// uses Unix, UnixNano or Round(0) does. It satisfies breaker.Clock, and is
// safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock at at's wall time, with a monotonic reading. It
// panics if at cannot carry one (see [Mono]).
func NewClock(at time.Time) *Clock {
	m, ok := Mono(at)
	if !ok {
		panic("epochs: no monotonic reading at " + at.String())
	}
	return &Clock{now: m}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add lets d pass: both readings move on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// StepWall steps the wall clock by d (back when d < 0) and leaves the
// monotonic reading where it is.
func (c *Clock) StepWall(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = StepWall(c.now, d)
}

// timeLayout is time.Time's layout: with a monotonic reading, wall holds
// the wall time and ext the reading.
type timeLayout struct {
	wall uint64
	ext  int64
	loc  *time.Location
}

// StepWall returns t with its wall time moved by d and its monotonic
// reading unchanged: the time a real clock reads after its wall clock was
// stepped by d. No exported API of package time separates the two
// readings, so it sets the reading through time.Time's layout, and checks
// the result: it panics if t has no monotonic reading, if t+d cannot carry
// one, or if the layout of time.Time ever changes.
func StepWall(t time.Time, d time.Duration) time.Time {
	if !HasMono(t) {
		panic("epochs: StepWall needs a time with a monotonic reading (see Mono)")
	}
	s := t.Add(d)
	if !HasMono(s) || unsafe.Sizeof(s) != unsafe.Sizeof(timeLayout{}) {
		panic("epochs: cannot step the wall clock of " + t.String() + " by " + d.String())
	}
	(*timeLayout)(unsafe.Pointer(&s)).ext = (*timeLayout)(unsafe.Pointer(&t)).ext
	if s.Sub(t) != 0 || s.Round(0).Sub(t.Round(0)) != d {
		panic("epochs: the layout of time.Time changed: StepWall cannot step the wall clock")
	}
	return s
}
