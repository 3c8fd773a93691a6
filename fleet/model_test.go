package fleet_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"pgregory.net/rapid"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// countingStore counts the leases granted per record generation.
type countingStore struct {
	fleet.Store
	mu     sync.Mutex
	admits map[string]int
}

func (c *countingStore) AcquireProbe(ctx context.Context, n string, q fleet.ProbeRequest, p fleet.Params) (fleet.Verdict, fleet.Record, error) {
	v, r, err := c.Store.AcquireProbe(ctx, n, q, p)
	if err == nil && v == fleet.ProbeAdmit {
		c.mu.Lock()
		c.admits[r.Incarnation+"/"+time.Duration(r.Generation).String()]++
		c.mu.Unlock()
	}
	return v, r, err
}

// TestModelFleetAgainstLocalBreakers drives N instances with random calls,
// probes, time and operator actions, and checks after each step, once
// every instance has synced, that the breakers agree with the fleet's
// record: all open while it is open, all in its manual mode, and never
// more than K leases granted for one generation.
func TestModelFleetAgainstLocalBreakers(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		const n, k = 3, 2
		clk := clock.NewMock()
		clk.Set(epochs.Today)
		store := &countingStore{Store: fleet.NewMemory(clk), admits: map[string]int{}}
		var bs []*breaker.Breaker[int]
		var cos []*fleet.Coordinator
		for i := range n {
			b, err := breaker.New(breaker.Config[int]{
				Name: "dep", Policy: policy.Consecutive(2), OpenTimeout: 20 * time.Second,
				HalfOpenProbes: 2, Clock: clk,
			})
			if err != nil {
				rt.Fatal(err)
			}
			co, err := fleet.New(fleet.Config{
				Store: store, Instance: string(rune('a' + i)),
				Quorum: 2, QuorumWindow: 10 * time.Second, OpenTimeout: 30 * time.Second,
				Probes: k, ProbeTimeout: time.Hour, FlushInterval: time.Hour, Clock: clk,
				FullFor: time.Nanosecond,
			})
			if err != nil {
				rt.Fatal(err)
			}
			defer co.Close()
			if _, err := co.Attach(b); err != nil {
				rt.Fatal(err)
			}
			fleet.Drain(co)
			bs, cos = append(bs, b), append(cos, co)
		}
		type pending struct {
			i int
			p breaker.Permit[int]
		}
		var permits []pending
		ctx := context.Background()
		call := func(i int, err error) {
			_, _ = bs[i].Execute(ctx, func(context.Context) (int, error) { return 0, err })
			fleet.Drain(cos[i])
		}
		rt.Repeat(map[string]func(*rapid.T){
			"fail": func(rt *rapid.T) { call(rapid.IntRange(0, n-1).Draw(rt, "i"), errDown) },
			"succeed": func(rt *rapid.T) {
				call(rapid.IntRange(0, n-1).Draw(rt, "i"), nil)
			},
			"allow": func(rt *rapid.T) {
				i := rapid.IntRange(0, n-1).Draw(rt, "i")
				if p, err := bs[i].Allow(); err == nil {
					permits = append(permits, pending{i, p})
				}
			},
			"done": func(rt *rapid.T) {
				if len(permits) == 0 {
					return
				}
				j := rapid.IntRange(0, len(permits)-1).Draw(rt, "j")
				pd := permits[j]
				permits = append(permits[:j], permits[j+1:]...)
				if rapid.Bool().Draw(rt, "ok") {
					pd.p.Done(0, nil)
				} else {
					pd.p.Done(0, errDown)
				}
				fleet.Drain(cos[pd.i])
			},
			"advance": func(rt *rapid.T) {
				clk.Add(time.Duration(rapid.IntRange(1, 40).Draw(rt, "s")) * time.Second)
			},
			"operator": func(rt *rapid.T) {
				co := cos[rapid.IntRange(0, n-1).Draw(rt, "i")]
				var err error
				switch rapid.IntRange(0, 5).Draw(rt, "op") {
				case 0:
					err = co.ForceOpen(ctx, "dep")
				case 1:
					err = co.Disable(ctx, "dep")
				case 2:
					err = co.Clear(ctx, "dep")
				}
				if err != nil {
					rt.Fatal(err)
				}
			},
			"": func(rt *rapid.T) {
				for _, co := range cos {
					if err := co.Sync(ctx); err != nil {
						rt.Fatal(err)
					}
				}
				for _, co := range cos {
					fleet.Settle(co)
				}
				recs, _, err := store.Flush(ctx, []fleet.Counts{{Name: "dep", Instance: "model"}}, cos[0].Params())
				if err != nil {
					rt.Fatal(err)
				}
				r := recs[0]
				for i, b := range bs {
					m := b.Metrics()
					switch {
					case r.Mode == fleet.ModeForcedOpen && (m.State != breaker.Open || m.Mode != breaker.ModeForcedOpen):
						rt.Fatalf("fleet forced open, instance %d: %v %v", i, m.State, m.Mode)
					case r.Mode == fleet.ModeDisabled && (m.State != breaker.Closed || m.Mode != breaker.ModeDisabled):
						rt.Fatalf("fleet disabled, instance %d: %v %v", i, m.State, m.Mode)
					case r.Mode == fleet.ModeNone && r.State == breaker.Open && (m.State != breaker.Open || m.Until.Sub(clk.Now()) != r.Remaining):
						rt.Fatalf("fleet open for %v more, instance %d: %v until %v", r.Remaining, i, m.State, m.Until)
					case r.Mode == fleet.ModeNone && m.Mode != breaker.ModeNone:
						rt.Fatalf("fleet mode none, instance %d in mode %v", i, m.Mode)
					}
				}
				store.mu.Lock()
				defer store.mu.Unlock()
				for g, c := range store.admits {
					if c > k {
						rt.Fatalf("%d leases granted for generation %s, K = %d", c, g, k)
					}
				}
			},
		})
	})
}
