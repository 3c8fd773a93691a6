package policy_test

import (
	"fmt"
	"time"

	"github.com/tripwire-go/tripwire/policy"
)

// A half-open probe that succeeded in 2s: Slow judges it failed, for the
// dependency is still slow. Any fails it when one child does, All only when
// every child does; a policy that is no judge goes by the outcome.
func ExampleProbeFailed() {
	slow := func() policy.Policy { return policy.Slow(time.Second, 0.5, 20, time.Minute) }
	probe := policy.Call{At: noon, Duration: 2 * time.Second}
	for _, p := range []policy.Policy{
		policy.Consecutive(5),
		slow(),
		policy.Any(policy.Consecutive(5), slow()),
		policy.All(policy.Consecutive(5), slow()),
	} {
		fmt.Printf("%v: failed=%v\n", p, policy.ProbeFailed(p, probe))
	}
	// Output:
	// consecutive(5): failed=false
	// slow(1s, 0.5, 20, 1m0s): failed=true
	// any(consecutive(5), slow(1s, 0.5, 20, 1m0s)): failed=true
	// all(consecutive(5), slow(1s, 0.5, 20, 1m0s)): failed=false
}

// strictProbes trips like Consecutive(3) while the circuit is closed, and
// holds half-open probes to a deadline of 200ms: a policy of one's own that
// judges probes. It asks for durations (Needer) and embeds a built-in
// policy for Record, Reset, Validate and Claim.
type strictProbes struct {
	*policy.ConsecutivePolicy
}

func (strictProbes) Needs() policy.Needs { return policy.NeedDuration }

func (strictProbes) ProbeFailed(c policy.Call) bool {
	return c.Failed || c.Duration > 200*time.Millisecond
}

// A custom policy becomes a judge of probes by having a ProbeFailed method.
func ExampleProbeJudge() {
	var p policy.Policy = strictProbes{policy.Consecutive(3)}
	_, judges := p.(policy.ProbeJudge)
	fmt.Println("judges probes:", judges)
	for _, d := range []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond} {
		fmt.Printf("probe ok in %v: failed=%v\n", d, policy.ProbeFailed(p, policy.Call{Duration: d}))
	}
	// Output:
	// judges probes: true
	// probe ok in 50ms: failed=false
	// probe ok in 200ms: failed=false
	// probe ok in 300ms: failed=true
}
