package grpcbreaker

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tripwire-go/tripwire/breaker"
)

// errFailed is what a breaker is told of a failed call that returned no
// error: one whose classifier failed it, or that panicked.
var errFailed = errors.New("grpcbreaker: counted as a failure")

// execute runs call through b, counting it as classify says. It returns
// the call's error and ran true or, when b did not admit the call, b's
// rejection and ran false. A ctx that is done already is the caller's
// business: the interceptors pass such calls on uncounted before they get
// here.
//
// It uses the breaker's two-step form, which tells each of the three
// outcomes apart (Done with a nil error, Done with the call's error,
// Release), where Execute would count an ignored call only if ctx were
// done. A call or a classifier that panics counts as a failure, and the
// panic goes on up.
func execute(ctx context.Context, b *breaker.Breaker[codes.Code], classify Classifier, call func() error) (err error, ran bool) {
	p, err := b.Allow()
	if err != nil {
		return err, false
	}
	o := breaker.Failure
	defer func() { report(p, o, status.Code(err), err) }()
	err = call()
	o = classify(ctx, err)
	return err, true
}

// report tells p how its call went.
func report(p breaker.Permit[codes.Code], o breaker.Outcome, code codes.Code, err error) {
	switch o {
	case breaker.Success:
		p.Done(code, nil)
	case breaker.Ignored:
		p.Release()
	default:
		if err == nil {
			err = errFailed
		}
		p.Done(code, askedWait(code, err))
	}
}

// askedError is a failed call's error with the wait its server asked for,
// so that a breaker with Config.MaxRetryAfter opens for it.
type askedError struct {
	error
	wait time.Duration
}

func (e *askedError) Unwrap() error             { return e.error }
func (e *askedError) RetryAfter() time.Duration { return e.wait }

// askedWait returns err with the delay of its RetryInfo detail, when the
// status is ResourceExhausted or Unavailable (a server over its quota or
// shedding load, which says how long to stay away), or err itself.
func askedWait(code codes.Code, err error) error {
	if code != codes.ResourceExhausted && code != codes.Unavailable {
		return err
	}
	if d, ok := RetryAfter(err); ok && d > 0 {
		return &askedError{error: err, wait: d}
	}
	return err
}
