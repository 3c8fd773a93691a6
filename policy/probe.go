package policy

// This file holds the policies' judgement of half-open probes: see
// [ProbeJudge].

// The built-in judges, pinned at compile time.
var (
	_ ProbeJudge = (*SlowPolicy)(nil)
	_ ProbeJudge = (*AnyPolicy)(nil)
	_ ProbeJudge = (*AllPolicy)(nil)
)

// ProbeFailed reports whether a half-open probe that finished as c counts
// as a failure under p: p.ProbeFailed(c) when p is a [ProbeJudge], else
// c.Failed.
func ProbeFailed(p Policy, c Call) bool {
	if j, ok := p.(ProbeJudge); ok {
		return j.ProbeFailed(c)
	}
	return c.Failed
}

// ProbeFailed reports whether a probe that finished as c failed, or ran
// longer than the threshold: a slow success shows the dependency is still
// as slow as when the policy tripped. It reads c.Duration and nothing of
// the window, so judging a probe changes nothing the policy counts.
func (p *SlowPolicy) ProbeFailed(c Call) bool {
	return c.Failed || c.Duration > p.threshold
}

// ProbeFailed reports whether any child judges a probe that finished as c
// failed; a child that is not a [ProbeJudge] judges by c.Failed. Any trips
// on any kind of trouble, so a probe showing any of them keeps the circuit
// open: under Any(Consecutive(5), Slow(...)) a slow success fails.
func (p *AnyPolicy) ProbeFailed(c Call) bool {
	for _, q := range p.ps {
		if q != nil && ProbeFailed(q, c) {
			return true
		}
	}
	return false
}

// ProbeFailed reports whether every child judges a probe that finished as
// c failed; a child that is not a [ProbeJudge] judges by c.Failed. All
// trips only when every condition holds at once, so a probe fails only
// when it shows all of them: under All(Rate(...), Slow(...)) a slow success
// closes the circuit, and a slow failure keeps it open.
func (p *AllPolicy) ProbeFailed(c Call) bool {
	for _, q := range p.ps {
		if q == nil || !ProbeFailed(q, c) {
			return false
		}
	}
	return len(p.ps) > 0
}
