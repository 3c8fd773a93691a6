package policy_test

import (
	"fmt"
	"time"

	"github.com/tripwire-go/tripwire/policy"
)

// A half-open probe that succeeded in 2s: Slow judges it failed, for the
// dependency is still slow. Any fails it when one child does, All only when
// every child does; a policy that is no judge goes by the outcome.
func ExampleTerms_ProbeFailed() {
	slow := func() policy.Policy { return policy.Slow(time.Second, 0.5, 20, time.Minute) }
	probe := policy.Call{At: noon}.WithDuration(2 * time.Second)
	for _, p := range []policy.Policy{
		policy.Consecutive(5),
		slow(),
		policy.Any(policy.Consecutive(5), slow()),
		policy.All(policy.Consecutive(5), slow()),
	} {
		terms, err := policy.Check(p) // the terms breaker.New would find
		if err != nil {
			panic(err)
		}
		fmt.Printf("%v: failed=%v\n", p, terms.ProbeFailed(probe))
	}
	// Output:
	// consecutive(5): failed=false
	// slow(1s, 0.5, 20, 1m0s): failed=true
	// any(consecutive(5), slow(1s, 0.5, 20, 1m0s)): failed=true
	// all(consecutive(5), slow(1s, 0.5, 20, 1m0s)): failed=false
}

// strictProbes trips like Consecutive(3) while the circuit is closed, and
// holds half-open probes to a deadline of 200ms: a policy of one's own that
// judges probes. It embeds a built-in policy for Record and Reset, and its
// Bind binds that policy too (its checks and its claim), asks for
// durations and names itself the judge of probes.
type strictProbes struct {
	*policy.ConsecutivePolicy
}

func (p strictProbes) Bind(b *policy.Binding) error {
	if _, err := b.Child(p.ConsecutivePolicy); err != nil {
		return err
	}
	b.Need(policy.NeedDuration)
	b.JudgeProbes(p)
	return nil
}

func (strictProbes) ProbeFailed(c policy.Call) bool {
	return c.Failed || c.Duration() > 200*time.Millisecond
}

// A custom policy states its terms in a Bind method: here, that it needs
// durations and judges half-open probes by them.
func ExampleBinder() {
	var p policy.Policy = strictProbes{policy.Consecutive(3)}
	terms, err := policy.Bind(p) // what breaker.New does
	fmt.Println("needs durations:", terms.Needs&policy.NeedDuration != 0, "judges probes:", terms.Judge != nil, "err:", err)
	for _, d := range []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond} {
		fmt.Printf("probe ok in %v: failed=%v\n", d, terms.ProbeFailed(policy.Call{}.WithDuration(d)))
	}
	_, err = policy.Bind(p)
	fmt.Println("second breaker:", err)
	// Output:
	// needs durations: true judges probes: true err: <nil>
	// probe ok in 50ms: failed=false
	// probe ok in 200ms: failed=false
	// probe ok in 300ms: failed=true
	// second breaker: policy: already used by another breaker; give each breaker its own policy
}
