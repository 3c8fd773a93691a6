package group_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
	"pgregory.net/rapid"
)

// TestShadowOnlyKeysTakePlacesUnderCap: the cap bounds how much of a
// group's traffic is cut off, and a shadow-only key (breaker.Config.
// ShadowOnly) cuts nothing off whatever it decides. Its opens took places
// under MaxOpenShare and KeepOneClosed and counted as open for the
// detector's MaxEjectedShare, so a mix of shadow-only and live keys kept
// live keys closed for nothing, and the detector "ejected" shadow-only
// keys. With a mix of shadow-only and live keys, whatever opens them
// (policies, Trip, ForceOpen, adopted opens, the detector), closes them or
// evicts them: the live keys open never exceed the cap of the live keys,
// the group's count of places is what the live breakers say, no call of a
// shadow-only key is rejected, the group never acts on a shadow-only key
// (no transition of it is the cap's or the detector's), and the detector
// reports a shadow-only outlier as one it would open (Shadow).
func TestShadowOnlyKeysTakePlacesUnderCap(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		share := rapid.SampledFrom([]float64{0, 0.25, 0.5}).Draw(rt, "share")
		keepOne := rapid.Bool().Draw(rt, "keepOne")
		if share == 0 && !keepOne {
			keepOne = true
		}
		nKeys := rapid.IntRange(2, 8).Draw(rt, "keys")
		shadowOnly := map[string]bool{}
		for i := range nKeys {
			shadowOnly[fmt.Sprint("k", i)] = rapid.Bool().Draw(rt, fmt.Sprint("shadowOnly", i))
		}
		detect := rapid.Bool().Draw(rt, "detect")
		clk := epochs.Mock(epochs.Today)
		cfg := group.Config[string, int]{
			New: func(k string) breaker.Config[int] {
				return breaker.Config[int]{Policy: policy.Consecutive(2), OpenTimeout: time.Minute,
					HalfOpenProbes: 1, ShadowOnly: shadowOnly[k]}
			},
			MaxBreakers:   nKeys,
			IdleAfter:     time.Minute,
			Clock:         clk,
			MaxOpenShare:  share,
			KeepOneClosed: keepOne,
		}
		var outliers []group.Outlier[string]
		if detect {
			cfg.Outliers = &group.Outliers{
				Interval:        10 * time.Second,
				FailureRate:     &group.FailureRateTest{MinVolume: 2, MinKeys: 2, Threshold: 0.5},
				MaxEjectedShare: 1,
			}
			cfg.OnOutlier = func(o group.Outlier[string]) { outliers = append(outliers, o) }
		}
		g, err := group.New(cfg)
		if err != nil {
			rt.Fatal(err)
		}
		key := rapid.Custom(func(rt *rapid.T) string { return fmt.Sprint("k", rapid.IntRange(0, nKeys-1).Draw(rt, "key")) })
		get := func(k string) *breaker.Breaker[int] {
			b, err := g.Get(k)
			if err != nil {
				return nil // ErrFull: every key open or probing
			}
			return b
		}
		run := func(k string, err error) {
			if b := get(k); b != nil {
				_, got := b.Execute(context.Background(), func(context.Context) (int, error) { return 0, err })
				if shadowOnly[k] && errors.Is(got, breaker.ErrOpen) {
					rt.Fatalf("a call of shadow-only key %s was rejected: %v", k, got)
				}
			}
		}
		act := func(f func(b *breaker.Breaker[int])) func(*rapid.T) {
			return func(rt *rapid.T) {
				if b := get(key.Draw(rt, "k")); b != nil {
					f(b)
				}
			}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"fail":      func(rt *rapid.T) { run(key.Draw(rt, "k"), errDown) },
			"succeed":   func(rt *rapid.T) { run(key.Draw(rt, "k"), nil) },
			"trip":      act((*breaker.Breaker[int]).Trip),
			"forceOpen": act((*breaker.Breaker[int]).ForceOpen),
			"reset":     act((*breaker.Breaker[int]).Reset),
			"disable":   act((*breaker.Breaker[int]).Disable),
			"adoptOpen": act(func(b *breaker.Breaker[int]) {
				b.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: time.Minute})
			}),
			"wait": func(rt *rapid.T) {
				clk.Add(rapid.SampledFrom([]time.Duration{time.Second, 10 * time.Second, time.Minute}).Draw(rt, "d"))
			},
			"detect": func(*rapid.T) { g.DetectOutliers() },
			"": func(rt *rapid.T) {
				live, liveOpen := 0, 0
				for m := range g.Metrics() {
					if m.ShadowOnly != shadowOnly[m.Name] {
						rt.Fatalf("%s: Metrics.ShadowOnly %v", m.Name, m.ShadowOnly)
					}
					if m.ShadowOnly {
						continue
					}
					live++
					if m.State != breaker.Closed {
						liveOpen++
					}
				}
				if l := limitOf(share, keepOne, live); liveOpen > l {
					rt.Fatalf("%d of %d live keys open, cap %d (share %v, keepOne %v)", liveOpen, live, l, share, keepOne)
				}
				held, limit := g.OpenLimit()
				if held != liveOpen || limit != limitOf(share, keepOne, live) {
					rt.Fatalf("OpenLimit = %d, %d; the live breakers say %d open of %d", held, limit, liveOpen, live)
				}
				for k, b := range g.All() {
					if !shadowOnly[k] {
						continue
					}
					for _, tr := range b.Transitions() {
						if e := tr.Evidence; e != nil && (e.Who == "group cap" || e.Who == "group outlier detection") {
							rt.Fatalf("shadow-only key %s: a transition by %s: %s", k, e.Who, e.Text)
						}
					}
				}
				for _, o := range outliers {
					if shadowOnly[o.Key] && (!o.Shadow || !o.Opened) {
						rt.Fatalf("shadow-only outlier %s reported %v", o.Key, o)
					}
				}
				outliers = outliers[:0]
			},
		})
	})
}

