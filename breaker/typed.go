package breaker

// View returns a breaker for calls that return an R on b's circuit: one
// dependency, one circuit, whatever each call returns. A database that
// answers a *User here and a []Order there gets one Breaker for each result
// type, both views of the same circuit, rather than a Breaker[any] with
// type assertions or two circuits that trip apart.
//
// The view shares everything of the circuit with b and with every other
// view of it: state, policy, open periods, probe slots, metrics, the
// callbacks of b's Config (OnStateChange, OnTransition) and Subscribe
// listeners, the name and the clock. A failure through any of them counts
// towards the same trip; Trip, Reset or ForceOpen on any of them moves all
// of them. Its Execute and Allow are b's, at the same cost.
//
// What a view does not share is classification, since b's Config.Classify
// takes a T. classify decides how calls of the view count, as
// Config.Classify does for b; nil means the default (a nil error is a
// Success, any other a Failure). The caller-cancellation rule applies
// before it, as for every Execute. To classify errors alike on every view,
// write the rule once as a func(error) Outcome and call it from each
// view's classify and from b's.
//
// Build a view once, next to b, not per call: View allocates the small
// value it returns. A view of a view is a view of the same circuit.
//
// View panics if b is nil: a view of no circuit would fail on its first
// call instead, far from the mistake.
func View[R, T any](b *Breaker[T], classify func(R, error) Outcome) *Breaker[R] {
	if b == nil {
		panic("breaker: View of a nil *Breaker")
	}
	return &Breaker[R]{
		core:           b.core,
		classify:       classify,
		fastSuccess:    classify == nil && b.counters == nil,
		countedSuccess: classify == nil && b.counters != nil,
	}
}
