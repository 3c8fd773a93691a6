package group_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
	"pgregory.net/rapid"
)

// When every key fails alike (the same share of its calls, whatever its
// volume), the detector finds no outlier, with either test and any
// settings: the whole service is down, and the keys' own policies decide.
func TestDetectionNeverFiresWhenAllKeysFailAlike(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		clk := epochs.Mock(epochs.Today)
		o := group.Outliers{Interval: time.Second, MaxEjectedShare: 1, Shadow: rapid.Bool().Draw(rt, "shadow")}
		if rapid.Bool().Draw(rt, "successRate") {
			o.SuccessRate = &group.SuccessRateTest{
				MinVolume:   rapid.IntRange(1, 20).Draw(rt, "srVolume"),
				MinKeys:     rapid.IntRange(1, 6).Draw(rt, "srKeys"),
				StdevFactor: rapid.Float64Range(0.01, 3).Draw(rt, "factor"),
				// The noise test and its floor, off or on: neither may
				// make keys that fail alike stand out.
				NoiseFactor: rapid.SampledFrom([]float64{group.NoNoiseTest, 0, 0.01, 1, 4}).Draw(rt, "noise"),
				MinGap:      rapid.SampledFrom([]float64{0, 0.001, 0.05}).Draw(rt, "gap"),
			}
		}
		if o.SuccessRate == nil || rapid.Bool().Draw(rt, "failureRate") {
			o.FailureRate = &group.FailureRateTest{
				MinVolume: rapid.IntRange(1, 20).Draw(rt, "frVolume"),
				MinKeys:   rapid.IntRange(1, 6).Draw(rt, "frKeys"),
				Threshold: rapid.Float64Range(0.01, 1).Draw(rt, "threshold"),
			}
		}
		var found []group.Outlier[string]
		g, err := group.New(group.Config[string, int]{
			New: func(string) breaker.Config[int] {
				return breaker.Config[int]{Policy: policy.Consecutive(1 << 20)}
			},
			Clock:     clk,
			Outliers:  &o,
			OnOutlier: func(o group.Outlier[string]) { found = append(found, o) },
		})
		if err != nil {
			rt.Fatal(err)
		}
		// A rate a/b, and each key a multiple of it.
		b := rapid.IntRange(1, 20).Draw(rt, "b")
		a := rapid.IntRange(0, b).Draw(rt, "a")
		n := rapid.IntRange(1, 12).Draw(rt, "keys")
		for round := range rapid.IntRange(1, 3).Draw(rt, "rounds") {
			for k := range n {
				m := rapid.IntRange(1, 6).Draw(rt, "multiple")
				for i := range m * b {
					var err error
					if i < m*a {
						err = errDown
					}
					g.Execute(context.Background(), fmt.Sprint("k", k), func(context.Context) (int, error) { return 0, err })
				}
			}
			clk.Add(time.Second)
			g.DetectOutliers()
			if len(found) > 0 {
				rt.Fatalf("round %d: every key failed %d/%d of its calls, and the detector found %+v", round, a, b, found)
			}
		}
	})
}
