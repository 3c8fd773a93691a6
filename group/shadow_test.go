package group_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
)

// A detector in shadow finds the outlier an enforcing one would open, says
// it would open it, with the same evidence, and opens nothing.
func TestShadowDetectorReportsAndOpensNothing(t *testing.T) {
	g, clk, seen := newDetecting(t, group.Outliers{SuccessRate: &group.SuccessRateTest{}, Shadow: true}, 0)
	for i := range 9 {
		calls(t, g, fmt.Sprint("h", i), 100, 1)
	}
	calls(t, g, "bad", 100, 40)
	clk.Add(10 * time.Second)
	got := g.DetectOutliers()
	if len(got) != 1 || got[0].Key != "bad" || !got[0].Opened || !got[0].Shadow || len(*seen) != 1 || (*seen)[0] != got[0] {
		t.Fatalf("outliers: %+v, OnOutlier: %+v", got, *seen)
	}
	if s := got[0].String(); !strings.Contains(s, "success-rate outlier, would open (shadow): 100 calls, 40.0% failed") {
		t.Fatalf("String: %s", s)
	}
	b := mustGet(t, g, "bad")
	if st := b.State(); st != breaker.Closed || len(b.Transitions()) != 0 {
		t.Fatalf("bad is %v, transitions %+v: the shadow changed its circuit", st, b.Transitions())
	}
	if st := g.OutlierStats(); st != (group.OutlierStats{Shadow: true, Evaluations: 1, Found: 1, Ejected: 1}) {
		t.Fatalf("OutlierStats: %+v", st)
	}
	// For its open period (the key's, a minute), the key counts as open
	// had the detector enforced: its calls are not judged, whatever they
	// are, and it is found again only once that period is over.
	for range 6 {
		calls(t, g, "bad", 100, 60)
		for i := range 9 {
			calls(t, g, fmt.Sprint("h", i), 100, 1)
		}
		clk.Add(10 * time.Second)
		if got := g.DetectOutliers(); len(got) != 0 {
			t.Fatalf("%v: outliers while the shadow holds bad open: %+v", clk.Now(), got)
		}
	}
	calls(t, g, "bad", 100, 60)
	for i := range 9 {
		calls(t, g, fmt.Sprint("h", i), 100, 1)
	}
	clk.Add(10 * time.Second)
	if got := g.DetectOutliers(); len(got) != 1 || got[0].Key != "bad" || !got[0].Opened {
		t.Fatalf("after the shadow's open period: %+v", got)
	}
	if st := g.OutlierStats(); st.Evaluations != 8 || st.Found != 2 || st.Ejected != 2 {
		t.Fatalf("OutlierStats: %+v", st)
	}
}

// In shadow, the caps are applied as if the detector enforced: of two
// outliers, the cap has room for one; the shadow says it would keep the
// other closed, and the group's KeptClosed lists nothing (nothing asked
// to open a key).
func TestShadowDetectorAppliesTheCaps(t *testing.T) {
	g, clk, _ := newDetecting(t, group.Outliers{SuccessRate: &group.SuccessRateTest{StdevFactor: 0.5}, MaxEjectedShare: 1, Shadow: true}, 0.1)
	for i := range 8 {
		calls(t, g, fmt.Sprint("h", i), 100, 0)
	}
	calls(t, g, "bad1", 100, 50)
	calls(t, g, "bad2", 100, 60)
	clk.Add(10 * time.Second)
	got := g.DetectOutliers()
	if len(got) != 2 || got[0].Key != "bad2" || !got[0].Opened || got[1].Opened || !got[1].Shadow {
		t.Fatalf("cap 10%% of 10 keys: %+v", got)
	}
	if s := got[1].String(); !strings.Contains(s, "would be kept closed (shadow)") {
		t.Fatalf("String: %s", s)
	}
	if k := g.KeptClosed(); len(k) != 0 {
		t.Fatalf("KeptClosed: %+v", k)
	}
	if open, _ := g.OpenLimit(); open != 0 {
		t.Fatalf("OpenLimit: %d open", open)
	}
	if st := g.OutlierStats(); st.Found != 2 || st.Ejected != 1 {
		t.Fatalf("OutlierStats: %+v", st)
	}
	// The next interval, bad2 would still be open: the cap has no room
	// for bad1 either.
	calls(t, g, "bad1", 100, 50)
	for i := range 8 {
		calls(t, g, fmt.Sprint("h", i), 100, 0)
	}
	clk.Add(10 * time.Second)
	if got := g.DetectOutliers(); len(got) != 1 || got[0].Key != "bad1" || got[0].Opened {
		t.Fatalf("the interval after: %+v", got)
	}
}

// OutlierStats counts an enforcing detector's openings too, and is zero
// without a detector.
func TestOutlierStats(t *testing.T) {
	g, clk, _ := newDetecting(t, group.Outliers{SuccessRate: &group.SuccessRateTest{}}, 0)
	for i := range 9 {
		calls(t, g, fmt.Sprint("h", i), 100, 1)
	}
	calls(t, g, "bad", 100, 40)
	clk.Add(10 * time.Second)
	g.DetectOutliers()
	if st := g.OutlierStats(); st != (group.OutlierStats{Evaluations: 1, Found: 1, Ejected: 1}) {
		t.Fatalf("OutlierStats: %+v", st)
	}
	plain, err := group.New(group.Config[string, int]{New: func(string) breaker.Config[int] { return breaker.Config[int]{} }})
	if err != nil {
		t.Fatal(err)
	}
	if st := plain.OutlierStats(); st != (group.OutlierStats{}) {
		t.Fatalf("without a detector: %+v", st)
	}
}
