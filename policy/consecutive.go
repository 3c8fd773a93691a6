package policy

import (
	"strconv"
	"sync/atomic"
)

// ConsecutivePolicy trips after a number of failures in a row. Build one
// with [Consecutive]; the zero value is not usable.
//
// It is safe for concurrent use and does not allocate. A success only reads
// the shared counter unless there is a failure streak to end, so that calls
// on a healthy dependency do not contend for a cache line.
type ConsecutivePolicy struct {
	owner
	failures int64
	streak   atomic.Int64
}

// Consecutive returns a policy that trips when failures calls in a row have
// failed. It is the default policy of a breaker, with failures = 5.
//
// Use it when any run of errors means the dependency is down: it reacts
// fastest to a hard outage and costs the least. A failures below 1 is
// reported by breaker.New as an invalid configuration.
func Consecutive(failures int) *ConsecutivePolicy {
	return &ConsecutivePolicy{failures: int64(failures)}
}

// Record counts c and reports whether the streak of failures reached the
// threshold.
func (p *ConsecutivePolicy) Record(c Call) bool {
	if !c.Failed {
		// A Load before the Store keeps a success path free of shared
		// writes while there is no streak to end.
		if p.streak.Load() != 0 {
			p.streak.Store(0)
		}
		return false
	}
	// Concurrent failures may each see the threshold; the state machine
	// opens the circuit once, whichever of them reports first.
	return p.streak.Add(1) >= max(p.failures, 1)
}

// Streak returns the number of failures in a row counted now. It only
// reads: the breaker uses it to skip the Record of a success that has no
// streak to end, which would change nothing.
func (p *ConsecutivePolicy) Streak() int { return int(p.streak.Load()) }

// Reset forgets the current streak.
func (p *ConsecutivePolicy) Reset() { p.streak.Store(0) }

// Bind reports a failures below 1, and claims the policy for one breaker.
// The policy needs nothing from the breaker: it reads only Call.Failed.
func (p *ConsecutivePolicy) Bind(b *Binding) error {
	if err := atLeast("Consecutive", "failures", p.failures, 1); err != nil {
		return err
	}
	b.Explain(p)
	return p.claim(b)
}

// String describes the policy, for logs and the lab.
func (p *ConsecutivePolicy) String() string {
	return "consecutive(" + strconv.FormatInt(p.failures, 10) + ")"
}
