package policy_test

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/policy"
)

// The judges of half-open probes: policy.ProbeJudge and its built-in
// implementations, which probe.go pins at compile time.

// Probes as the breaker reports them, judged against a threshold of a
// second.
var (
	fastProbe   = policy.Call{At: t0}.WithDuration(10 * time.Millisecond)
	edgeProbe   = policy.Call{At: t0}.WithDuration(time.Second)
	slowProbe   = policy.Call{At: t0}.WithDuration(time.Second + 1)
	failedProbe = policy.Call{At: t0, Failed: true}.WithDuration(10 * time.Millisecond)
)

func slow() policy.Policy { return policy.Slow(time.Second, 0.5, 5, time.Minute) }

// TestProbeFailed judges each kind of probe with each kind of policy: a
// policy that is no judge by the outcome, Slow by the duration too, Any by
// any child and All by every child.
func TestProbeFailed(t *testing.T) {
	tests := []struct {
		name                   string
		p                      policy.Policy
		fast, edge, slow, fail bool // the verdicts on the probes above
	}{
		{"consecutive", policy.Consecutive(3), false, false, false, true},
		{"window", policy.Window(3, time.Minute), false, false, false, true},
		{"rate", policy.Rate(0.5, 3, time.Minute), false, false, false, true},
		{"lastn", policy.LastN(0.5, 3, 10), false, false, false, true},
		{"custom", spy{trip: true}, false, false, false, true},
		{"slow", slow(), false, false, true, true},
		{"any(consecutive,slow)", policy.Any(policy.Consecutive(3), slow()), false, false, true, true},
		{"any(consecutive,rate)", policy.Any(policy.Consecutive(3), policy.Rate(0.5, 3, time.Minute)), false, false, false, true},
		{"all(consecutive,slow)", policy.All(policy.Consecutive(3), slow()), false, false, false, true},
		{"all(slow,slow)", policy.All(slow(), policy.Slow(2*time.Second, 0.5, 5, time.Minute)), false, false, false, true},
		{"all(slow,any(rate,slow))", policy.All(slow(), policy.Any(policy.Rate(0.5, 3, time.Minute), slow())), false, false, true, true},
		{"any(all(consecutive,slow),lastn)", policy.Any(policy.All(policy.Consecutive(3), slow()), policy.LastN(0.5, 3, 10)), false, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				name  string
				probe policy.Call
				want  bool
			}{
				{"fast", fastProbe, tt.fast}, {"at the threshold", edgeProbe, tt.edge},
				{"slow", slowProbe, tt.slow}, {"failed", failedProbe, tt.fail},
			} {
				if got := probeFailed(tt.p, c.probe); got != c.want {
					t.Errorf("ProbeFailed(%s probe %+v) = %v, want %v", c.name, c.probe, got, c.want)
				}
			}
		})
	}
}

// TestConformanceProbeFailed: every built-in policy judges a failed probe
// failed and a fast success passed, and judging counts nothing: a policy
// that has judged many slow probes has recorded none of them.
func TestConformanceProbeFailed(t *testing.T) {
	forEach(t, func(t *testing.T, b builtIn) {
		p := b.make()
		if !probeFailed(p, failedProbe) {
			t.Errorf("a failed probe passed")
		}
		if probeFailed(p, fastProbe) {
			t.Errorf("a fast successful probe failed")
		}
		for range 100 {
			probeFailed(p, bad)
		}
		recordBad(t, p, b.trips-1) // would trip if a probe had been recorded
		if !p.Record(bad) {
			t.Fatalf("bad call %d after judging probes did not trip", b.trips)
		}
	})
}

// TestProbeFailedDoesNotAllocate: the breaker judges every successful
// probe.
func TestProbeFailedDoesNotAllocate(t *testing.T) {
	forEach(t, func(t *testing.T, b builtIn) {
		terms, err := policy.Check(b.make())
		if err != nil {
			t.Fatal(err)
		}
		if allocs := testing.AllocsPerRun(1000, func() { terms.ProbeFailed(slowProbe) }); allocs != 0 {
			t.Fatalf("ProbeFailed allocates %v times per probe", allocs)
		}
	})
}

// TestProbeFailedInvalid: a policy that Validate would refuse still judges
// probes without panicking.
func TestProbeFailedInvalid(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    policy.Policy
	}{
		{"any()", policy.Any()},
		{"all()", policy.All()},
		{"any(nil)", policy.Any(nil)},
		{"all(nil)", policy.All(nil)},
		{"any(nil,slow)", policy.Any(nil, slow())},
		{"slow(-1s)", policy.Slow(-time.Second, 2, -1, -time.Minute)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []policy.Call{fastProbe, slowProbe, failedProbe} {
				probeFailed(tt.p, c)
			}
		})
	}
}
