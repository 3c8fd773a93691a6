package epochs

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func TestForNamesAndRanges(t *testing.T) {
	for _, width := range []time.Duration{0, 1, 3, time.Second / 16, 3750 * time.Millisecond, time.Hour, math.MaxInt64} {
		seen := map[string]bool{}
		for _, e := range For(width) {
			if seen[e.Name] {
				t.Errorf("For(%v): %q twice", width, e.Name)
			}
			seen[e.Name] = true
			if e.Why == "" {
				t.Errorf("For(%v): %q says not why", width, e.Name)
			}
			if e.At.After(FarEnd) || e.At.Before(FarPast) {
				t.Errorf("For(%v): %q at %v, outside [FarPast, FarEnd]", width, e.Name, e.At)
			}
		}
	}
	// 500ms windows have buckets of 31.25ms: their 32-bit lap tags of 16
	// buckets set the top bit at bucket 2^35 and wrap at 2^36.
	names := map[string]bool{}
	for _, e := range For(500 * time.Millisecond / 16) {
		names[e.Name] = true
	}
	for _, want := range []string{"today", "today+mono", "y2038", "far-end", "bucket=2^35", "bucket=2^36"} {
		if !names[want] {
			t.Errorf("For(31.25ms) lacks %q", want)
		}
	}
}

func TestBucketEpochsCrossTheirPowerOfTwo(t *testing.T) {
	w := 31250 * time.Microsecond
	for _, e := range For(w) {
		var n int
		if _, err := fmtSscanf(e.Name, &n); err != nil {
			continue
		}
		k := e.At.UnixNano() / int64(w)
		if k >= 1<<n || k+3 < 1<<n {
			t.Errorf("%s starts at bucket %d, want 3 before 2^%d", e.Name, k, n)
		}
	}
}

func TestMonoKeepsTheWallTime(t *testing.T) {
	for _, at := range []time.Time{Today, Y2038, Unix0} {
		m, ok := Mono(at)
		if !ok || !HasMono(m) || !m.Round(0).Equal(at) {
			t.Errorf("Mono(%v) = %v, %v", at, m, ok)
		}
	}
	if _, ok := Mono(FarEnd); ok {
		t.Error("Mono(FarEnd) claims a monotonic reading past 2157")
	}
	if HasMono(Today) {
		t.Error("HasMono(Today) = true for a plain date")
	}
}

func TestStepWallKeepsTheMonotonicReading(t *testing.T) {
	c := NewClock(Today)
	start := c.Now()
	c.Add(20 * time.Minute)
	c.StepWall(-time.Hour)
	now := c.Now()
	if got := now.Sub(start); got != 20*time.Minute {
		t.Errorf("Sub after a step back = %v, want the 20m that passed", got)
	}
	if got := now.Round(0).Sub(start.Round(0)); got != -40*time.Minute {
		t.Errorf("wall difference = %v, want -40m", got)
	}
	if !now.After(start) || !HasMono(now) {
		t.Errorf("after a wall step the clock lost its monotonic order: %v", now)
	}
	c.StepWall(2 * time.Hour)
	if got := c.Now().Sub(start); got != 20*time.Minute {
		t.Errorf("Sub after a step forward = %v, want 20m", got)
	}
}

func TestMockStartsAtTheEpoch(t *testing.T) {
	for _, e := range All() {
		if got := Mock(e.At).Now(); !got.Equal(e.At) {
			t.Errorf("%s: Mock starts at %v, want %v", e.Name, got, e.At)
		}
	}
}

func TestRunNamesSubtests(t *testing.T) {
	var ran []time.Time
	Run(t, All(), func(t *testing.T, start time.Time) { ran = append(ran, start) })
	if len(ran) != len(All()) {
		t.Fatalf("Run ran %d subtests, want %d", len(ran), len(All()))
	}
}

func fmtSscanf(name string, n *int) (int, error) { return fmt.Sscanf(name, "bucket=2^%d", n) }

func TestNowHasAMonotonicReading(t *testing.T) {
	if e := Now(); !HasMono(e.At) || e.Why == "" {
		t.Fatalf("Now() = %+v, want the real clock with a monotonic reading", e)
	}
}
