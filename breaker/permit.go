package breaker

import "sync/atomic"

// Permit is the right to make one call, granted by [Breaker.Allow]. Use the
// two-step form when the call does not fit in a function: a stream, a
// callback API, a call whose result arrives elsewhere.
//
// Report the result with Done exactly once. A Done after the first, on any
// copy of the permit, does nothing; so does Done on the zero Permit. A
// permit reported after the circuit has moved on (tripped, closed, been
// reset) changes nothing but freeing its own half-open probe slot, which is
// gone already. A half-open permit that is never reported holds its probe
// slot until the circuit leaves half-open.
type Permit[T any] struct {
	b    *Breaker[T]
	t    ticket
	done *atomic.Bool
}

// Allow asks whether a call may be made now. When it may, it returns a
// permit to report the call's result with; when not, an error wrapping
// ErrOpen.
func (b *Breaker[T]) Allow() (Permit[T], error) {
	t, err := b.admit(b.load())
	if err != nil {
		return Permit[T]{}, err
	}
	return Permit[T]{b: b, t: t, done: new(atomic.Bool)}, nil
}

// Done reports the result of the permitted call. It is classified like a
// result of Execute, except that a canceled context is not Ignored: Done
// does not know the caller's context, so with Classify nil every non-nil err
// is a Failure. If Classify panics, the call counts as a failure and the
// panic goes on up.
func (p Permit[T]) Done(result T, err error) {
	if p.b == nil || !p.done.CompareAndSwap(false, true) {
		return
	}
	finished := false
	defer func() {
		if !finished {
			p.b.finish(p.t, Failure)
		}
	}()
	o := Success
	switch {
	case p.b.classify != nil:
		o = p.b.classify(result, err)
	case err != nil:
		o = Failure
	}
	finished = true
	p.b.finish(p.t, o)
}
