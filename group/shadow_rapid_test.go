package group_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
	"pgregory.net/rapid"
)

// drawOutliers draws a detector's settings that find outliers often on
// the small traffic of these tests.
func drawOutliers(rt *rapid.T) group.Outliers {
	o := group.Outliers{
		Interval:        time.Second,
		MaxEjectedShare: rapid.SampledFrom([]float64{0, 0.3, 1}).Draw(rt, "maxEjected"),
		EjectFor:        rapid.SampledFrom([]time.Duration{0, time.Second, 3 * time.Second}).Draw(rt, "ejectFor"),
		EjectForget:     rapid.SampledFrom([]time.Duration{0, 2 * time.Second}).Draw(rt, "ejectForget"),
	}
	if rapid.Bool().Draw(rt, "successRate") {
		o.SuccessRate = &group.SuccessRateTest{
			MinVolume:   rapid.IntRange(1, 6).Draw(rt, "srVolume"),
			MinKeys:     rapid.IntRange(2, 4).Draw(rt, "srKeys"),
			StdevFactor: rapid.SampledFrom([]float64{0.3, 1, 1.9}).Draw(rt, "factor"),
			NoiseFactor: rapid.SampledFrom([]float64{group.NoNoiseTest, 0.5, 0}).Draw(rt, "noise"),
		}
	}
	if o.SuccessRate == nil || rapid.Bool().Draw(rt, "failureRate") {
		o.FailureRate = &group.FailureRateTest{
			MinVolume: rapid.IntRange(1, 6).Draw(rt, "frVolume"),
			MinKeys:   rapid.IntRange(2, 4).Draw(rt, "frKeys"),
			Threshold: rapid.SampledFrom([]float64{0.3, 0.5, 0.85}).Draw(rt, "threshold"),
		}
	}
	return o
}

// outcome is what a call through a group came to: its error, reduced to
// what a caller tells apart.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, breaker.ErrOpen):
		return "rejected"
	case errors.Is(err, group.ErrFull):
		return "full"
	case errors.Is(err, errDown):
		return "failed"
	}
	return err.Error()
}

// A detector in shadow never rejects a call: on any traffic, with keys'
// own policies tripping, manual opens and resets, and a cap, every call
// through a group with a shadow detector comes out as it does through the
// same group without a detector, every key is in the same state, and no
// key's circuit ever shows a transition of the detector. (Not with
// evictions: of keys idle alike, which a full group evicts follows the
// order of a map, so two groups cannot be compared call for call.)
func TestShadowDetectorChangesNoCall(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		o := drawOutliers(rt)
		o.Shadow = true
		share := rapid.SampledFrom([]float64{0, 0.3, 0.5}).Draw(rt, "share")
		keepOne := rapid.Bool().Draw(rt, "keepOne")
		clk := epochs.Mock(epochs.Today)
		var outliers []group.Outlier[string]
		build := func(o *group.Outliers) *group.Group[string, int] {
			g, err := group.New(group.Config[string, int]{
				New: func(string) breaker.Config[int] {
					return breaker.Config[int]{Policy: policy.Consecutive(3), OpenTimeout: 2 * time.Second, HalfOpenProbes: 1}
				},
				Clock:         clk,
				Outliers:      o,
				OnOutlier:     func(o group.Outlier[string]) { outliers = append(outliers, o) },
				MaxOpenShare:  share,
				KeepOneClosed: keepOne,
			})
			if err != nil {
				rt.Fatal(err)
			}
			return g
		}
		shadow, plain := build(&o), build(nil)
		both := []*group.Group[string, int]{shadow, plain}
		key := rapid.Custom(func(rt *rapid.T) string { return fmt.Sprint("k", rapid.IntRange(0, 7).Draw(rt, "key")) })
		rt.Repeat(map[string]func(*rapid.T){
			"call": func(rt *rapid.T) {
				k := key.Draw(rt, "k")
				var want error
				if rapid.IntRange(0, 3).Draw(rt, "fails") == 0 {
					want = errDown
				}
				var got [2]string
				for i, g := range both {
					_, err := g.Execute(context.Background(), k, func(context.Context) (int, error) { return 0, want })
					got[i] = outcome(err)
				}
				if got[0] != got[1] {
					rt.Fatalf("a call of %s: %s with the shadow detector, %s without", k, got[0], got[1])
				}
			},
			"trip": func(rt *rapid.T) {
				k := key.Draw(rt, "k")
				for _, g := range both {
					if b, err := g.Get(k); err == nil {
						b.Trip()
					}
				}
			},
			"reset": func(rt *rapid.T) {
				k := key.Draw(rt, "k")
				for _, g := range both {
					if b, err := g.Get(k); err == nil {
						b.Reset()
					}
				}
			},
			"wait": func(rt *rapid.T) {
				clk.Add(rapid.SampledFrom([]time.Duration{500 * time.Millisecond, time.Second, 3 * time.Second}).Draw(rt, "d"))
			},
			"detect": func(rt *rapid.T) {
				for _, o := range shadow.DetectOutliers() {
					if !o.Shadow {
						rt.Fatalf("an outlier of the shadow detector not marked shadow: %+v", o)
					}
				}
			},
			"": func(rt *rapid.T) {
				states := func(g *group.Group[string, int]) []string {
					var s []string
					for k, b := range g.All() {
						m := b.Metrics()
						s = append(s, k+":"+m.State.String())
						for _, tr := range b.Transitions() {
							if ev := tr.Evidence; ev != nil && ev.Who == "group outlier detection" {
								rt.Fatalf("%s: the shadow detector changed its circuit: %+v", k, tr)
							}
						}
					}
					slices.Sort(s)
					return s
				}
				if a, b := states(shadow), states(plain); !slices.Equal(a, b) {
					rt.Fatalf("keys with the shadow detector %v, without %v", a, b)
				}
			},
		})
		st := shadow.OutlierStats()
		if int(st.Found) != len(outliers) || !st.Shadow {
			rt.Fatalf("OutlierStats %+v, %d outliers reported", st, len(outliers))
		}
	})
}

