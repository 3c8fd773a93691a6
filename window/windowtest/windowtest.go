// Package windowtest holds brute-force models of the windows of package
// [github.com/tripwire-go/tripwire/window], for property tests.
//
// A model keeps every call it is given in a plain slice and answers a sum by
// scanning it. It knows the windows' documented bucket boundaries, so that a
// test can demand exact agreement instead of allowing for the buckets'
// imprecision. Models are not safe for concurrent use and grow without
// bound: they are for tests only.
package windowtest

import (
	"math"
	"time"

	"github.com/tripwire-go/tripwire/window"
)

// call is one recorded call, with the bucket it was counted into.
type call struct {
	bucket       int64
	failed, slow bool
}

// addTo counts x into c.
func (x call) addTo(c *window.Counts) {
	c.Calls++
	if x.failed {
		c.Failures++
	}
	if x.slow {
		c.Slow++
	}
}

// Time models [window.Time]. Build one with [NewTime]; it is not safe for
// concurrent use.
type Time struct {
	buckets, width int64
	head           int64 // newest bucket recorded into, valid once started
	started        bool
	calls          []call
	// The anchor is the first time with a monotonic reading the model
	// saw, in Record or in Sum, as the window's: see nanos.
	anchor   time.Time
	anchored bool
}

// NewTime returns a model of window.NewTime(over), bucketed as the window
// documents: [window.Buckets] buckets of over/Buckets each, halved in number
// while a bucket would be shorter than a nanosecond.
func NewTime(over time.Duration) *Time {
	ns := max(int64(over), 1)
	n := int64(window.Buckets)
	for n > ns {
		n /= 2
	}
	return &Time{buckets: n, width: ns / n}
}

// Width returns the length of one bucket.
func (m *Time) Width() time.Duration { return time.Duration(m.width) }

// Record keeps one call that finished at now, in the bucket of now or, if
// that is older, in the newest bucket recorded into so far.
func (m *Time) Record(now time.Time, marks window.Marks) {
	failed, slow := marks&window.Failed != 0, marks&window.Slow != 0
	k := m.bucket(now)
	if m.started && k < m.head {
		k = m.head
	}
	m.head, m.started = k, true
	m.calls = append(m.calls, call{k, failed, slow})
}

// Sum counts the calls whose bucket is within the window that ends at the
// bucket of now, or at the newest bucket if now is older.
func (m *Time) Sum(now time.Time) window.Counts {
	var c window.Counts
	// Placed before anything else: the window's Sum places now, and so
	// takes its anchor from it, even when it holds nothing yet.
	k := m.bucket(now)
	if !m.started {
		return c
	}
	end := max(k, m.head)
	for _, x := range m.calls {
		if x.bucket <= end && uint64(end-x.bucket) < uint64(m.buckets) { // no overflow near MinInt64
			x.addTo(&c)
		}
	}
	return c
}

// Reset forgets every call; like the window, it keeps the newest bucket.
func (m *Time) Reset() { m.calls = nil }

// nanos places now as the window documents: a time with a monotonic
// reading by its monotonic distance from the first such time seen (the
// anchor), placed at the anchor's wall time; any other time by its wall
// time. Both in nanoseconds since the Unix epoch, saturated at the ends of
// an int64 (time.Time.Sub saturates).
func (m *Time) nanos(now time.Time) int64 {
	epoch := time.Unix(0, 0)
	if m.anchored {
		a, d := int64(m.anchor.Sub(epoch)), int64(now.Sub(m.anchor))
		s := a + d
		switch {
		case d > 0 && s < a:
			return math.MaxInt64
		case d < 0 && s > a:
			return math.MinInt64
		}
		return s
	}
	if now != now.Round(0) {
		m.anchor, m.anchored = now, true
	}
	return int64(now.Sub(epoch))
}

// bucket is floor(nanos(now) / width): see nanos.
func (m *Time) bucket(now time.Time) int64 {
	ns := m.nanos(now)
	k := ns / m.width
	if ns < 0 && k*m.width != ns {
		k--
	}
	// The window keeps bucket MinInt64 as a marker, so in windows of 1ns
	// buckets the first nanosecond of int64 shares the next one's bucket.
	return max(k, math.MinInt64+1)
}

// Last models [window.Last]. Build one with [NewLast]; it is not safe for
// concurrent use.
type Last struct {
	n     int
	calls []call
}

// NewLast returns a model of window.NewLast(n).
func NewLast(n int) *Last { return &Last{n: max(n, 1)} }

// Record keeps one call.
func (m *Last) Record(marks window.Marks) {
	m.calls = append(m.calls, call{0, marks&window.Failed != 0, marks&window.Slow != 0})
}

// Sum counts the last n calls kept.
func (m *Last) Sum() window.Counts {
	var c window.Counts
	for _, x := range m.calls[max(len(m.calls)-m.n, 0):] {
		x.addTo(&c)
	}
	return c
}

// Reset forgets every call.
func (m *Last) Reset() { m.calls = nil }
