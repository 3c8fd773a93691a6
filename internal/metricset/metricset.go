// Package metricset is the set of breakers and groups that an exporter
// reports (the prombreaker and otelbreaker modules share it): breakers added
// one by one, and groups read afresh at each collection, with one breaker
// reported per name, and with each breaker its shadow candidates.
package metricset

import (
	"cmp"
	"iter"
	"slices"
	"strings"
	"sync"

	"github.com/tripwire-go/tripwire/breaker"
)

// Breaker is one breaker to report; *breaker.Breaker[T] implements it.
type Breaker interface {
	Metrics() breaker.Metrics
}

// Group is a changing set of breakers to report; *group.Group[K, T]
// implements it.
type Group interface {
	Metrics() iter.Seq[breaker.Metrics]
}

// States are the states of a circuit, in the order exporters report them.
var States = [...]breaker.State{breaker.Closed, breaker.HalfOpen, breaker.Open}

// Count is one of a breaker's call counts and the outcome exporters label
// it with.
type Count struct {
	Outcome string
	N       uint64
}

// Counts returns the call counts of m by outcome, in the order exporters
// report them. They mean something only when m.Counted is true.
func Counts(m breaker.Metrics) [4]Count {
	return [...]Count{
		{"success", m.Successes},
		{"failure", m.Failures},
		{"ignored", m.Ignored},
		{"rejected", m.Rejected},
	}
}

// Modes are the manual modes of a circuit, in the order exporters report
// them.
var Modes = [...]breaker.Mode{breaker.ModeNone, breaker.ModeForcedOpen, breaker.ModeDisabled}

// Counter is one count of a breaker or a shadow candidate, with the name
// and description exporters give it.
type Counter struct {
	// Name is the last part of the metric's name, as "trips".
	Name string
	// Unit is the count's unit, for exporters that take one, as "{trip}".
	Unit string
	// Help says what the count counts.
	Help string
	N    uint64
}

// OpenCounts returns the counts of openings of m, by what opened the
// circuit, in the order exporters report them: "trips", "reopens",
// "manual_opens" and "external_opens". One word, one meaning: a trip is the
// policy's, and the other openings are named apart.
func OpenCounts(m breaker.Metrics) [4]Counter {
	return [...]Counter{
		{"trips", "{trip}", "Times the policy opened the closed circuit.", m.Trips},
		{"reopens", "{reopen}", "Times a failed half-open probe opened the circuit again.", m.Reopens},
		{"manual_opens", "{open}", "Times Trip, TripFor or ForceOpen opened the circuit, or gave an open one a new period or mode.", m.ManualOpens},
		{"external_opens", "{open}", "Times the circuit was opened by a decision adopted from a coordinator (Adopt).", m.ExternalOpens},
	}
}

// ShadowCounts returns the counts of the shadow candidate s, in the order
// exporters report them: "trips" and "reopens", named as a breaker's since
// they count what a breaker with the candidate's settings would have
// counted, then "calls", "would_reject" and "panics".
func ShadowCounts(s breaker.ShadowStatus) [5]Counter {
	return [...]Counter{
		{"trips", "{trip}", "Times the candidate's policy would have opened its closed circuit.", s.Trips},
		{"reopens", "{reopen}", "Times a failed probe would have opened the candidate's circuit again.", s.Reopens},
		{"calls", "{call}", "Calls offered to the candidate: every call the live breaker let run.", s.Calls},
		{"would_reject", "{call}", "Calls offered to the candidate that it would have rejected (open, or half-open with its probe slots taken); they ran all the same.", s.WouldReject},
		{"panics", "{panic}", "Panics recovered from the candidate's policy, or from OnTransition delivering one of its transitions.", s.Panics},
	}
}

// Shadower is a breaker with shadow candidates; *breaker.Breaker[T] is
// one. Exporters find it by type assertion on the breakers they are given,
// since their own interfaces and breaker.Circuit stay as they are.
type Shadower interface {
	Shadows() []breaker.ShadowStatus
}

// Shadows returns the shadow candidates of b, when b is a [Shadower], as
// exporters report them: at most breaker.MaxShadows, each name made valid
// UTF-8 and reported once (the first candidate of a name), so that the
// series of one breaker are bounded and never collide. The breakers of
// package breaker give nothing to drop; a Shadower of one's own might.
func Shadows(b any) []breaker.ShadowStatus {
	s, ok := b.(Shadower)
	if !ok {
		return nil
	}
	all := s.Shadows()
	if len(all) == 0 {
		return nil
	}
	out := make([]breaker.ShadowStatus, 0, min(len(all), breaker.MaxShadows))
	for _, st := range all {
		if len(out) == breaker.MaxShadows {
			break
		}
		st.Name = strings.ToValidUTF8(st.Name, "\uFFFD")
		if slices.ContainsFunc(out, func(o breaker.ShadowStatus) bool { return o.Name == st.Name }) {
			continue
		}
		out = append(out, st)
	}
	return out
}

