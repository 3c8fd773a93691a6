package lab

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/policy"
)

var (
	hostsNoise     = flag.Int("hosts.noise", 0, "TestHostsNoiseTable: run the success-rate test's noise table over this many seeds")
	hostsNoiseRate = flag.Float64("hosts.rate", 20, "TestHostsNoiseTable: calls per second to each host")
)

// TestHostsNoiseTable measures the success-rate test (Envoy's defaults)
// without the noise test (NoNoiseTest) and with it (the default
// NoiseFactor), on ten hosts called 20 times a second (-hosts.rate) for ten
// minutes: how many times it opens a healthy host, at a base error rate of
// 1% and 5%, and how long it takes to open one bad host from the fault's
// start (the second minute; it lasts five), at 10% to 100% errors. The
// hosts' own policies never trip, so that every open is the detector's.
// Behind -hosts.noise N, the number of seeds each figure is the mean of.
func TestHostsNoiseTable(t *testing.T) {
	if *hostsNoise == 0 {
		t.Skip("run with -hosts.noise N")
	}
	seeds := uint64(*hostsNoise)
	never := Candidate{Name: "never", New: func() policy.Policy { return policy.Consecutive(1 << 30) }}
	candidates := []HostCandidate{
		{Name: "envoy", Host: never, Outliers: &group.Outliers{SuccessRate: &group.SuccessRateTest{NoiseFactor: group.NoNoiseTest}}},
		{Name: "noise-test", Host: never, Outliers: &group.Outliers{SuccessRate: &group.SuccessRateTest{}}},
	}
	base := HostScenario{Duration: 10 * time.Minute, Hosts: 10, Rate: *hostsNoiseRate, OpenTimeout: 30 * time.Second}
	// run returns, per 10 minutes, the opens of hosts never bad, and the
	// mean time from the fault's start to the bad host's first open
	// during it, with the runs where it never opened.
	run := func(s *HostScenario, c *HostCandidate) (wrong float64, detect time.Duration, missed int) {
		var total time.Duration
		opens := 0
		for seed := uint64(1); seed <= seeds; seed++ {
			first := time.Duration(-1)
			_, err := runHostsWith(s, c, hostTraffic(s, seed), seed, func(o group.Outlier[int]) {
				at := o.At.Sub(epoch)
				switch {
				case !o.Opened:
				case len(s.Bad) == 0 || o.Key != s.Bad[0]:
					opens++
				case at >= s.FaultStart && at < s.FaultEnd && first < 0:
					first = at - s.FaultStart
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if first < 0 {
				missed++
			} else {
				total += first
			}
		}
		if n := int(seeds) - missed; n > 0 {
			detect = total / time.Duration(n)
		}
		return float64(opens) / float64(seeds), detect, missed
	}
	fmt.Fprintf(os.Stdout, "%d seeds, %g calls/s per host\n", seeds, base.Rate)
	fmt.Fprintf(os.Stdout, "%-24s %-40s %s\n", "scenario", "envoy (NoNoiseTest)", "with the noise test (default)")
	for _, errs := range []float64{0.01, 0.05} {
		s := base
		s.Name, s.Errors = fmt.Sprintf("healthy, %g%%", errs*100), errs
		var cells []string
		for i := range candidates {
			w, _, _ := run(&s, &candidates[i])
			cells = append(cells, fmt.Sprintf("%.2f healthy opens", w))
		}
		fmt.Fprintf(os.Stdout, "%-24s %-40s %s\n", s.Name, cells[0], cells[1])
	}
	for _, errs := range []float64{0.01, 0.05} {
		for _, bad := range []float64{0.1, 0.15, 0.3, 0.5, 1} {
			s := base
			s.Name, s.Errors = fmt.Sprintf("bad %g%%, base %g%%", bad*100, errs*100), errs
			s.Bad, s.BadErrors, s.FaultStart, s.FaultEnd = []int{0}, bad, 2*time.Minute, 7*time.Minute
			var cells []string
			for i := range candidates {
				w, d, missed := run(&s, &candidates[i])
				cells = append(cells, fmt.Sprintf("%.1fs (missed %d), %.2f healthy opens", d.Seconds(), missed, w))
			}
			fmt.Fprintf(os.Stdout, "%-24s %-40s %s\n", s.Name, cells[0], cells[1])
		}
	}
}
