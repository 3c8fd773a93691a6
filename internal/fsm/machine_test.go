package fsm

import (
	"math"
	"testing"
	"time"
)

func TestSinceNanosSaturates(t *testing.T) {
	for _, c := range []struct {
		now, then int64
		want      time.Duration
	}{
		{10, 3, 7},
		{3, 10, -7},
		{math.MaxInt64, -1, math.MaxInt64},
		{math.MaxInt64, math.MinInt64, math.MaxInt64},
		{math.MinInt64, 1, math.MinInt64},
		{math.MinInt64, math.MaxInt64, math.MinInt64},
		{math.MaxInt64, math.MaxInt64, 0},
		{-5, math.MinInt64, math.MaxInt64 - 4},
	} {
		if got := sinceNanos(c.now, c.then); got != c.want {
			t.Errorf("sinceNanos(%d, %d) = %d, want %d", c.now, c.then, got, c.want)
		}
	}
}
