package breaker

import (
	"testing"
	"time"
)

var (
	sinkTime     time.Time
	sinkDuration time.Duration
)

// BenchmarkClock keeps the measurement behind realClock and coarseClock:
// what time.Now, time.Since (the monotonic clock alone), the breaker's
// real clock and the coarse clock of the time-window policies cost.
func BenchmarkClock(b *testing.B) {
	b.Run("clock=time.Now", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkTime = time.Now()
		}
	})
	b.Run("clock=time.Since", func(b *testing.B) {
		base := time.Now()
		b.ReportAllocs()
		for b.Loop() {
			sinkDuration = time.Since(base)
		}
	})
	b.Run("clock=real", func(b *testing.B) {
		c := newRealClock()
		b.ReportAllocs()
		for b.Loop() {
			sinkTime = c.Now()
		}
	})
	// What a closed call of a time-window policy reads instead (see
	// coarseClock): the real clock once per period.
	b.Run("clock=coarse", func(b *testing.B) {
		c := newCoarseClock(newRealClock(), time.Second)
		defer c.timer.Stop()
		b.ReportAllocs()
		for b.Loop() {
			sinkTime = c.Now()
		}
	})
}
