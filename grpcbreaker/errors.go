package grpcbreaker

import (
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tripwire-go/tripwire/breaker"
)

// statusError is an error with a gRPC status (status.Code and
// status.FromError read it) that also wraps the error that caused it, so
// that errors.Is and errors.As reach the cause: breaker.ErrOpen and the
// *breaker.OpenError for a rejection.
type statusError struct {
	st    *status.Status
	cause error
}

// Error reads as the error of any gRPC status: "rpc error: code = ...".
func (e *statusError) Error() string { return e.st.Err().Error() }

// GRPCStatus returns the status, for package status and for the server,
// which sends it to the client.
func (e *statusError) GRPCStatus() *status.Status { return e.st }

// Unwrap returns the cause.
func (e *statusError) Unwrap() error { return e.cause }

// rejection returns the error of a call that b rejected, err being what
// b.Allow returned: a status with code Unavailable that wraps err, so that errors.Is(e,
// breaker.ErrOpen) holds and errors.As finds the *breaker.OpenError. Its
// message says which circuit is open and, read on the breaker's clock,
// when to retry; the delay is also in a RetryInfo detail (what
// [RetryAfter] reads, on this side of the connection or the other). A
// circuit forced open has no retry time, and the error says none.
func rejection(err error, b *breaker.Breaker[codes.Code]) error {
	d, ok := breaker.RetryAfter(err, b.Clock().Now())
	if !ok {
		return &statusError{st: status.New(codes.Unavailable, err.Error()), cause: err}
	}
	st := status.New(codes.Unavailable, err.Error()+"; retry in "+d.Round(time.Millisecond).String())
	if withInfo, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)}); derr == nil {
		st = withInfo
	}
	return &statusError{st: st, cause: err}
}

// RetryAfter returns the retry delay carried by err, a rejection from one
// of this package's interceptors: a client's own (the circuit is open) or,
// after it crossed the network, a server's that is shedding load. It reads
// the status's RetryInfo detail, the standard place for it, so it also
// reads one set by other servers. ok is false when err carries none.
func RetryAfter(err error) (d time.Duration, ok bool) {
	st, _ := status.FromError(err)
	for _, detail := range st.Details() {
		if ri, isInfo := detail.(*errdetails.RetryInfo); isInfo && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}
