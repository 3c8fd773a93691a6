package httpbreaker

import (
	"net/http"
	"strconv"
)

// DefaultFailed is the default of Transport.Failed and Handler.Failed: it
// reports whether a response status means the dependency is in trouble,
// that is a 5xx status (the server failed) or 429 Too Many Requests (it is
// overloaded and asks callers to back off).
func DefaultFailed(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests
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

// failedOrDefault returns f, or DefaultFailed when f is nil.
func failedOrDefault(f func(int) bool) func(int) bool {
	if f == nil {
		return DefaultFailed
	}
	return f
}