// Collision is a name that several breakers had in one collection: the
// first was reported, Extra more were left out.
type Collision struct {
	Name  string
	Extra int
}

// Set holds what an exporter reports. The zero value is empty and ready to
// use. It is safe for concurrent use.
type Set struct {
	mu       sync.Mutex
	breakers []Breaker
	names    map[string]bool // of breakers
	groups   []Group
}

// Name returns the name under which m is reported: m.Name made valid
// UTF-8, since exporters' label values must be.
func Name(m breaker.Metrics) string { return strings.ToValidUTF8(m.Name, "\uFFFD") }

// Add adds b, unless a breaker added before has its name (as Name gives
// it); it reports whether it added b. Groups are not consulted: what they
// hold changes, and Collect handles their collisions.
func (s *Set) Add(b Breaker) bool {
	name := Name(b.Metrics())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names[name] {
		return false
	}
	if s.names == nil {
		s.names = make(map[string]bool)
	}
	s.names[name] = true
	s.breakers = append(s.breakers, b)
	return true
}

// AddGroup adds a group.
func (s *Set) AddGroup(g Group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = append(s.groups, g)
}

// Collect calls fn with the metrics of every breaker in the set, read now,
// and its shadow candidates as [Shadows] gives them, with no lock held:
// first the breakers added one by one, then each group's in the order they
// were added. A group that is also a breaker.CircuitSet (*group.Group and
// [Registry] are) is read through its Circuits, whose breakers carry their
// candidates; another through its Metrics, without candidates.
//
// Each name (as Name gives it, and as m.Name is when fn sees it) is
// reported once: a breaker whose name was already reported in this
// collection is left out, with its candidates, and counted in the
// collisions Collect returns, sorted by name. An exporter that sent two
// breakers of one name would fail the whole scrape (Prometheus) or report a
// mix of the two (OpenTelemetry).
func (s *Set) Collect(fn func(m breaker.Metrics, shadows []breaker.ShadowStatus)) []Collision {
	s.mu.Lock()
	// Add and AddGroup only append, so these slices stay as they are.
	breakers, groups := s.breakers, s.groups
	s.mu.Unlock()
	seen := make(map[string]bool, len(breakers))
	var extra map[string]int
	// report reports m, the metrics of b (nil when the group gave no
	// breaker), and b's candidates, read after the name is found free.
	report := func(m breaker.Metrics, b any) {
		m.Name = Name(m)
		if seen[m.Name] {
			if extra == nil {
				extra = make(map[string]int)
			}
			extra[m.Name]++
			return
		}
		seen[m.Name] = true
		fn(m, Shadows(b))
	}
	for _, b := range breakers {
		report(b.Metrics(), b)
	}
	for _, g := range groups {
		if cs, ok := g.(breaker.CircuitSet); ok {
			for c := range cs.Circuits() {
				if c != nil {
					report(c.Metrics(), c)
				}
			}
			continue
		}
		for m := range g.Metrics() {
			report(m, nil)
		}
	}
	if extra == nil {
		return nil
	}
	cs := make([]Collision, 0, len(extra))
	for name, n := range extra {
		cs = append(cs, Collision{name, n})
	}
	slices.SortFunc(cs, func(a, b Collision) int { return cmp.Compare(a.Name, b.Name) })
	return cs
}

// Registry reads a breaker.Registry as a Group: its circuits, listed
// afresh at each collection, so that an exporter and the console read one
// list.
type Registry struct{ R *breaker.Registry }

// Circuits returns every circuit of the registry, as it lists them; Collect
// reads a Registry through it, to find the circuits' candidates.
func (r Registry) Circuits() iter.Seq[breaker.Circuit] { return r.R.Circuits() }

// Metrics returns the metrics of every circuit of the registry.
func (r Registry) Metrics() iter.Seq[breaker.Metrics] {
	return func(yield func(breaker.Metrics) bool) {
		for c := range r.R.Circuits() {
			if !yield(c.Metrics()) {
				return
			}
		}
	}
}
