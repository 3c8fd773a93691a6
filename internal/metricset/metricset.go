// Package metricset is the set of breakers and groups that an exporter
// reports (the prombreaker and otelbreaker modules share it): breakers added one by
// one, and groups read afresh at each collection.
package metricset

import (
	"iter"
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

// Set holds what an exporter reports. The zero value is empty and ready to
// use. It is safe for concurrent use.
type Set struct {
	mu       sync.Mutex
	breakers []Breaker
	groups   []Group
}

// Add adds one breaker.
func (s *Set) Add(b Breaker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.breakers = append(s.breakers, b)
}

// AddGroup adds a group.
func (s *Set) AddGroup(g Group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = append(s.groups, g)
}

// All returns an iterator over the metrics of every breaker in the set,
// read as it iterates, with no lock held.
func (s *Set) All() iter.Seq[breaker.Metrics] {
	return func(yield func(breaker.Metrics) bool) {
		s.mu.Lock()
		// Add and AddGroup only append, so these slices stay as they are.
		breakers, groups := s.breakers, s.groups
		s.mu.Unlock()
		for _, b := range breakers {
			if !yield(b.Metrics()) {
				return
			}
		}
		for _, g := range groups {
			for m := range g.Metrics() {
				if !yield(m) {
					return
				}
			}
		}
	}
}
