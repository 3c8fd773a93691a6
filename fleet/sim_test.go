package fleet_test

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/fleet/fleetsim"
)

var (
	simSeed    = flag.Uint64("sim.seed", 0, "run only this seed of TestSim, with its trace")
	simSeeds   = flag.Int("sim.seeds", 2000, "how many seeds TestSim runs")
	simFirst   = flag.Uint64("sim.first", 1, "the first seed TestSim runs")
	simSteps   = flag.Int("sim.steps", 0, "steps of each seed's chaotic phase (0: the harness's default)")
	simCensus  = flag.Bool("sim.census", false, "run every seed and tally the invariants broken, rather than stop at the first")
	simWithout = flag.String("sim.without", "", "comma-separated kinds of step the runs never take (fleetsim.Kinds)")
	simIgnore  = flag.String("sim.ignore", "", "comma-separated invariants the runs do not check")
	simCbCo    = flag.Bool("sim.cbco", true, "let user callbacks call the coordinator")
	simStall   = flag.Duration("sim.stall", 0, "real time after which a step counts as blocked (0: the harness's default)")
	simOpen    = flag.Bool("sim.open", true, "tolerate the seeds of testdata/sim_open.txt (open faults), logging their failures")
)

// openSeeds reads testdata/sim_open.txt: the seeds that still break an
// invariant, each an open fault.
func openSeeds(t *testing.T) map[uint64]bool {
	out := map[uint64]bool{}
	if !*simOpen {
		return out
	}
	b, err := os.ReadFile("testdata/sim_open.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		for _, f := range strings.Fields(l) {
			n, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				t.Fatalf("testdata/sim_open.txt: %v", err)
			}
			out[n] = true
		}
	}
	return out
}

func simOptions(seed uint64) fleetsim.Options {
	o := fleetsim.Options{
		Seed: seed, Steps: *simSteps, Stall: *simStall,
		CallbacksUseCoordinator: *simCbCo,
	}
	if *simWithout != "" {
		o.Without = map[string]bool{}
		for _, k := range strings.Split(*simWithout, ",") {
			o.Without[strings.TrimSpace(k)] = true
		}
	}
	if *simIgnore != "" {
		o.Ignore = map[string]bool{}
		for _, k := range strings.Split(*simIgnore, ",") {
			o.Ignore[strings.TrimSpace(k)] = true
		}
	}
	return o
}

