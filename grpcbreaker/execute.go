package grpcbreaker

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tripwire-go/tripwire/breaker"
)

var (
	// errPanicked is what a breaker is told of a stream whose opening
	// panicked.
	errPanicked = errors.New("grpcbreaker: the call panicked")
	// errFailed is what a breaker is told of a call that the classifier
	// counted as failed although it returned no error.
	errFailed = errors.New("grpcbreaker: the classifier counted the call as failed")
)

// execute runs call through b, counting it as classify says. It returns
// the call's error and ran true, or, when b did not run the call, b's
// error (a rejection) and ran false.
//
// The breaker's own rules see to a call that panics (a failure, and the
// panic goes on up) and to the outcome: the breaker is told of a success
// with a nil error and of a failure with the call's error. It counts an
// error as ignored only when it is context.Canceled and the context
// Execute was given is done; the caller's context need not be (a
// classifier may ignore codes of its choosing), so Execute is given a
// verdict, a context that says it is done once the call is to be ignored.
func execute(ctx context.Context, b *breaker.Breaker[codes.Code], classify Classifier, call func() error) (err error, ran bool) {
	v := &verdict{Context: ctx}
	var callErr error
	_, err = b.Execute(v, func(context.Context) (codes.Code, error) {
		ran = true
		callErr = call()
		code := status.Code(callErr)
		switch classify(ctx, callErr) {
		case breaker.Success:
			return code, nil
		case breaker.Ignored:
			v.ignored = true
			return code, ignoredError{callErr}
		}
		if callErr == nil {
			return code, errFailed
		}
		return code, callErr
	})
	if !ran {
		return err, false
	}
	return callErr, true
}

// verdict is the context of a call that says it is done once ignored is
// set. Only the goroutine running the call sets and reads it.
type verdict struct {
	context.Context
	ignored bool
}

// Err returns context.Canceled once the call is to be ignored.
func (v *verdict) Err() error {
	if v.ignored {
		return context.Canceled
	}
	return v.Context.Err()
}

// ignoredError is what the breaker is told of a call to ignore: it is
// context.Canceled, and wraps the call's error for a Config.Classify that
// wants to see it.
type ignoredError struct{ err error }

func (e ignoredError) Error() string {
	if e.err == nil {
		return "grpcbreaker: ignored"
	}
	return "grpcbreaker: ignored: " + e.err.Error()
}

func (e ignoredError) Unwrap() []error { return []error{context.Canceled, e.err} }
