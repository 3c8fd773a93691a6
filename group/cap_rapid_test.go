package group_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
	"pgregory.net/rapid"
)

// limitOf is the cap's rule, written out again: at most share of n keys
// open (at least one), and one kept closed when asked.
func limitOf(share float64, keepOne bool, n int) int {
	l := n
	if share > 0 && share < 1 {
		l = max(int(math.Floor(share*float64(n)+1e-9)), 1)
	}
	if keepOne {
		l = min(l, n-1)
	}
	return max(l, 0)
}

// countOpen returns the keys the group holds and how many of them are not
// closed.
func countOpen(g *group.Group[string, int]) (keys, open int) {
	for m := range g.Metrics() {
		keys++
		if m.State != breaker.Closed {
			open++
		}
	}
	return keys, open
}

// Whatever opens keys (policy trips, Trip, ForceOpen, an adopted open, the
// detector), closes them (Reset, Disable, probes) or evicts them (idle
// sweeps, a full group making room), no more keys are open than the cap
// allows, and the group's count of places taken is what the breakers say.
func TestCapNeverExceededModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		share := rapid.SampledFrom([]float64{0, 0.1, 0.25, 0.5, 0.75}).Draw(rt, "share")
		keepOne := rapid.Bool().Draw(rt, "keepOne")
		if share == 0 && !keepOne {
			keepOne = true
		}
		maxKeys := rapid.IntRange(2, 12).Draw(rt, "max")
		clk := epochs.Mock(rapid.SampledFrom([]time.Time{epochs.Today, epochs.Y2038}).Draw(rt, "epoch"))
		g, err := group.New(group.Config[string, int]{
			New: func(string) breaker.Config[int] {
				return breaker.Config[int]{Policy: policy.Consecutive(2), OpenTimeout: time.Minute, HalfOpenProbes: 1}
			},
			MaxBreakers:   maxKeys,
			IdleAfter:     time.Minute,
			Clock:         clk,
			MaxOpenShare:  share,
			KeepOneClosed: keepOne,
			Outliers: &group.Outliers{
				Interval:        10 * time.Second,
				SuccessRate:     &group.SuccessRateTest{MinVolume: 2, MinKeys: 2, StdevFactor: 0.5},
				MaxEjectedShare: 1,
			},
		})
		if err != nil {
			rt.Fatal(err)
		}
		key := rapid.Custom(func(rt *rapid.T) string { return fmt.Sprint("k", rapid.IntRange(0, 2*maxKeys).Draw(rt, "key")) })
		get := func(k string) *breaker.Breaker[int] {
			b, err := g.Get(k)
			if err != nil {
				return nil // ErrFull: every key open or probing
			}
			return b
		}
		run := func(k string, err error) {
			if b := get(k); b != nil {
				b.Execute(context.Background(), func(context.Context) (int, error) { return 0, err })
			}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"fail":    func(rt *rapid.T) { run(key.Draw(rt, "k"), errDown) },
			"succeed": func(rt *rapid.T) { run(key.Draw(rt, "k"), nil) },
			"trip": func(rt *rapid.T) {
				if b := get(key.Draw(rt, "k")); b != nil {
					b.Trip()
				}
			},
			"forceOpen": func(rt *rapid.T) {
				if b := get(key.Draw(rt, "k")); b != nil {
					b.ForceOpen()
				}
			},
			"adoptOpen": func(rt *rapid.T) {
				if b := get(key.Draw(rt, "k")); b != nil {
					b.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: time.Minute})
				}
			},
			"reset": func(rt *rapid.T) {
				if b := get(key.Draw(rt, "k")); b != nil {
					b.Reset()
				}
			},
			"disable": func(rt *rapid.T) {
				if b := get(key.Draw(rt, "k")); b != nil {
					b.Disable()
				}
			},
			"wait": func(rt *rapid.T) {
				clk.Add(rapid.SampledFrom([]time.Duration{time.Second, 10 * time.Second, time.Minute}).Draw(rt, "d"))
			},
			"detect": func(rt *rapid.T) { g.DetectOutliers() },
			"": func(rt *rapid.T) {
				keys, open := countOpen(g)
				if l := limitOf(share, keepOne, keys); open > l {
					rt.Fatalf("%d of %d keys open, cap %d (share %v, keepOne %v)", open, keys, l, share, keepOne)
				}
				held, limit := g.OpenLimit()
				if held != open || limit != limitOf(share, keepOne, keys) {
					rt.Fatalf("OpenLimit = %d, %d; the breakers say %d open of %d keys", held, limit, open, keys)
				}
			},
		})
	})
}

