package group_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// newDetecting returns a group on a mock clock whose keys' own policies
// never trip in these tests (Consecutive(1000)), with the detector given.
func newDetecting(t *testing.T, o group.Outliers, share float64) (*group.Group[string, int], *clock.Mock, *[]group.Outlier[string]) {
	t.Helper()
	clk := epochs.Mock(epochs.Today)
	var seen []group.Outlier[string]
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1000), OpenTimeout: time.Minute}
		},
		Outliers:     &o,
		OnOutlier:    func(o group.Outlier[string]) { seen = append(seen, o) },
		MaxOpenShare: share,
		Clock:        clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g, clk, &seen
}

// calls runs n calls of key, the first failures of them failing.
func calls(t *testing.T, g *group.Group[string, int], key string, n, failures int) {
	t.Helper()
	for i := range n {
		var err error
		if i < failures {
			err = errDown
		}
		_, got := g.Execute(context.Background(), key, func(context.Context) (int, error) { return 0, err })
		if errors.Is(got, breaker.ErrOpen) {
			t.Fatalf("%s: call %d rejected", key, i)
		}
	}
}

func TestSuccessRateOutlierOpens(t *testing.T) {
	g, clk, seen := newDetecting(t, group.Outliers{SuccessRate: &group.SuccessRateTest{}}, 0)
	for i := range 9 {
		calls(t, g, fmt.Sprint("h", i), 100, 1)
	}
	calls(t, g, "bad", 100, 40)
	clk.Add(10 * time.Second)
	mustGet(t, g, "h0") // the Get that finds the evaluation due runs it
	if st := mustGet(t, g, "bad").State(); st != breaker.Open {
		t.Fatalf("bad is %v, want open", st)
	}
	if len(*seen) != 1 || (*seen)[0].Key != "bad" || !(*seen)[0].Opened || (*seen)[0].Test != "success-rate" {
		t.Fatalf("outliers: %+v", *seen)
	}
	o := (*seen)[0]
	if o.Calls != 100 || o.FailureRate != 0.4 || o.Keys != 10 {
		t.Fatalf("outlier %+v", o)
	}
	if s := o.String(); !strings.Contains(s, "success-rate outlier, opened: 100 calls, 40.0% failed") {
		t.Fatalf("String: %s", s)
	}
	// The transition says who opened the key and why.
	ts := mustGet(t, g, "bad").Transitions()
	if ev := ts[len(ts)-1].Evidence; ev == nil || ev.Who != "group outlier detection" ||
		!strings.Contains(ev.Why, "success-rate outlier: 100 calls, 40.0% failed") {
		t.Fatalf("evidence of the opening: %+v", ev)
	}
	for i := range 9 {
		if st := mustGet(t, g, fmt.Sprint("h", i)).State(); st != breaker.Closed {
			t.Fatalf("healthy h%d is %v", i, st)
		}
	}
	// The open period is the key's own, then probes decide.
	clk.Add(time.Minute)
	if st := mustGet(t, g, "bad").State(); st != breaker.HalfOpen {
		t.Fatalf("bad is %v after its open period, want half-open", st)
	}
}

func TestNoOutlierBeforeTheIntervalOrBelowTheVolume(t *testing.T) {
	g, clk, seen := newDetecting(t, group.Outliers{SuccessRate: &group.SuccessRateTest{}}, 0)
	for i := range 9 {
		calls(t, g, fmt.Sprint("h", i), 100, 0)
	}
	calls(t, g, "bad", 99, 99) // one call short of the volume
	clk.Add(9 * time.Second)
	if g.DetectOutliers() != nil {
		t.Fatal("evaluated before the interval")
	}
	clk.Add(time.Second)
	g.DetectOutliers()
	if len(*seen) != 0 {
		t.Fatalf("outliers: %+v", *seen)
	}
	// Counts are per interval: the next one starts from zero.
	calls(t, g, "bad", 1, 1)
	clk.Add(10 * time.Second)
	g.DetectOutliers()
	if len(*seen) != 0 {
		t.Fatalf("outliers after a quiet interval: %+v", *seen)
	}
}

