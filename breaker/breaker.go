package breaker

import (
	"context"
	"errors"

	"github.com/tripwire-go/tripwire/internal/fsm"
	"github.com/tripwire-go/tripwire/policy"
)

// Breaker is a circuit breaker for calls that return a T. Build one with
// [New]; the zero value is not usable. All methods are safe for concurrent
// use.
//
// A call in the closed state costs an atomic load of the breaker's state
// word before and after the call, the call itself, and the policy's
// Record; with the default policy it reads no clock and writes no shared
// memory when it succeeds.
type Breaker[T any] struct {
	core
	classify func(T, error) Outcome
	// fastSuccess: a nil error is a Success that needs no counting
	// (Classify nil, CountCalls off), so Execute may take its shortest path.
	fastSuccess bool
}

// New returns a closed breaker configured by cfg. An invalid cfg gives an
// error that wraps ErrInvalidConfig and names the field or policy argument
// at fault.
func New[T any](cfg Config[T]) (*Breaker[T], error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	b := &Breaker[T]{classify: cfg.Classify, fastSuccess: cfg.Classify == nil && !cfg.CountCalls}
	b.core.init(&s)
	return b, nil
}

// Name returns the name the breaker was configured with.
func (b *Breaker[T]) Name() string { return b.name }

// State returns the circuit's state. An open circuit whose timeout has
// passed is reported (and becomes) half-open, without waiting for a call.
func (b *Breaker[T]) State() State { return b.state() }

// Trip opens the circuit now, as if the policy had tripped. On an open
// circuit it does nothing.
func (b *Breaker[T]) Trip() { b.trip() }

// Reset closes the circuit now and resets the policy. Calls that started
// before it change nothing when they finish. On a closed circuit it
// reports no transition.
func (b *Breaker[T]) Reset() { b.reset() }

// Execute runs fn through the breaker and returns its result, or rejects it
// with an error wrapping ErrOpen without running it.
//
// If ctx is already done, Execute returns ctx.Err() without running fn or
// counting anything. If fn panics, the call counts as a failure and the
// panic goes on up with its original value.
func (b *Breaker[T]) Execute(ctx context.Context, fn func(context.Context) (T, error)) (res T, err error) {
	if err := ctx.Err(); err != nil {
		return res, err
	}
	w := b.load()
	if w.State() != fsm.Closed || b.needs != 0 {
		if err := b.fastRejection(w); err != nil {
			return res, err
		}
		t, err := b.admit(w)
		if err != nil {
			return res, err
		}
		return b.run(ctx, fn, t)
	}
	// Closed, and no clock to read: run's body, written out here with a
	// shortcut for a plain success, because calling run cost the hot path
	// 18 more instructions per call (147 against 129, counted with
	// callgrind on BenchmarkExecute's serial closed success).
	finished := false
	defer func() {
		if !finished {
			b.finish(ticket{w: w}, Failure)
		}
	}()
	res, err = fn(ctx)
	if err == nil && b.fastSuccess {
		finished = true
		// The default policy, written out here to save a call: a success
		// of a healthy circuit only reads its streak.
		if c := b.consecutive; c != nil && b.load() == w {
			if c.Record(policy.Call{}) {
				b.tripFrom(w)
			}
			return res, nil
		}
		b.succeeded(w)
		return res, nil
	}
	o := b.outcome(ctx, res, err)
	finished = true
	b.finish(ticket{w: w}, o)
	return res, err
}

// run runs fn for a call admitted with t.
func (b *Breaker[T]) run(ctx context.Context, fn func(context.Context) (T, error), t ticket) (res T, err error) {
	finished := false
	defer func() {
		if !finished {
			b.finish(t, Failure)
		}
	}()
	res, err = fn(ctx)
	o := b.outcome(ctx, res, err)
	finished = true
	b.finish(t, o)
	return res, err
}

// outcome classifies a result of Execute. The caller-cancellation rule
// comes first, Classify or not: Classify never sees the context, and
// cannot tell a caller that gave up from a dependency that canceled.
func (b *Breaker[T]) outcome(ctx context.Context, res T, err error) Outcome {
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return Ignored
	}
	if b.classify != nil {
		return b.classify(res, err)
	}
	if err == nil {
		return Success
	}
	return Failure
}
