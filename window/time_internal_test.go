package window

import (
	"testing"
	"time"
)

// TestTimeSaturates fills a bucket's words to the brim (2^32-1 calls are
// too many to record one by one) and checks that further calls stop
// counting instead of carrying into the lap tag, which would move the
// bucket to another lap and lose it from the window.
func TestTimeSaturates(t *testing.T) {
	now := time.Unix(1e9, 0)
	w := NewTime(time.Minute)
	w.Record(now, true, true)
	k := w.bucket(now)
	s, full := &w.slots[k&w.mask()], uint64(w.tag(k))<<countBits|countMask
	s.calls.Store(full)
	s.failures.Store(full)
	s.slow.Store(full)
	w.Record(now, true, true)
	want := Counts{Calls: countMask, Failures: countMask, Slow: countMask}
	if got := w.Sum(now); got != want {
		t.Fatalf("Sum = %+v, want %+v", got, want)
	}
}
