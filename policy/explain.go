package policy

import (
	"strconv"
	"strings"
	"time"
)

// Account is a policy's account of what it counts now, against what, over
// which window: the reason it gives when it has tripped a circuit. The
// breaker asks for it only when the policy trips (never on the path of a
// call) and puts it in the transition's evidence, where logs, exporters
// and the console read it.
//
// The zero value is the account of a policy that gives none.
type Account struct {
	// Rule names the rule that decided: "consecutive", "window", "rate",
	// "lastn", "slow", "when", or what a custom policy calls itself. For
	// [All], whose children decide together, it is "all". It is a short,
	// fixed word per rule, fit for a metric's label.
	Rule string `json:"rule"`
	// Path says which child of [Any] or [All] decided, as "any[1]" or
	// "all[0].any[2]"; it is empty for a policy that is not a combinator's
	// child. Like Rule it comes from the policy's shape, never from a
	// call, so it is bounded.
	Path string `json:"path,omitempty"`
	// Tripped reports whether the rule's condition holds now.
	Tripped bool `json:"tripped"`
	// Counted is what the rule counts (failures, slow calls), and Calls,
	// when the rule judges a share, how many calls it counted them among.
	Counted int64 `json:"counted"`
	Calls   int64 `json:"calls,omitempty"`
	// Over is the trailing window the rule counts in; zero for a rule that
	// counts calls rather than time (Consecutive, LastN).
	Over time.Duration `json:"over,omitempty"`
	// Text says it all in one line, for a person:
	// "rate: 12 of 31 calls failed (38.7% ≥ 25%) in the last 10s".
	Text string `json:"text"`
	// Children are the accounts of an All's children, which decided
	// together; nil otherwise.
	Children []Account `json:"children,omitempty"`
}

// String returns a.Text, or a word saying there is no account.
func (a Account) String() string {
	if a.Text == "" {
		return "(no account)"
	}
	return a.Text
}

// An Explainer gives a policy's [Account] of its state at now. A policy
// names its explainer when it is bound ([Binding.Explain]), as every
// built-in one does; a custom policy that names none is reported by its
// type alone.
//
// Explain is called with no lock held, after the policy tripped, from
// whichever goroutine delivers the transition: it must be safe for
// concurrent use with Record, and should only read. It is never on the
// path of a call.
type Explainer interface {
	Explain(now time.Time) Account
}

// ExplainerFunc lets an ordinary function serve as an [Explainer].
type ExplainerFunc func(now time.Time) Account

// Explain returns f(now).
func (f ExplainerFunc) Explain(now time.Time) Account { return f(now) }

// Explain makes e the explainer of the policy being bound: the breaker
// asks it for the policy's account when the policy trips. On a Binding
// that Bind did not make it does nothing.
func (b *Binding) Explain(e Explainer) {
	if b.live() {
		b.terms.Explainer = e
	}
}

// Explain returns the account of the policy whose terms t are, at now: its
// explainer's, or, for a policy that names none, an account that says so.
func (t Terms) Explain(now time.Time) Account {
	if t.Explainer == nil {
		return Account{Rule: "custom", Text: "the policy gives no account (it names no Explainer when bound)"}
	}
	return t.Explainer.Explain(now)
}

// percent writes part/of as a percentage with one decimal.
func percent(part, of int64) string {
	if of == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100*float64(part)/float64(of), 'f', 1, 64) + "%"
}

// ratioPercent writes a ratio as the shortest percentage that reads back.
func ratioPercent(r float64) string {
	return strconv.FormatFloat(100*r, 'g', 4, 64) + "%"
}

// shareText writes a share's account: "12 of 31 calls failed (38.7% ≥
// 25%)", or, below minCalls, that the share is not judged yet.
func (s share) text(part, calls int64, what string) string {
	head := strconv.FormatInt(part, 10) + " of " + strconv.FormatInt(calls, 10) + " calls " + what
	if calls < max(s.minCalls, 1) {
		return head + " (fewer than " + strconv.FormatInt(s.minCalls, 10) + " calls: not judged)"
	}
	op := " < "
	if s.reached(part, calls) {
		op = " ≥ "
	}
	return head + " (" + percent(part, calls) + op + ratioPercent(s.ratio) + ")"
}

// Explain gives the current streak against the threshold:
// "consecutive: 5 failures in a row (threshold 5)".
func (p *ConsecutivePolicy) Explain(time.Time) Account {
	n := p.streak.Load()
	return Account{
		Rule: "consecutive", Tripped: n >= max(p.failures, 1), Counted: n,
		Text: "consecutive: " + strconv.FormatInt(n, 10) + " failures in a row (threshold " + strconv.FormatInt(p.failures, 10) + ")",
	}
}

