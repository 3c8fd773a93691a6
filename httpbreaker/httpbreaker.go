package httpbreaker

import (
	"net/http"
	"strconv"
)

// DefaultFailed is the default of Transport.Failed and
// HostTransport.Failed, on the client side: it reports whether a response
// status means the server is in trouble, that is a 5xx status (the server
// failed) or 429 Too Many Requests (it is overloaded and asks callers to
// back off).
func DefaultFailed(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests
}

// DefaultHandlerFailed is the default of Handler.Failed, on the server
// side: it reports whether a status the server wrote means the server is in
// trouble, that is a 5xx status. A 429 does not count: a server answers it
// to one client over its quota, and counting it would let one rate-limited
// client open the circuit and shed every client's requests.
func DefaultHandlerFailed(status int) bool {
	return status >= 500
}

// StatusError is how a response with a failing status is reported to the
// breaker: the error of the call it classifies. Callers never see it; the
// response itself is returned.
type StatusError struct {
	// StatusCode is the response's status.
	StatusCode int
}

// Error names the status, as in "httpbreaker: status 503 Service
// Unavailable".
func (e *StatusError) Error() string {
	return "httpbreaker: status " + strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)
}

// failedOr returns f, or def when f is nil.
func failedOr(f, def func(int) bool) func(int) bool {
	if f == nil {
		return def
	}
	return f
}
