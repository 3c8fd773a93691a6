package group

import (
	"iter"

	"github.com/tripwire-go/tripwire/breaker"
)

// Circuits returns the group's breakers as breaker.Circuits, as All lists
// them, so that a group can be registered whole in a breaker.Registry
// (Registry.AddSet) and read by the exporters and the console: the
// breakers it creates later are listed too, and those it evicts no more.
func (g *Group[K, T]) Circuits() iter.Seq[breaker.Circuit] {
	return func(yield func(breaker.Circuit) bool) {
		for _, b := range g.All() {
			if !yield(b) {
				return
			}
		}
	}
}

var _ breaker.CircuitSet = (*Group[string, int])(nil)
