package policy

import "time"

// This file holds the policies' judgement of half-open probes: see
// [ProbeJudge].

// slowJudge fails a probe that failed, or ran longer than its threshold:
// a slow success shows the dependency is still as slow as when the policy
// tripped. It reads c.Duration() and nothing of the window, so judging a
// probe changes nothing the policy counts.
type slowJudge time.Duration

func (j slowJudge) ProbeFailed(c Call) bool {
	return c.Failed || c.Duration() > time.Duration(j)
}