// The same under concurrency: trips, manual opens, resets and evictions
// race; the cap's own count never passes its limit, and once everything
// stops, no more keys are open than the cap allows and the count is what
// the breakers say.
func TestCapNeverExceededUnderConcurrentTripsAndEvictions(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	const share = 0.25
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Second}
		},
		MaxBreakers:  24,
		IdleAfter:    time.Second,
		Clock:        clk,
		MaxOpenShare: share,
	})
	if err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 6, 400
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				k := fmt.Sprint("k", (r*7+w*13)%40)
				b, err := g.Get(k)
				if err != nil {
					continue
				}
				switch (r + w) % 7 {
				case 0:
					b.Trip()
				case 1:
					b.Reset()
				case 2:
					b.Disable()
				case 3:
					b.ForceOpen()
				default:
					b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDown })
				}
				if w == 0 && r%10 == 0 {
					clk.Add(time.Second)
				}
				if open, limit := g.OpenLimit(); open > limit {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%d open, limit %d", open, limit))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("cap exceeded %d times, first: %s", len(failures), failures[0])
	}
	keys, open := countOpen(g)
	if l := limitOf(share, false, keys); open > l {
		t.Fatalf("%d of %d keys open, cap %d", open, keys, l)
	}
	if held, _ := g.OpenLimit(); held != open {
		t.Fatalf("the cap counts %d places taken, the breakers say %d open", held, open)
	}
}

