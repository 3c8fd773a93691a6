package group_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
)

// With EjectForget, a key ejected again soon after it came back stays out
// longer; one that stays healthy sheds its record (the law of
// breaker.Backoff.Forget).
func TestEjectionsRemember(t *testing.T) {
	g, clk, _ := newDetecting(t, group.Outliers{SuccessRate: &group.SuccessRateTest{}, EjectForget: 5 * time.Minute}, 0)
	eject := func() time.Duration {
		t.Helper()
		for i := range 9 {
			calls(t, g, fmt.Sprint("h", i), 100, 1)
		}
		calls(t, g, "bad", 100, 40)
		clk.Add(10 * time.Second)
		g.DetectOutliers()
		ts := mustGet(t, g, "bad").Transitions()
		last := ts[len(ts)-1]
		if last.To != breaker.Open || last.Cause != breaker.CauseExternal {
			t.Fatalf("bad not ejected: %+v", last)
		}
		return last.Until.Sub(last.At)
	}
	comeBack := func(after time.Duration) {
		t.Helper()
		clk.Add(after)
		calls(t, g, "bad", 3, 0) // three probes close it
		if st := mustGet(t, g, "bad").State(); st != breaker.Closed {
			t.Fatalf("bad is %v after its probes", st)
		}
	}
	if d := eject(); d != time.Minute {
		t.Fatalf("first ejection %v, want the key's open period, 1m", d)
	}
	comeBack(time.Minute)
	if d := eject(); d != 2*time.Minute {
		t.Fatalf("ejected again at once: %v, want 2m", d)
	}
	comeBack(2 * time.Minute)
	if d := eject(); d != 3*time.Minute {
		t.Fatalf("a third time: %v, want 3m", d)
	}
	comeBack(3*time.Minute + 10*time.Minute) // two EjectForgets healthy: three become one
	if d := eject(); d != 2*time.Minute {
		t.Fatalf("after 10m healthy: %v, want 2m (two of three forgiven)", d)
	}
}

func TestEjectForgetNegative(t *testing.T) {
	_, err := group.New(group.Config[string, int]{Outliers: &group.Outliers{SuccessRate: &group.SuccessRateTest{}, EjectForget: -1}})
	if err == nil {
		t.Fatal("a negative EjectForget was accepted")
	}
}
