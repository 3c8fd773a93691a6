package group

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// With real time, Get reads the flag a timer raises. A flag raised ahead of
// the clock (the timer ran early, or DetectOutliers was called before the
// interval ended) must be lowered by the evaluation that finds nothing to
// do, or every Get would try an evaluation until the interval ends.
func TestEarlyDetectorFlagIsLowered(t *testing.T) {
	g, err := New(Config[string, int]{
		New:      func(string) breaker.Config[int] { return breaker.Config[int]{} },
		Outliers: &Outliers{Interval: time.Hour, SuccessRate: &SuccessRateTest{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.detect.timer.Stop()
	g.detect.due.Store(true)
	if _, err := g.Get("a"); err != nil {
		t.Fatal(err)
	}
	if g.detect.due.Load() {
		t.Fatal("the flag is still raised after an evaluation that was not due")
	}
}
