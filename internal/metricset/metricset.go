// Package metricset is the set of breakers and groups that an exporter
// reports (the prombreaker and otelbreaker modules share it): breakers added
// one by one, and groups read afresh at each collection, with one breaker
// reported per name.
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

// Opens is one of a breaker's counts of openings, by what opened the
// circuit, with the name and description exporters give it. One word, one
// meaning: a trip is the policy's, and the other openings are named apart.
type Opens struct {
	// Name is the last part of the metric's name: "trips", "reopens",
	// "manual_opens" or "external_opens".
	Name string
	// Unit is the count's unit, for exporters that take one: "{trip}",
	// "{reopen}", "{open}".
	Unit string
	// Help says what the count counts.
	Help string
	N    uint64
}

// OpenCounts returns the counts of openings of m, in the order exporters
// report them.
func OpenCounts(m breaker.Metrics) [4]Opens {
	return [...]Opens{
		{"trips", "{trip}", "Times the policy opened the closed circuit.", m.Trips},
		{"reopens", "{reopen}", "Times a failed half-open probe opened the circuit again.", m.Reopens},
		{"manual_opens", "{open}", "Times Trip, TripFor or ForceOpen opened the circuit, or gave an open one a new period or mode.", m.ManualOpens},
		{"external_opens", "{open}", "Times the circuit was opened by a decision adopted from a coordinator (Adopt).", m.ExternalOpens},
	}
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
// with no lock held: first the breakers added one by one, then each group's
// in the order they were added. Each name (as Name gives it, and as
// m.Name is when fn sees it) is reported once: a breaker whose name was
// already reported in this collection is left out, and counted in the
// collisions Collect returns, sorted by name. An exporter that sent two
// breakers of one name would fail the whole scrape (Prometheus) or report a
// mix of the two (OpenTelemetry).
func (s *Set) Collect(fn func(m breaker.Metrics)) []Collision {
	s.mu.Lock()
	// Add and AddGroup only append, so these slices stay as they are.
	breakers, groups := s.breakers, s.groups
	s.mu.Unlock()
	seen := make(map[string]bool, len(breakers))
	var extra map[string]int
	report := func(m breaker.Metrics) {
		m.Name = Name(m)
		if seen[m.Name] {
			if extra == nil {
				extra = make(map[string]int)
			}
			extra[m.Name]++
			return
		}
		seen[m.Name] = true
		fn(m)
	}
	for _, b := range breakers {
		report(b.Metrics())
	}
	for _, g := range groups {
		for m := range g.Metrics() {
			report(m)
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

// Registry reads a breaker.Registry as a Group: its circuits' metrics,
// listed afresh at each collection, so that an exporter and the console
// read one list.
type Registry struct{ R *breaker.Registry }

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
