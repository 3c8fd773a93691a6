package group_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// TestOutlierEjectionOverridesOperatorStress races the outlier detector
// against operators acting on the two keys it finds outliers, under
// -race: each operator's last word on its key stands (a Disable stays
// disabled, a ForceOpen forced open: the detector opens only what it read
// closed with no mode, at the generation it read), and once all is
// quiet the cap holds a place for each key that is not closed, no more.
func TestOutlierEjectionOverridesOperatorStress(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1000), OpenTimeout: time.Second}
		},
		Outliers: &group.Outliers{
			FailureRate: &group.FailureRateTest{MinVolume: 5},
			EjectFor:    time.Second,
		},
		MaxOpenShare: 0.5,
		Clock:        clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"h0", "h1", "h2", "h3", "h4", "h5", "x", "y"}
	var bs []*breaker.Breaker[int]
	for _, k := range keys {
		b, err := g.Get(k)
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	const rounds = 100
	rs := []*rand.Rand{rand.New(rand.NewPCG(1, 7)), rand.New(rand.NewPCG(2, 7))}
	last := make([]string, 2)
	for r := range rounds + 2 {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // calls: x and y fail every one
			defer wg.Done()
			for range 10 {
				for i, b := range bs {
					_, _ = b.Execute(context.Background(), func(context.Context) (int, error) {
						if i >= 6 {
							return 0, errDown
						}
						return 0, nil
					})
				}
			}
		}()
		wg.Add(1)
		go func() { // the detector, every interval
			defer wg.Done()
			clk.Add(10 * time.Second)
			g.DetectOutliers()
		}()
		for j, b := range bs[6:] {
			if r > rounds {
				break // the detector judges once more after the last words
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch {
				case r == rounds && j == 0: // the last word: a mode no automatic decision may end
					b.Disable()
					last[j] = "Disable"
				case r == rounds:
					b.ForceOpen()
					last[j] = "ForceOpen"
				default:
					switch rs[j].IntN(8) {
					case 0:
						b.Disable()
					case 1:
						b.ForceOpen()
					case 2, 3, 4, 5:
						b.Reset()
					default:
						b.Trip()
					}
				}
			}()
		}
		wg.Wait()
	}
	for j, b := range bs[6:] {
		m := b.Metrics()
		switch last[j] {
		case "Disable":
			if m.Mode != breaker.ModeDisabled || m.State != breaker.Closed {
				t.Errorf("%s: last word Disable, is %v (mode %v)", b.Name(), m.State, m.Mode)
			}
		case "ForceOpen":
			if m.Mode != breaker.ModeForcedOpen || m.State != breaker.Open {
				t.Errorf("%s: last word ForceOpen, is %v (mode %v)", b.Name(), m.State, m.Mode)
			}
		}
	}
	t.Logf("outliers found %d, ejected %d", g.OutlierStats().Found, g.OutlierStats().Ejected)
	if st := g.OutlierStats(); st.Found == 0 || st.Ejected == 0 {
		t.Errorf("the detector found %d outliers and ejected %d: the race was not run", st.Found, st.Ejected)
	}
	notClosed := 0
	for _, b := range bs {
		if b.Metrics().State != breaker.Closed {
			notClosed++
		}
	}
	if open, _ := g.OpenLimit(); open != notClosed {
		t.Errorf("the cap holds %d places, %d keys are not closed", open, notClosed)
	}
}