// A detector in shadow reports the ejections an enforcing one makes. Two
// groups, the same but for Shadow, get the same calls, interval after
// interval; the keys' own policies never trip. As long as neither
// detector has opened (or would have opened) a key, the traffic of both is
// the same, and each interval's outliers must be the same, each opened in
// the one exactly when it would be in the other, caps included. The first
// interval with an ejection is compared too: it is the first where the
// two could diverge (from then on the enforcing group rejects calls that
// the shadow lets through), and it is the one that matters, since it is
// the ejection a user trialling the shadow would see first.
func TestShadowReportsTheEjectionsOfAnEnforcingDetector(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		o := drawOutliers(rt)
		share := rapid.SampledFrom([]float64{0, 0.2, 0.5}).Draw(rt, "share")
		keepOne := rapid.Bool().Draw(rt, "keepOne")
		clk := epochs.Mock(epochs.Today)
		build := func(shadow bool) *group.Group[string, int] {
			o := o
			o.Shadow = shadow
			g, err := group.New(group.Config[string, int]{
				New: func(string) breaker.Config[int] {
					return breaker.Config[int]{Policy: policy.Consecutive(1 << 20), OpenTimeout: 2 * time.Second}
				},
				Clock:         clk,
				Outliers:      &o,
				MaxOpenShare:  share,
				KeepOneClosed: keepOne,
			})
			if err != nil {
				rt.Fatal(err)
			}
			return g
		}
		shadow, enforcing := build(true), build(false)
		n := rapid.IntRange(2, 8).Draw(rt, "keys")
		for round := range rapid.IntRange(1, 6).Draw(rt, "rounds") {
			for k := range n {
				calls := rapid.IntRange(0, 8).Draw(rt, "calls")
				failures := rapid.IntRange(0, calls).Draw(rt, "failures")
				for i := range calls {
					var want error
					if i < failures {
						want = errDown
					}
					for _, g := range []*group.Group[string, int]{shadow, enforcing} {
						if _, err := g.Execute(context.Background(), fmt.Sprint("k", k), func(context.Context) (int, error) { return 0, want }); outcome(err) == "rejected" {
							rt.Fatalf("round %d: a call rejected before any ejection", round)
						}
					}
				}
			}
			clk.Add(time.Second)
			s, e := shadow.DetectOutliers(), enforcing.DetectOutliers()
			ejected := false
			for i := range s {
				if !s[i].Shadow {
					rt.Fatalf("round %d: not marked shadow: %+v", round, s[i])
				}
				s[i].Shadow = false
				ejected = ejected || s[i].Opened
			}
			if !slices.Equal(s, e) {
				rt.Fatalf("round %d:\nshadow    %s\nenforcing %s", round, describe(s), describe(e))
			}
			for _, o := range e {
				ejected = ejected || o.Opened
			}
			if ejected {
				if a, b := shadow.OutlierStats(), enforcing.OutlierStats(); a.Found != b.Found || a.Ejected != b.Ejected {
					rt.Fatalf("OutlierStats: shadow %+v, enforcing %+v", a, b)
				}
				return
			}
		}
	})
}

func describe(os []group.Outlier[string]) string {
	var s string
	for _, o := range os {
		s += fmt.Sprintf("\n\t%s: %s (mean %v)", o.Key, o, o.Mean)
	}
	return s
}