func TestTooFewKeysNoOutlier(t *testing.T) {
	g, clk, seen := newDetecting(t, group.Outliers{SuccessRate: &group.SuccessRateTest{}}, 0)
	for i := range 3 {
		calls(t, g, fmt.Sprint("h", i), 100, 0)
	}
	calls(t, g, "bad", 100, 100)
	clk.Add(10 * time.Second)
	g.DetectOutliers()
	if len(*seen) != 0 {
		t.Fatalf("4 keys judged, MinKeys 5: %+v", *seen)
	}
}

// When every key fails alike, none stands out: the whole service is down,
// and the keys' own policies decide.
func TestAllKeysFailingAlikeNoOutlier(t *testing.T) {
	g, clk, seen := newDetecting(t, group.Outliers{
		SuccessRate: &group.SuccessRateTest{},
		FailureRate: &group.FailureRateTest{},
	}, 0)
	for i := range 10 {
		// 10%, 30% ... of different volumes: the same rate, rounded alike.
		calls(t, g, fmt.Sprint("h", i), 100*(i%3+1), 90*(i%3+1))
	}
	clk.Add(10 * time.Second)
	g.DetectOutliers()
	if len(*seen) != 0 {
		t.Fatalf("outliers: %+v", *seen)
	}
}

func TestFailureRateOutlier(t *testing.T) {
	g, clk, seen := newDetecting(t, group.Outliers{FailureRate: &group.FailureRateTest{}}, 0)
	for i := range 5 {
		calls(t, g, fmt.Sprint("h", i), 50, 40) // 80%: under 85%
	}
	calls(t, g, "bad", 50, 45) // 90%
	clk.Add(10 * time.Second)
	g.DetectOutliers()
	if len(*seen) != 1 || (*seen)[0].Key != "bad" || (*seen)[0].Test != "failure-rate" || (*seen)[0].Threshold != 0.85 {
		t.Fatalf("outliers: %+v", *seen)
	}
}

// The detector opens at most MaxEjectedShare of the keys (at least one),
// worst first, and the group's cap applies to it too.
func TestDetectorBoundedByMaxEjectedShareAndCap(t *testing.T) {
	g, clk, seen := newDetecting(t, group.Outliers{SuccessRate: &group.SuccessRateTest{StdevFactor: 0.5}}, 0)
	for i := range 8 {
		calls(t, g, fmt.Sprint("h", i), 100, 0)
	}
	calls(t, g, "bad1", 100, 50)
	calls(t, g, "bad2", 100, 60)
	clk.Add(10 * time.Second)
	g.DetectOutliers()
	if len(*seen) != 2 || (*seen)[0].Key != "bad2" || !(*seen)[0].Opened || (*seen)[1].Opened {
		t.Fatalf("want bad2 opened, bad1 not (10%% of 10 keys): %+v", *seen)
	}

	g2, clk2, seen2 := newDetecting(t, group.Outliers{SuccessRate: &group.SuccessRateTest{StdevFactor: 0.5}, MaxEjectedShare: 1}, 0.1)
	for i := range 8 {
		calls(t, g2, fmt.Sprint("h", i), 100, 0)
	}
	calls(t, g2, "bad1", 100, 50)
	calls(t, g2, "bad2", 100, 60)
	clk2.Add(10 * time.Second)
	g2.DetectOutliers()
	if len(*seen2) != 2 || !(*seen2)[0].Opened || (*seen2)[1].Opened {
		t.Fatalf("cap 10%%: %+v", *seen2)
	}
	kept := g2.KeptClosed()
	if len(kept) != 1 || kept[0].Key != "bad1" || kept[0].By != "outlier" {
		t.Fatalf("KeptClosed: %+v", kept)
	}
}

