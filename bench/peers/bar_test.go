//go:build !race

package peers

import (
	"flag"
	"slices"
	"testing"
	"time"
)

var (
	barFlag   = flag.Bool("bar", false, "run TestPerformanceBar: tripwire's windowed policies beside gobreaker's rolling window, side by side")
	barRounds = flag.Int("bar.rounds", 7, "TestPerformanceBar: rounds, each measuring every pair once")
	barTime   = flag.Duration("bar.benchtime", 100*time.Millisecond, "TestPerformanceBar: time per benchmark per round")
)

// TestPerformanceBar holds tripwire's breaker with a windowed policy to
// a bar against gobreaker's rolling window, in the scenarios of
// BenchmarkPeers: the median over rounds of tripwire's time per call
// divided by gobreaker's, the two measured side by side in each round.
// The target is 4× faster (0.25); the bar, with room for a noisy
// two-core machine, is twice as fast. A closed success then costs a
// window's one compare-and-swap and no Record fence, where gobreaker
// takes a mutex and reads the clock twice (docs/performance.md). It runs
// with -bar, not under the race detector (ci.sh runs it):
//
//	go test . -run '^TestPerformanceBar$' -v -bar
func TestPerformanceBar(t *testing.T) {
	if !*barFlag {
		t.Skip("measures for a few seconds: run with -bar")
	}
	bt := flag.Lookup("test.benchtime")
	old := bt.Value.String()
	if err := bt.Value.Set(barTime.String()); err != nil {
		t.Fatal(err)
	}
	defer bt.Value.Set(old)

	find := func(scenario, lib, mode string) func(*testing.B) {
		for _, bm := range benchmarks {
			if bm.scenario == scenario && bm.lib == lib && bm.mode == mode {
				return bm.run
			}
		}
		t.Fatalf("no benchmark %s/%s/%s", scenario, lib, mode)
		return nil
	}
	const target, bar = 0.25, 0.5
	for _, sc := range []string{"rate-closed-success", "rate-counted-closed-success", "window-closed-success"} {
		for _, mode := range []string{"serial", "parallel"} {
			us, them := find(sc, "tripwire", mode), find(sc, "gobreaker", mode)
			var ratios []float64
			for round := range *barRounds {
				var a, b float64
				if round%2 == 0 {
					a, b = nsPerOp(t, us), nsPerOp(t, them)
				} else {
					b, a = nsPerOp(t, them), nsPerOp(t, us)
				}
				ratios = append(ratios, a/b)
			}
			slices.Sort(ratios)
			med := ratios[len(ratios)/2]
			t.Logf("%s, %s: tripwire ÷ gobreaker %.2f× (%.2f–%.2f), target ≤ %.2f×, bar ≤ %.2f×",
				sc, mode, med, ratios[0], ratios[len(ratios)-1], target, bar)
			if med > bar {
				t.Errorf("%s, %s: tripwire ÷ gobreaker %.2f×, above the bar of %.2f×", sc, mode, med, bar)
			}
		}
	}
}

// nsPerOp runs f as a benchmark and returns its time per call.
func nsPerOp(t *testing.T, f func(*testing.B)) float64 {
	t.Helper()
	res := testing.Benchmark(f)
	if res.N == 0 {
		t.Fatal("a benchmark failed")
	}
	return float64(res.T.Nanoseconds()) / float64(res.N)
}