// Explain gives the failures of the trailing window at now against the
// threshold: "window: 5 failures (threshold 5) in the last 1m0s".
func (p *WindowPolicy) Explain(now time.Time) Account {
	s := p.win().Sum(now)
	return Account{
		Rule: "window", Tripped: s.Failures >= max(p.failures, 1), Counted: s.Failures, Calls: s.Calls, Over: p.over,
		Text: "window: " + strconv.FormatInt(s.Failures, 10) + " failures of " + strconv.FormatInt(s.Calls, 10) +
			" calls (threshold " + strconv.FormatInt(p.failures, 10) + ") in the last " + p.over.String(),
	}
}

// Explain gives the share of failures of the trailing window at now:
// "rate: 12 of 31 calls failed (38.7% ≥ 25%) in the last 10s".
func (p *RatePolicy) Explain(now time.Time) Account {
	s := p.win().Sum(now)
	return Account{
		Rule: "rate", Tripped: p.reached(s.Failures, s.Calls), Counted: s.Failures, Calls: s.Calls, Over: p.over,
		Text: "rate: " + p.share.text(s.Failures, s.Calls, "failed") + " in the last " + p.over.String(),
	}
}

// Explain gives the share of slow calls of the trailing window at now:
// "slow: 18 of 20 calls slower than 1s (90.0% ≥ 80%) in the last 1m0s".
func (p *SlowPolicy) Explain(now time.Time) Account {
	s := p.win().Sum(now)
	return Account{
		Rule: "slow", Tripped: p.reached(s.Slow, s.Calls), Counted: s.Slow, Calls: s.Calls, Over: p.over,
		Text: "slow: " + p.share.text(s.Slow, s.Calls, "slower than "+p.threshold.String()) + " in the last " + p.over.String(),
	}
}

// Explain gives the share of failures among the last n calls:
// "lastn: 50 of 100 calls failed (50.0% ≥ 50%) among the last 100".
func (p *LastNPolicy) Explain(time.Time) Account {
	s := p.w.Sum()
	return Account{
		Rule: "lastn", Tripped: p.reached(s.Failures, s.Calls), Counted: s.Failures, Calls: s.Calls,
		Text: "lastn: " + p.share.text(s.Failures, s.Calls, "failed") + " among the last " + strconv.FormatInt(p.n, 10),
	}
}

// Explain gives the counts the predicate judges, and its verdict on them
// now: "when: 12 failures, 0 slow, of 31 calls in the last 10s; 3 failures
// in a row (predicate true)". It calls the predicate once.
func (p *WhenPolicy) Explain(now time.Time) Account {
	s := p.win().Sum(now)
	n := Counts{Calls: s.Calls, Failures: s.Failures, Slow: s.Slow}
	if k := p.streak.Load(); k > 0 {
		n.ConsecutiveFailures = k
	} else {
		n.ConsecutiveSuccesses = -k
	}
	tripped := p.trip != nil && p.trip(n)
	return Account{
		Rule: "when", Tripped: tripped, Counted: s.Failures, Calls: s.Calls, Over: p.over,
		Text: "when: " + strconv.FormatInt(s.Failures, 10) + " failures, " + strconv.FormatInt(s.Slow, 10) + " slow, of " +
			strconv.FormatInt(s.Calls, 10) + " calls in the last " + p.over.String() + "; " +
			strconv.FormatInt(n.ConsecutiveFailures, 10) + " failures in a row (predicate " + strconv.FormatBool(tripped) + ")",
	}
}

// groupExplainer explains an Any or All from its children's accounts.
type groupExplainer struct {
	name     string // "any" or "all"
	children []Terms
}

// child returns the account of child i, with its path under the group's.
func (g groupExplainer) child(i int, now time.Time) Account {
	a := g.children[i].Explain(now)
	p := g.name + "[" + strconv.Itoa(i) + "]"
	if a.Path != "" {
		p += "." + a.Path
	}
	a.Path = p
	return a
}

// Explain gives, for Any, the account of the first child whose condition
// holds (the one that decided), prefixed with its path; for All, the
// accounts of every child, which decided together.
func (g groupExplainer) Explain(now time.Time) Account {
	if g.name == "any" {
		var first Account
		for i := range g.children {
			a := g.child(i, now)
			if i == 0 {
				first = a
			}
			if a.Tripped {
				a.Text = a.Path + " " + a.Text
				return a
			}
		}
		first.Text = first.Path + " " + first.Text + " (no child's condition holds now)"
		return first
	}
	acc := Account{Rule: "all", Tripped: len(g.children) > 0}
	texts := make([]string, len(g.children))
	for i := range g.children {
		a := g.child(i, now)
		acc.Children = append(acc.Children, a)
		acc.Tripped = acc.Tripped && a.Tripped
		texts[i] = a.Path + " " + a.Text
	}
	acc.Text = "all: " + strings.Join(texts, "; ")
	return acc
}
