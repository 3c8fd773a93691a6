package breaker

import (
	"context"
	"errors"
	"time"
)

// Breaker is a circuit breaker for calls that return a T. Build one with
// [New]; the zero value is not usable: its methods, and those of a nil
// *Breaker, panic with a message that says so. All methods are safe for
// concurrent use.
//
// A call in the closed state costs an atomic load of the breaker's state
// word before and after the call, the call itself, and the policy's
// Record; with the default policy it reads no clock and writes no shared
// memory when it succeeds.
type Breaker[T any] struct {
	// core is the circuit: a pointer, so that a View shares it. The
	// indirection costs the hot path one load from a line it reads anyway.
	*core
	classify func(T, error) Outcome
	// fastSuccess: a nil error is a Success (Classify nil) that needs no
	// counting (CountCalls off), so Execute may take its shortest path;
	// countedSuccess: the same with CountCalls, which takes a path as
	// short with the count added.
	fastSuccess, countedSuccess bool
}

// New returns a closed breaker configured by cfg. An invalid cfg gives an
// error that wraps ErrInvalidConfig and names the field or policy argument
// at fault.
func New[T any](cfg Config[T]) (*Breaker[T], error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	b := &Breaker[T]{core: new(core), classify: cfg.Classify, fastSuccess: cfg.Classify == nil && !cfg.CountCalls, countedSuccess: cfg.Classify == nil && cfg.CountCalls}
	b.core.init(&s)
	return b, nil
}

// Name returns the name the breaker was configured with.
func (b *Breaker[T]) Name() string {
	b.mustBeBuilt("Name")
	return b.name
}

// State returns the circuit's state. An open circuit whose timeout has
// passed is reported (and becomes) half-open, without waiting for a call.
func (b *Breaker[T]) State() State {
	b.mustBeBuilt("State")
	return b.state()
}

// Trip opens the circuit now, as if the policy had tripped: for
// OpenTimeout, or what the Backoff makes of it, then half-open as usual. On
// a circuit open for a period that has not ended it does nothing. It ends a
// manual mode: a forced-open circuit gets an ordinary open period from now,
// a disabled one opens.
func (b *Breaker[T]) Trip() {
	b.mustBeBuilt("Trip")
	b.trip()
}

// TripFor opens the circuit now for d, then lets probes through as usual:
// for maintenance of a known length, or to follow an upstream's
// Retry-After. The Backoff is not stepped: the next trip by the policy
// lasts what it would have without this one. It replaces any open period
// and ends a manual mode. A d of zero or less opens the circuit with a
// period that has already ended: the next call or State finds it
// half-open.
func (b *Breaker[T]) TripFor(d time.Duration) {
	b.mustBeBuilt("TripFor")
	b.tripFor(d)
}

// ForceOpen holds the circuit open until Reset, Disable, Trip or TripFor:
// every call is rejected with an error wrapping ErrOpen, no probe runs, and
// State reports Open whatever time passes. Use it to take a dependency out
// of service. On a forced-open circuit it does nothing.
func (b *Breaker[T]) ForceOpen() {
	b.mustBeBuilt("ForceOpen")
	b.forceOpen()
}

// Disable holds the circuit closed until Reset, ForceOpen, Trip or TripFor:
// every call runs, the policy records nothing and never trips it, and State
// reports Closed. Calls are still counted with Config.CountCalls. Use it to
// take the breaker out of the way during an incident. On a disabled circuit
// it does nothing.
func (b *Breaker[T]) Disable() {
	b.mustBeBuilt("Disable")
	b.disable()
}

// Reset closes the circuit now, resets the policy and ends a manual mode.
// Calls that started before it change nothing when they finish. On a
// closed circuit without a mode it reports no transition.
func (b *Breaker[T]) Reset() {
	b.mustBeBuilt("Reset")
	b.reset()
}

