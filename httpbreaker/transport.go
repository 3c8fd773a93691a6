package httpbreaker

import (
	"context"
	"errors"
	"net/http"

	"github.com/tripwire-go/tripwire/breaker"
)

// Transport is an [http.RoundTripper] that guards requests with a circuit
// breaker: put it in an http.Client to stop calling a server that keeps
// failing. Set Breaker; the other fields are optional. A Transport is safe
// for concurrent use; do not change its fields once it is in use.
//
// RoundTrip classifies each exchange: a transport error is a failure, a
// response with a status for which Failed returns true is a failure (and
// still returned, unread, to the caller), a request whose context was
// canceled counts for nothing, anything else is a success. The breaker's
// own Classify, if set, has the last word: it sees the response and either
// the transport's error or a [*StatusError].
//
// While the circuit is open RoundTrip sends nothing and returns an error
// wrapping breaker.ErrOpen; errors.As finds the [*breaker.OpenError] in it
// (also through the *url.Error of http.Client), whose RetryAfter says how
// long to wait. It closes the request body then, as a RoundTripper must.
//
// The outcome is decided when the response headers arrive: a body that
// fails while it is read does not count against the breaker.
type Transport struct {
	// Breaker guards the requests. Required: without it RoundTrip returns
	// an error.
	Breaker *breaker.Breaker[*http.Response]
	// Base sends the requests. nil means http.DefaultTransport.
	Base http.RoundTripper
	// Failed reports whether a response status counts as a failure. nil
	// means DefaultFailed: 5xx and 429.
	Failed func(status int) bool
}

// errNoBreaker is returned by a Transport without a Breaker.
var errNoBreaker = errors.New("httpbreaker: Transport.Breaker is nil")

// RoundTrip sends req through the breaker; see [Transport].
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Breaker == nil {
		closeBody(req)
		return nil, errNoBreaker
	}
	return roundTrip(t.Breaker, t.Base, failedOr(t.Failed, DefaultFailed), req)
}

// roundTrip sends req with base (nil: http.DefaultTransport) through b,
// counting a response whose status failed reports true as a failure.
func roundTrip(b *breaker.Breaker[*http.Response], base http.RoundTripper, failed func(int) bool, req *http.Request) (*http.Response, error) {
	if base == nil {
		base = http.DefaultTransport
	}
	sent := false
	res, err := b.Execute(req.Context(), func(context.Context) (*http.Response, error) {
		sent = true
		res, err := base.RoundTrip(req)
		if err == nil && res != nil && failed(res.StatusCode) {
			return res, &StatusError{StatusCode: res.StatusCode, Retry: askedWait(res)}
		}
		return res, err
	})
	if !sent {
		// Rejected, or the context was done: Base never saw the body.
		closeBody(req)
		return nil, err
	}
	if _, ok := err.(*StatusError); ok { // made only with a response
		return res, nil
	}
	return res, err
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