// TestSim runs the deterministic simulation of the fleet (package
// fleetsim): instances with real breakers and driven coordinators on one
// virtual clock, over a store that injects faults, every choice drawn from
// one seed. A failing seed prints its trace and how to replay it.
func TestSim(t *testing.T) {
	if *simSeed != 0 {
		o := simOptions(*simSeed)
		if testing.Verbose() {
			o.Echo = func(l string) { fmt.Println(l) }
		}
		f := fleetsim.Run(o)
		if f != nil {
			t.Fatal(f.Report())
		}
		return
	}
	n := *simSeeds
	if testing.Short() && n > 200 {
		n = 200
	}
	type result struct {
		seed uint64
		f    *fleetsim.Failure
	}
	open := openSeeds(t)
	if *simCensus {
		open = map[uint64]bool{}
	}
	var tolerated atomic.Int64
	var next atomic.Uint64
	next.Store(*simFirst)
	last := *simFirst + uint64(n)
	var stop atomic.Bool
	var mu sync.Mutex
	var fails []result
	start := time.Now()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				seed := next.Add(1) - 1
				if seed >= last {
					return
				}
				if f := fleetsim.Run(simOptions(seed)); f != nil {
					if open[seed] {
						tolerated.Add(1)
						continue
					}
					mu.Lock()
					fails = append(fails, result{seed, f})
					mu.Unlock()
					if !*simCensus {
						stop.Store(true)
					}
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	ran := min(next.Load(), last) - *simFirst
	t.Logf("%d seeds in %v: %.0f seeds/s", ran, took.Round(time.Millisecond), float64(ran)/took.Seconds())
	if n := tolerated.Load(); n > 0 {
		t.Logf("%d seeds of testdata/sim_open.txt failed, as listed (open faults)", n)
	}
	if len(fails) == 0 {
		return
	}
	sort.Slice(fails, func(i, j int) bool { return fails[i].seed < fails[j].seed })
	if *simCensus {
		type tally struct {
			n     int
			first uint64
			ex    string
		}
		by := map[string]*tally{}
		var keys []string
		for _, r := range fails {
			k := r.f.Invariant + " / " + classify(r.f)
			if by[k] == nil {
				by[k] = &tally{first: r.seed, ex: r.f.Detail}
				keys = append(keys, k)
			}
			by[k].n++
		}
		sort.Strings(keys)
		var b strings.Builder
		fmt.Fprintf(&b, "%d of %d seeds failed:\n", len(fails), ran)
		var seeds []string
		for _, r := range fails {
			seeds = append(seeds, fmt.Sprint(r.seed))
		}
		fmt.Fprintf(&b, "  seeds: %s\n", strings.Join(seeds, " "))
		for _, k := range keys {
			x := by[k]
			ex := x.ex
			if len(ex) > 300 {
				ex = ex[:300] + "..."
			}
			fmt.Fprintf(&b, "  %-40s %5d seeds, first %d: %s\n", k, x.n, x.first, ex)
		}
		t.Fatal(b.String())
	}
	t.Fatal(fails[0].f.Report())
}

// classify names the likely fault of a failure, for the census.
func classify(f *fleetsim.Failure) string {
	d := f.Detail
	switch f.Invariant {
	case fleetsim.InvNoBlock:
		switch {
		case strings.Contains(f.Stacks, "(*gate).AcquireProbe") && strings.Contains(f.Stacks, "observeFrom"):
			return "callback reaches the gate inside adopt"
		case strings.Contains(f.Stacks, "fleetsim.(*sim).callback") && strings.Contains(f.Stacks, "observeFrom"):
			return "callback calls the coordinator inside adopt"
		}
		return "blocked"
	case fleetsim.InvNoPanic:
		if strings.Contains(d, "in close") && strings.Contains(d, "at Subscribe") {
			return "Close during Attach"
		}
		return firstLine(d)
	case fleetsim.InvCountsOnce:
		switch {
		case strings.Contains(d, "overlapped"):
			return "overlapping flushes"
		case strings.Contains(d, "two coordinators"):
			return "attached to two coordinators"
		case strings.Contains(d, "attached"):
			return "re-attach resends"
		}
	case fleetsim.InvConverge:
		if strings.Contains(d, "degraded true") {
			return "stays degraded"
		}
		if rec, _, _ := strings.Cut(d, ";"); !strings.Contains(rec, "forced") && !strings.Contains(rec, "disabled") &&
			(strings.Contains(d, "mode forced-open") || strings.Contains(d, "mode disabled")) {
			return "a fleet mode outlives its record"
		}
		if strings.Contains(d, "half-open") || strings.Contains(d, "open") {
			return "record not settled"
		}
	case fleetsim.InvLocalStands:
		// "... adopted close (why) over a local Trip (generation ...": the
		// kind adopted and the local decision it undid.
		_, rest, _ := strings.Cut(d, " adopted ")
		kind, _, _ := strings.Cut(rest, " (")
		_, over, _ := strings.Cut(rest, ") over ")
		over, _, _ = strings.Cut(over, " (generation")
		return kind + " over " + over
	case fleetsim.InvQuorumSound, fleetsim.InvProbeBound:
		if strings.Contains(d, "coordinators") {
			return "attached to two coordinators"
		}
	case fleetsim.InvQuorumOpens:
		how := "trips"
		if strings.Contains(d, "reopen") {
			how = "reopens"
		}
		switch {
		case strings.Contains(d, "half-open record"):
			return how + " under a half-open record"
		case strings.Contains(d, "created again"):
			return how + " under a recreated closed record"
		}
		return how + " under a closed record"
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// A seed replays exactly: two runs of it take the same steps with the same
// outcomes. Package fleet draws incarnation and lease ids from crypto/rand;
// they are masked, being only ever compared for equality.
func TestSimReplays(t *testing.T) {
	ids := regexp.MustCompile(`[0-9a-f]{16}|[0-9a-f]{8}/|[0-9a-f]{4}/`)
	for _, seed := range []uint64{2, 5, 10, 17, 23} {
		run := func() (string, *fleetsim.Failure) {
			var b strings.Builder
			o := simOptions(seed)
			o.CallbacksUseCoordinator = false
			o.Echo = func(l string) { b.WriteString(ids.ReplaceAllString(l, "#") + "\n") }
			f := fleetsim.Run(o)
			return b.String(), f
		}
		// The trace is complete once Run returns, unless a step blocked.
		a, fa := run()
		b, fb := run()
		if fa != nil && fa.Invariant == fleetsim.InvNoBlock || fb != nil && fb.Invariant == fleetsim.InvNoBlock {
			continue
		}
		if strings.Count(a, "\n") < 20 {
			t.Fatalf("seed %d: a trace of %d lines: too short to tell", seed, strings.Count(a, "\n"))
		}
		if a != b {
			t.Fatalf("seed %d ran two ways:\n%s\n----\n%s", seed, a, b)
		}
		if (fa == nil) != (fb == nil) || fa != nil && fa.Detail != fb.Detail && ids.ReplaceAllString(fa.Detail, "#") != ids.ReplaceAllString(fb.Detail, "#") {
			t.Fatalf("seed %d ended two ways: %v / %v", seed, fa, fb)
		}
	}
}