func TestOutliersConfigErrors(t *testing.T) {
	newCfg := func(string) breaker.Config[int] { return breaker.Config[int]{} }
	for _, tc := range []struct {
		o     group.Outliers
		field string
	}{
		{group.Outliers{}, "Outliers.SuccessRate"},
		{group.Outliers{SuccessRate: &group.SuccessRateTest{}, Interval: -1}, "Outliers.Interval"},
		{group.Outliers{SuccessRate: &group.SuccessRateTest{StdevFactor: -1}}, "Outliers.SuccessRate.StdevFactor"},
		{group.Outliers{SuccessRate: &group.SuccessRateTest{NoiseFactor: math.Inf(1)}}, "Outliers.SuccessRate.NoiseFactor"},
		{group.Outliers{SuccessRate: &group.SuccessRateTest{MinGap: -0.1}}, "Outliers.SuccessRate.MinGap"},
		{group.Outliers{FailureRate: &group.FailureRateTest{Threshold: 2}}, "Outliers.FailureRate.Threshold"},
		{group.Outliers{FailureRate: &group.FailureRateTest{MinKeys: -1}}, "Outliers.FailureRate.MinKeys"},
		{group.Outliers{SuccessRate: &group.SuccessRateTest{}, MaxEjectedShare: 1.1}, "Outliers.MaxEjectedShare"},
		{group.Outliers{SuccessRate: &group.SuccessRateTest{}, EjectFor: -time.Second}, "Outliers.EjectFor"},
	} {
		_, err := group.New(group.Config[string, int]{New: newCfg, Outliers: &tc.o})
		var ce *group.ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || !errors.Is(err, breaker.ErrInvalidConfig) {
			t.Errorf("%+v: got %v, want a ConfigError for %s", tc.o, err, tc.field)
		}
	}
}

// The fault: Envoy's success-rate test compares a key with the spread of
// its siblings, and when failures are rare that spread is binomial noise.
// Ten healthy keys failing about 1% of 200 calls: one that failed 5 (2.5%)
// is 3 deviations below the mean success rate, and was ejected. At its
// volume, 5 failures where 2.3 are expected is chance (1.5 deviations of
// binomial noise, on the arcsine scale), and the noise test keeps it.
func TestSuccessRateOpensHealthyKeyOnNoise(t *testing.T) {
	traffic := func(g *group.Group[string, int]) {
		for i := range 9 {
			calls(t, g, fmt.Sprint("h", i), 200, 2)
		}
		calls(t, g, "unlucky", 200, 5)
	}
	g, clk, seen := newDetecting(t, group.Outliers{SuccessRate: &group.SuccessRateTest{}}, 0)
	traffic(g)
	clk.Add(10 * time.Second)
	g.DetectOutliers()
	if len(*seen) != 0 {
		t.Fatalf("a healthy key opened on noise: %+v", *seen)
	}
	// Envoy's test alone (NoNoiseTest) finds it, as it did.
	g, clk, seen = newDetecting(t, group.Outliers{SuccessRate: &group.SuccessRateTest{NoiseFactor: group.NoNoiseTest}}, 0)
	traffic(g)
	clk.Add(10 * time.Second)
	g.DetectOutliers()
	if len(*seen) != 1 || (*seen)[0].Key != "unlucky" {
		t.Fatalf("without the noise test: %+v", *seen)
	}
}

// The noise test scales with volume: the same 2.5% against 1% is chance at
// 200 calls and no chance at 20,000; MinGap then still keeps a key whose
// rate is not far enough from the mean to be worth an ejection.
func TestSuccessRateNoiseTestScalesWithVolumeAndMinGap(t *testing.T) {
	for _, tc := range []struct {
		gap  float64
		want int
	}{{0, 1}, {0.02, 0}} {
		g, clk, seen := newDetecting(t, group.Outliers{SuccessRate: &group.SuccessRateTest{MinGap: tc.gap}}, 0)
		for i := range 9 {
			calls(t, g, fmt.Sprint("h", i), 20000, 200)
		}
		calls(t, g, "worse", 20000, 500)
		clk.Add(10 * time.Second)
		g.DetectOutliers()
		if len(*seen) != tc.want {
			t.Fatalf("MinGap %v: outliers %+v, want %d", tc.gap, *seen, tc.want)
		}
		if tc.want == 1 {
			o := (*seen)[0]
			if o.Key != "worse" || !(o.Threshold > o.Mean && o.Threshold < o.FailureRate) {
				t.Fatalf("MinGap %v: %+v", tc.gap, o)
			}
		}
	}
}
