package sqlbreaker

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/tripwire-go/tripwire/breaker"
)

// Classifier decides how a finished database call counts: ctx is the
// call's context, err what the driver returned. It must be safe for
// concurrent use.
type Classifier func(ctx context.Context, err error) breaker.Outcome

// DefaultClassifier is how a call counts unless [WithClassifier] says
// otherwise. It tells the errors that say the database cannot be reached
// from the errors the database returns for a statement:
//
//   - nil is a success;
//   - context.Canceled while the caller's context is done is ignored (the
//     caller gave up; the database did nothing wrong);
//   - a connection or network error is a failure: driver.ErrBadConn, any
//     net.Error (a refused dial, a timeout), io.EOF and
//     io.ErrUnexpectedEOF (the connection closed under the driver),
//     ECONNREFUSED, ECONNRESET, EPIPE and ETIMEDOUT, and
//     context.DeadlineExceeded (the database did not answer in time);
//   - any other error is a success: it is an answer from a working
//     database, such as a constraint violation, a syntax error or a
//     serialization failure, and counting it would let one bad query open
//     the circuit for every caller.
func DefaultClassifier(ctx context.Context, err error) breaker.Outcome {
	if err == nil {
		return breaker.Success
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return breaker.Ignored
	}
	if IsConnError(err) {
		return breaker.Failure
	}
	return breaker.Success
}

// IsConnError reports whether err says that the database could not be
// reached or the connection to it broke, as [DefaultClassifier] tells
// them; use it in a Classifier of your own.
func IsConnError(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn),
		errors.As(err, &ne),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ETIMEDOUT),
		errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return false
}