// The detector evaluates while calls, trips and evictions go on, from the
// Gets that find it due and from DetectOutliers: clean under -race, and the
// cap holds at the end.
func TestDetectorUnderConcurrentCalls(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	const share = 0.5
	var mu sync.Mutex
	opened := 0
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(20), OpenTimeout: time.Second}
		},
		MaxBreakers:  24,
		IdleAfter:    time.Second,
		Clock:        clk,
		MaxOpenShare: share,
		Outliers: &group.Outliers{
			Interval:        time.Second,
			SuccessRate:     &group.SuccessRateTest{MinVolume: 3, MinKeys: 3},
			FailureRate:     &group.FailureRateTest{MinVolume: 3, MinKeys: 3, Threshold: 0.5},
			MaxEjectedShare: 1,
		},
		OnOutlier: func(o group.Outlier[string]) {
			mu.Lock()
			opened += b2i(o.Opened)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 6, 300
	var wg sync.WaitGroup
	var bad atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				k := fmt.Sprint("k", (r+w)%10)
				if r%50 == 0 {
					k = fmt.Sprint("new-", w, "-", r) // a creation: idle keys are swept
				}
				var err error
				if k == "k0" && bad.Add(1)%5 < 3 || r%17 == 0 {
					err = errDown
				}
				g.Execute(context.Background(), k, func(context.Context) (int, error) { return 0, err })
				switch {
				case w == 0 && r%20 == 0:
					clk.Add(time.Second)
				case w == 1 && r%25 == 0:
					g.DetectOutliers()
				case w == 2 && r%40 == 0:
					if b, err := g.Get(k); err == nil {
						b.Trip()
					}
				}
			}
		}()
	}
	wg.Wait()
	keys, open := countOpen(g)
	if l := limitOf(share, false, keys); open > l {
		t.Fatalf("%d of %d keys open, cap %d", open, keys, l)
	}
	if held, _ := g.OpenLimit(); held != open {
		t.Fatalf("the cap counts %d places taken, the breakers say %d open", held, open)
	}
	if opened == 0 {
		t.Fatal("the detector opened no key: the test does not test it")
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The cap under concurrency, with rapid drawing the group and what each
// goroutine does: failures, successes, Trip, ForceOpen, adopted opens,
// Reset, Disable, the detector (enforcing or in shadow), time passing, and
// new keys that make a full group evict and idle keys be swept. While they
// race, the cap's own count never passes its limit; once they stop, no
// more keys are open than the cap allows and the count is what the
// breakers say. Run it under -race.
func TestCapNeverExceededUnderConcurrencyModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		share := rapid.SampledFrom([]float64{0, 0.1, 0.25, 0.5}).Draw(rt, "share")
		keepOne := rapid.Bool().Draw(rt, "keepOne")
		if share == 0 && !keepOne {
			keepOne = true
		}
		maxKeys := rapid.IntRange(2, 10).Draw(rt, "max")
		var outliers *group.Outliers
		if mode := rapid.IntRange(0, 2).Draw(rt, "detector"); mode > 0 {
			outliers = &group.Outliers{
				Interval:        time.Second,
				SuccessRate:     &group.SuccessRateTest{MinVolume: 2, MinKeys: 2, StdevFactor: 0.5, NoiseFactor: group.NoNoiseTest},
				FailureRate:     &group.FailureRateTest{MinVolume: 2, MinKeys: 2, Threshold: 0.5},
				MaxEjectedShare: 1,
				Shadow:          mode == 2,
				// Ejections that remember keep a record per key, across
				// evictions: raced too.
				EjectForget: rapid.SampledFrom([]time.Duration{0, 2 * time.Second}).Draw(rt, "forget"),
			}
		}
		clk := epochs.Mock(epochs.Today)
		g, err := group.New(group.Config[string, int]{
			New: func(string) breaker.Config[int] {
				return breaker.Config[int]{Policy: policy.Consecutive(2), OpenTimeout: time.Second, HalfOpenProbes: 1}
			},
			MaxBreakers:   maxKeys,
			IdleAfter:     time.Second,
			Clock:         clk,
			MaxOpenShare:  share,
			KeepOneClosed: keepOne,
			Outliers:      outliers,
		})
		if err != nil {
			rt.Fatal(err)
		}
		const (
			opFail = iota
			opSucceed
			opTrip
			opForceOpen
			opAdoptOpen
			opReset
			opDisable
			opDetect
			opWait
			opCount
		)
		type op struct{ kind, key int }
		workers := rapid.IntRange(2, 4).Draw(rt, "workers")
		plans := make([][]op, workers)
		for w := range plans {
			plans[w] = rapid.SliceOfN(rapid.Custom(func(rt *rapid.T) op {
				return op{rapid.IntRange(0, opCount-1).Draw(rt, "op"), rapid.IntRange(0, 2*maxKeys).Draw(rt, "key")}
			}), 1, 60).Draw(rt, fmt.Sprint("plan", w))
		}
		var wg sync.WaitGroup
		var over atomic.Int64
		for _, plan := range plans {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, o := range plan {
					k := fmt.Sprint("k", o.key)
					switch o.kind {
					case opDetect:
						g.DetectOutliers()
					case opWait:
						clk.Add(500 * time.Millisecond)
					default:
						b, err := g.Get(k)
						if err != nil {
							break // ErrFull
						}
						switch o.kind {
						case opFail, opSucceed:
							var err error
							if o.kind == opFail {
								err = errDown
							}
							b.Execute(context.Background(), func(context.Context) (int, error) { return 0, err })
						case opTrip:
							b.Trip()
						case opForceOpen:
							b.ForceOpen()
						case opAdoptOpen:
							b.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: time.Second})
						case opReset:
							b.Reset()
						case opDisable:
							b.Disable()
						}
					}
					if open, limit := g.OpenLimit(); open > limit {
						over.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if n := over.Load(); n > 0 {
			rt.Fatalf("the cap's count passed its limit %d times", n)
		}
		keys, open := countOpen(g)
		if l := limitOf(share, keepOne, keys); open > l {
			rt.Fatalf("%d of %d keys open, cap %d (share %v, keepOne %v)", open, keys, l, share, keepOne)
		}
		if held, limit := g.OpenLimit(); held != open || limit != limitOf(share, keepOne, keys) {
			rt.Fatalf("OpenLimit = %d, %d; the breakers say %d open of %d keys", held, limit, open, keys)
		}
	})
}
