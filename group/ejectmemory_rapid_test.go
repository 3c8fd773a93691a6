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

// Ejections that remember, against a model of the law written out again:
// a key's ejection lasts EjectFor × (n+1), at most DefaultMaxEjectFactor
// times, n being its earlier ejections less one per whole EjectForget
// since the last ended. The key's record is the key's: it holds whatever
// the group does with its breaker in between (evicts it for idleness,
// builds a new one, prunes its records of other keys), in enforcing and
// in shadow.
func TestEjectionMemoryModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		shadow := rapid.Bool().Draw(rt, "shadow")
		forget := rapid.SampledFrom([]time.Duration{30 * time.Second, 2 * time.Minute, time.Hour}).Draw(rt, "forget")
		const base = time.Minute
		clk := epochs.Mock(rapid.SampledFrom([]time.Time{epochs.Today, epochs.Y2038, epochs.FarEnd}).Draw(rt, "epoch"))
		g, err := group.New(group.Config[string, int]{
			New: func(string) breaker.Config[int] {
				return breaker.Config[int]{Policy: policy.Consecutive(1 << 30), OpenTimeout: base}
			},
			Outliers: &group.Outliers{
				FailureRate: &group.FailureRateTest{MinVolume: 10, MinKeys: 3},
				EjectForget: forget, MaxEjectedShare: 1, Shadow: shadow,
			},
			IdleAfter: time.Minute,
			Clock:     clk,
		})
		if err != nil {
			rt.Fatal(err)
		}
		// The model: the bad key's ejections not forgiven, and when the
		// last ended.
		var n int
		var until time.Time
		var outUntil time.Time // the shadow holds it out until then
		expect := func(now time.Time) time.Duration {
			m := n
			if !until.IsZero() && now.After(until) {
				m = max(m-int(now.Sub(until)/forget), 0)
			}
			n = m + 1
			d := base * time.Duration(min(m+1, group.DefaultMaxEjectFactor))
			until = now.Add(d)
			return d
		}
		bad := func() *breaker.Breaker[int] { return mustGetR(rt, g, "bad") }
		rt.Repeat(map[string]func(*rapid.T){
			// An interval in which bad fails every call it makes, and
			// the others none.
			"interval": func(rt *rapid.T) {
				for i := range 3 {
					for range 10 {
						execR(g, fmt.Sprint("h", i), nil)
					}
				}
				b := bad()
				judged := b.State() == breaker.Closed
				if judged {
					for range 40 {
						execR(g, "bad", errDown)
					}
				}
				clk.Add(10 * time.Second)
				now := clk.Now()
				found := g.DetectOutliers()
				if shadow {
					judged = now.After(outUntil)
				}
				if len(found) != b2i(judged) {
					rt.Fatalf("%v: outliers %v; the model expects %d (%d ejections not forgiven, the last until %v)",
						now, found, b2i(judged), n, until)
				}
				for _, o := range found {
					if o.Key != "bad" || !o.Opened {
						rt.Fatalf("outlier %v", o)
					}
					want := expect(now)
					if shadow {
						outUntil = until // its length shows in how long it holds the key out
						continue
					}
					ts := b.Transitions()
					last := ts[len(ts)-1]
					if got := last.Until.Sub(last.At); got != want {
						rt.Fatalf("ejection of %v, the model says %v (%d not forgiven)", got, want, n-1)
					}
				}
			},
			"wait": func(rt *rapid.T) {
				clk.Add(rapid.SampledFrom([]time.Duration{10 * time.Second, time.Minute, 5 * time.Minute}).Draw(rt, "d"))
			},
			// Probes that close bad once its ejection is over.
			"probe": func(rt *rapid.T) {
				if bad().State() == breaker.HalfOpen {
					for range 3 {
						execR(g, "bad", nil)
					}
				}
			},
			// A period in which nobody asks for bad: evicted unless open.
			"idle": func(rt *rapid.T) {
				clk.Add(time.Minute)
				mustGetR(rt, g, fmt.Sprint("x", clk.Now().UnixNano()))
				clk.Add(time.Minute)
				mustGetR(rt, g, fmt.Sprint("y", clk.Now().UnixNano()))
			},
		})
	})
}

func mustGetR(rt *rapid.T, g *group.Group[string, int], key string) *breaker.Breaker[int] {
	b, err := g.Get(key)
	if err != nil {
		rt.Fatal(err)
	}
	return b
}

func execR(g *group.Group[string, int], key string, err error) {
	g.Execute(context.Background(), key, func(context.Context) (int, error) { return 0, err })
}
