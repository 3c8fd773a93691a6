package sqlbreaker

import (
	"context"
	"database/sql/driver"
	"errors"

	"github.com/tripwire-go/tripwire/breaker"
)

// An Option configures a wrapped connector or driver.
type Option func(*guard)

// WithClassifier sets how finished calls count. nil means
// [DefaultClassifier].
func WithClassifier(c Classifier) Option {
	return func(g *guard) {
		if c != nil {
			g.classify = c
		}
	}
}

// guard runs database calls through a breaker.
type guard struct {
	b        *breaker.Breaker[struct{}]
	classify Classifier
}

// errNoBreaker is the error of every call through a connector or driver
// wrapped without a breaker.
var errNoBreaker = errors.New("sqlbreaker: the breaker is nil")

func newGuard(b *breaker.Breaker[struct{}], opts []Option) *guard {
	g := &guard{b: b, classify: DefaultClassifier}
	for _, opt := range opts {
		opt(g)
	}
	return g
}

// do runs call through the breaker, unless the circuit is open: then it
// returns the rejection, an error wrapping breaker.ErrOpen and never
// driver.ErrBadConn (which database/sql would retry on another
// connection, each retry one more rejection). A ctx that is already done
// gives ctx.Err() and counts nothing. classify decides how the call
// counts; a call that panics counts as a failure and the panic goes on up.
func do[R any](g *guard, ctx context.Context, classify Classifier, call func() (R, error)) (res R, err error) {
	if g.b == nil {
		return res, errNoBreaker
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	p, err := g.b.Allow()
	if err != nil {
		return res, err
	}
	o := breaker.Failure
	defer func() {
		switch o {
		case breaker.Success:
			p.Done(struct{}{}, nil)
		case breaker.Ignored:
			p.Release()
		default:
			cause := err
			if cause == nil { // the call or classify panicked, or classify failed a nil error
				cause = errFailed
			}
			p.Done(struct{}{}, cause)
		}
	}()
	res, err = call()
	if err == driver.ErrSkip {
		// The driver asks database/sql to do it another way: nothing
		// happened.
		o = breaker.Ignored
		return res, err
	}
	o = classify(ctx, err)
	return res, err
}

// errFailed is what the breaker is told of a failed call that returned no
// error.
var errFailed = errors.New("sqlbreaker: counted as a failure")

// connectClassify is how a connection attempt counts: whatever the error
// (a refused dial, a timeout, a refused login), a connection that could
// not be made is a failure, unless the caller gave up.
func connectClassify(ctx context.Context, err error) breaker.Outcome {
	switch {
	case err == nil:
		return breaker.Success
	case errors.Is(ctx.Err(), context.Canceled):
		return breaker.Ignored
	}
	return breaker.Failure
}
