package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// group is what [Any] and [All] share: their children, and the Reset,
// binding and String that apply to each child in turn.
type group struct {
	owner
	name string // the constructor's name, for errors
	ps   []Policy
}

// Reset resets every child.
func (g *group) Reset() {
	for _, p := range g.ps {
		if p != nil {
			p.Reset()
		}
	}
}

// bind reports an empty list of children or a nil child, binds every
// child (an error names its index and wraps the child's error), claims the
// group, and returns the judges of the children that have one. A child
// given to another breaker, or twice to this group (it would record every
// call twice), fails with an error wrapping [ErrShared]. A failed Bind
// releases the claims it made (see [Bind]).
func (g *group) bind(b *Binding) (judges []ProbeJudge, err error) {
	if len(g.ps) == 0 {
		return nil, argError(g.name, "ps", "must hold at least one policy, got none")
	}
	for i, p := range g.ps {
		if p == nil {
			return nil, argError(g.name, "ps["+strconv.Itoa(i)+"]", "is nil")
		}
		if isNil(p) {
			return nil, argError(g.name, "ps["+strconv.Itoa(i)+"]", "is a nil "+typeName(p))
		}
	}
	if err := g.claim(b); err != nil {
		return nil, err
	}
	ex := groupExplainer{name: strings.ToLower(g.name)}
	for i, p := range g.ps {
		t, err := b.Child(p)
		if err != nil {
			return nil, childError(g.name, i, err)
		}
		if t.Judge != nil {
			judges = append(judges, t.Judge)
		}
		ex.children = append(ex.children, t)
	}
	b.Explain(ex)
	return judges, nil
}

// Bind binds every child, asks for what any of them needs, and judges a
// half-open probe failed when any child judges it failed: the policy trips
// when any child trips.
func (p *AnyPolicy) Bind(b *Binding) error {
	judges, err := p.bind(b)
	if len(judges) > 0 {
		b.JudgeProbes(anyJudge(judges))
	}
	return err
}

// Bind binds every child, asks for what any of them needs, and judges a
// half-open probe failed when every child judges it failed (a child that
// is no judge goes by the outcome, so a probe that succeeded fails only
// if every child is a judge that fails it): the policy trips when every
// child trips.
func (p *AllPolicy) Bind(b *Binding) error {
	judges, err := p.bind(b)
	if len(judges) == len(p.ps) && len(judges) > 0 {
		b.JudgeProbes(allJudge(judges))
	}
	return err
}

// anyJudge fails a probe that any of its judges fails.
type anyJudge []ProbeJudge

func (js anyJudge) ProbeFailed(c Call) bool {
	for _, j := range js {
		if j.ProbeFailed(c) {
			return true
		}
	}
	return false
}

// allJudge fails a probe that every one of its judges fails.
type allJudge []ProbeJudge

func (js allJudge) ProbeFailed(c Call) bool {
	for _, j := range js {
		if !j.ProbeFailed(c) {
			return false
		}
	}
	return true
}

// String describes the policy and its children, for logs and the lab.
func (g *group) String() string {
	parts := make([]string, len(g.ps))
	for i, p := range g.ps {
		if s, ok := p.(fmt.Stringer); ok && !isNil(p) {
			parts[i] = s.String()
		} else {
			parts[i] = fmt.Sprintf("%T", p) // a custom policy's fields may be many, or secret
		}
	}
	return strings.ToLower(g.name) + "(" + strings.Join(parts, ", ") + ")"
}

// AnyPolicy trips when any of its children trips. Build one with [Any]; the
// zero value is not usable.
//
// It is as safe for concurrent use as its children (the built-in ones all
// are), and adds no lock and no allocation of its own.
type AnyPolicy struct{ group }

// Any returns a policy that trips when any of ps trips. Every child records
// every call, whether or not an earlier child tripped on it, so each keeps
// an accurate count. Any(Consecutive(5), Rate(0.5, 20, time.Minute)) opens
// the circuit on a hard outage at once, and on a partial one within a
// minute.
//
// Use it to guard against several kinds of trouble at once: failures and
// slowness ([Slow]), or a fast reaction to outages together with a
// patient one to partial failure. An empty ps, a nil child or an invalid
// child is reported by breaker.New as an invalid configuration, and so is a
// child that is already used by another breaker.
func Any(ps ...Policy) *AnyPolicy {
	return &AnyPolicy{group{name: "Any", ps: slices.Clone(ps)}}
}

// Record gives c to every child and reports whether any of them tripped.
func (p *AnyPolicy) Record(c Call) bool {
	trip := false
	for _, q := range p.ps {
		if q != nil && q.Record(c) {
			trip = true
		}
	}
	return trip
}

// AllPolicy trips on a call for which every one of its children trips.
// Build one with [All]; the zero value is not usable.
//
// It is as safe for concurrent use as its children (the built-in ones all
// are), and adds no lock and no allocation of its own.
type AllPolicy struct{ group }

// All returns a policy that trips on a call when every child, having
// recorded that call, reports true for it. Every child records every call.
// All(Rate(0.5, 20, time.Minute), Window(100, time.Minute)) opens the
// circuit when half of the last minute's calls failed and there were at
// least 100 failures among them: a high rate that is also a large number.
//
// The verdicts are combined call by call, not remembered: a child that
// tripped on an earlier call but not on this one holds All back. So All
// asks that every condition hold at the same time, which is what one
// means by "high error rate and slow calls"; remembering verdicts until
// Reset would instead combine a burst an hour ago with a different
// trouble now. It relies on children that report their current condition
// on every call, successes included, as the built-in ones do: [Consecutive]
// is true while the failure streak is long enough, [Window], [Rate],
// [LastN] and [Slow] while their window holds enough. A custom child that
// reports true only once, on the call that crossed its threshold, can take
// part only if the others agree on that very call.
//
// Use it to make a policy more patient: to demand both a high rate and a
// minimum number of failures, or errors and slowness together. An empty
// ps, a nil child or an invalid child is reported by breaker.New as an
// invalid configuration, and so is a child that is already used by another
// breaker.
func All(ps ...Policy) *AllPolicy {
	return &AllPolicy{group{name: "All", ps: slices.Clone(ps)}}
}

// Record gives c to every child and reports whether all of them tripped on
// it.
func (p *AllPolicy) Record(c Call) bool {
	trip := len(p.ps) > 0
	for _, q := range p.ps {
		if q == nil || !q.Record(c) {
			trip = false
		}
	}
	return trip
}
