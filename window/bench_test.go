package window_test

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/window"
)

// clocks are the two kinds of time a window is given: plain values (mock
// clocks, tests), placed by their wall time, and times with a monotonic
// reading (the breaker's real clock), placed by that reading.
func clocks() []struct {
	name  string
	start time.Time
} {
	mono, _ := epochs.Mono(epochs.Today)
	return []struct {
		name  string
		start time.Time
	}{{"plain", epochs.Today}, {"mono", mono}}
}

// BenchmarkTimeRecordSum is the cost of a time-window policy's Record: one
// success into the head bucket, judged from the cached sum, with the clock
// moving a microsecond a call (a new bucket every 3750 calls).
func BenchmarkTimeRecordSum(b *testing.B) {
	for _, c := range clocks() {
		b.Run("clock="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			w := window.NewTime(time.Minute)
			now := c.start
			for b.Loop() {
				now = now.Add(time.Microsecond)
				w.RecordSum(now, 0)
			}
		})
	}
}

// BenchmarkTimeRecordSumParallel is BenchmarkTimeRecordSum from every
// core, all at one time: the head bucket's counter is contended.
func BenchmarkTimeRecordSumParallel(b *testing.B) {
	for _, c := range clocks() {
		b.Run("clock="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			w := window.NewTime(time.Minute)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w.RecordSum(c.start, 0)
				}
			})
		})
	}
}

// BenchmarkTimeRecordLate is a success timed a bucket before the head, as
// on a goroutine whose clock lags another's that moved the head on: it
// counts into the head, and should cost what a success in it does.
func BenchmarkTimeRecordLate(b *testing.B) {
	for _, c := range clocks() {
		b.Run("clock="+c.name, func(b *testing.B) {
			w := window.NewTime(time.Minute)
			w.Record(c.start.Add(10*time.Second), 0)
			late := c.start.Add(5 * time.Second)
			b.ReportAllocs()
			for b.Loop() {
				w.RecordBounds(late, 0)
			}
		})
	}
}
