package lab

import (
	"bytes"
	"strings"
	"testing"
)

// The recovery lab repeats bit for bit, and shows each option winning
// where docs/recovery.md says it does.
func TestRecoveryRun(t *testing.T) {
	run := func() (*RecoveryReport, string) {
		rep, err := RunRecovery(BuiltinRecovery(), DefaultRecoveryCandidates(), 1)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := rep.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		return rep, b.String()
	}
	rep, first := run()
	if _, again := run(); again != first {
		t.Fatal("two runs with one seed differ")
	}
	row := func(scenario, candidate string) RecoveryResult {
		for i, s := range rep.Scenarios {
			if s.Name != scenario {
				continue
			}
			for _, r := range rep.Results[i] {
				if r.Candidate == candidate {
					return r
				}
			}
		}
		t.Fatalf("no row %s / %s in\n%s", scenario, candidate, first)
		return RecoveryResult{}
	}
	if a, b := row("capacity-returns", "rate(0.5,20,10s)@ramp=30s"), row("capacity-returns", "rate(0.5,20,10s)"); a.Served <= b.Served || a.Failed >= b.Failed {
		t.Errorf("capacity-returns: the ramp served %d failed %d, without it %d and %d", a.Served, a.Failed, b.Served, b.Failed)
	}
	if a, b := row("retry-storm", "throttle(2,10s)"), row("retry-storm", "consecutive(5)"); a.Served <= b.Served {
		t.Errorf("retry-storm: the throttle served %d, consecutive(5) %d", a.Served, b.Served)
	}
	if a, b := row("rate-limited", "consecutive(5)@retry-after-max=1m"), row("rate-limited", "consecutive(5)"); a.Served <= b.Served || a.Failed >= b.Failed {
		t.Errorf("rate-limited: retry-after served %d failed %d, consecutive(5) %d and %d", a.Served, a.Failed, b.Served, b.Failed)
	}
	if !strings.Contains(first, "no breaker") {
		t.Error("no row without a breaker")
	}
}

func TestRecoveryScenarioValidate(t *testing.T) {
	s := BuiltinRecovery()[0]
	s.Capacity = []CapacityPoint{{At: 10}, {At: 5}}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "capacity[1]") {
		t.Fatalf("Validate: %v", err)
	}
	s = BuiltinRecovery()[2]
	s.Penalty = 0
	if _, err := RunRecovery([]RecoveryScenario{s}, DefaultRecoveryCandidates()[:1], 1); err == nil {
		t.Fatal("a quota without a penalty ran")
	}
}