// Execute runs fn through the breaker and returns its result, or rejects it
// with an error wrapping ErrOpen without running it.
//
// If ctx is already done, Execute returns ctx.Err() without running fn or
// counting anything. If fn panics, the call counts as a failure and the
// panic goes on up with its original value.
//
// Execute panics, with a message that names the mistake, on a nil or
// zero Breaker (one not built by New: was New's error ignored?), with a
// nil ctx or with a nil fn, before it admits or counts anything.
func (b *Breaker[T]) Execute(ctx context.Context, fn func(context.Context) (T, error)) (res T, err error) {
	// Four comparisons, and the cold call only on a mistake: the hot
	// path reads b.core anyway, and reads no clock, takes no lock and
	// allocates nothing more for them.
	if b == nil || b.core == nil || ctx == nil || fn == nil {
		misuse(b == nil, b != nil && b.core == nil, ctx == nil, "Execute")
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	w := b.load()
	if !w.Plain() || b.gated.Load() {
		if err := b.fastRejection(w); err != nil {
			return res, err
		}
		if err := b.countedRejection(w); err != nil {
			b.rejected()
			return res, err
		}
		t, err := b.enter(w)
		if err != nil {
			return res, err
		}
		return b.run(ctx, fn, t)
	}
	// Closed, and no start time to take: run's body, written out here
	// with a shortcut for a plain success, because calling run cost the
	// hot path 18 more instructions per call (147 against 129, counted
	// with callgrind on BenchmarkExecute's serial closed success). A
	// policy that needs the time of the call gets it from finish or
	// succeeded, after the call: admit and run would cost it about 150
	// more (callgrind, BenchmarkPolicyExecute with Rate).
	finished := false
	defer func() {
		if !finished {
			b.noteFailure(errPanicked)
			b.finish(ticket{w: w}, Failure)
		}
	}()
	res, err = fn(ctx)
	if err == nil && b.fastSuccess {
		finished = true
		// The default policy, written out here to save a call: a success
		// of a healthy circuit only reads its streak, and has nothing to
		// record. One that ends a streak goes through Record, which fences
		// it against a concurrent Reset.
		if c := b.consecutive.Load(); c != nil && c.Streak() == 0 && b.load() == w {
			return res, nil
		}
		b.succeeded(w)
		return res, nil
	}
	if err == nil && b.countedSuccess {
		// The same with CountCalls, apart so that the path above is
		// what it was before counting had a shortcut: this one costs
		// one atomic add more, on a line of its own core's (counters).
		finished = true
		b.count(Success)
		if c := b.consecutive.Load(); c != nil && c.Streak() == 0 && b.load() == w {
			return res, nil
		}
		b.succeeded(w)
		return res, nil
	}
	o := b.outcome(ctx, res, err)
	finished = true
	b.done(ticket{w: w}, o, err)
	return res, err
}

// run runs fn for a call admitted with t.
func (b *Breaker[T]) run(ctx context.Context, fn func(context.Context) (T, error), t ticket) (res T, err error) {
	finished := false
	defer func() {
		if !finished {
			b.noteFailure(errPanicked)
			b.finish(t, Failure)
		}
	}()
	res, err = fn(ctx)
	o := b.outcome(ctx, res, err)
	finished = true
	b.done(t, o, err)
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
		o := b.classify(res, err)
		if o != Success && o != Ignored {
			b.noteFailure(err)
		}
		return o
	}
	if err == nil {
		return Success
	}
	b.noteFailure(err)
	return Failure
}

// mustBeBuilt panics, naming the method, if b is nil or the zero Breaker.
func (b *Breaker[T]) mustBeBuilt(method string) {
	if b == nil || b.core == nil {
		misuse(b == nil, b != nil, false, method)
	}
}

// misuse panics with a message that names the mistake made in calling
// method: on a nil *Breaker, on a zero Breaker, with a nil ctx, or else
// (Execute's last check) with a nil fn. A nil-pointer panic deep in the
// breaker would say none of it, and a nil fn run under the breaker would
// count as a failure of the dependency.
//
//go:noinline
func misuse(nilBreaker, zeroBreaker, nilCtx bool, method string) {
	switch {
	case nilBreaker:
		panic("breaker: " + method + " called on a nil *Breaker: check the error breaker.New returned")
	case zeroBreaker:
		panic("breaker: " + method + " called on a zero Breaker: build breakers with breaker.New")
	case nilCtx:
		panic("breaker: " + method + " called with a nil context.Context: pass context.Background() or the caller's context")
	default:
		panic("breaker: " + method + " called with a nil fn: nothing to run")
	}
}