// TestShadowOnlyKeysTakePlacesUnderCap, the detector's part: a shadow-only
// key that was opened (Trip: it rejects nothing) does not count as open for
// MaxEjectedShare (one key of the live ones here), and the worst outlier,
// shadow-only too, is reported as one the detector would open (Shadow,
// Opened) and is not opened: the live outlier is.
func TestShadowOnlyOutlierIsOnlyReported(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	var seen []group.Outlier[string]
	g, err := group.New(group.Config[string, int]{
		New: func(k string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1000), OpenTimeout: time.Minute,
				ShadowOnly: k == "worst" || k == "tripped"}
		},
		Outliers:     &group.Outliers{FailureRate: &group.FailureRateTest{Threshold: 0.35}},
		OnOutlier:    func(o group.Outlier[string]) { seen = append(seen, o) },
		MaxOpenShare: 0.5,
		Clock:        clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		calls(t, g, fmt.Sprint("h", i), 100, 1)
	}
	calls(t, g, "worst", 100, 60)
	calls(t, g, "bad", 100, 40)
	tripped := mustGet(t, g, "tripped")
	tripped.Trip() // open, rejecting nothing
	calls(t, g, "tripped", 100, 1)
	clk.Add(10 * time.Second)
	found := g.DetectOutliers()
	if len(found) != 2 || found[0].Key != "worst" || found[1].Key != "bad" {
		t.Fatalf("outliers %v, want worst and bad", found)
	}
	if o := found[0]; !o.Shadow || !o.Opened {
		t.Errorf("shadow-only worst reported %v, want would open (shadow)", o)
	}
	if o := found[1]; o.Shadow || !o.Opened {
		t.Errorf("live bad reported %v, want opened", o)
	}
	if st := mustGet(t, g, "worst").State(); st != breaker.Closed {
		t.Errorf("shadow-only worst is %v: the detector opened it", st)
	}
	if st := mustGet(t, g, "bad").State(); st != breaker.Open {
		t.Errorf("bad is %v, want open", st)
	}
	if open, limit := g.OpenLimit(); open != 1 || limit != 4 {
		t.Errorf("OpenLimit = %d, %d; want 1 (bad), and 4: half of the 9 live keys", open, limit)
	}
	if len(seen) != 2 {
		t.Errorf("OnOutlier saw %v", seen)
	}
}
