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
// otherwise. It tells the errors that say the database cannot be reached,
// or did not answer in time, from the errors the database returns for a
// statement:
//
//   - nil is a success;
//   - an error while the caller's context is canceled is ignored: the
//     caller gave up, the database did nothing wrong (drivers report that
//     differently: context.Canceled, or the database's own "canceling
//     statement" error);
//   - an error while the caller's context is past its deadline is a
//     failure: the database did not answer in time;
//   - a connection or network error ([IsConnError]) is a failure;
//   - any other error is a success: it is an answer from a working
//     database, such as a constraint violation, a syntax error or a
//     serialization failure, and counting it would let one bad query open
//     the circuit for every caller.
func DefaultClassifier(ctx context.Context, err error) breaker.Outcome {
	switch {
	case err == nil:
		return breaker.Success
	case errors.Is(ctx.Err(), context.Canceled):
		return breaker.Ignored
	case ctx.Err() != nil, IsConnError(err):
		return breaker.Failure
	}
	return breaker.Success
}

// IsConnError reports whether err says that the database could not be
// reached or the connection to it broke: driver.ErrBadConn, any net.Error
// (a refused dial, a socket timeout), io.EOF and io.ErrUnexpectedEOF (the
// connection closed under the driver), ECONNREFUSED, ECONNRESET, EPIPE,
// ETIMEDOUT and context.DeadlineExceeded. Use it in a Classifier of your
// own.
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
