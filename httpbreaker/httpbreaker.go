package httpbreaker

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
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
	// Retry is how long the server asked its clients to wait, from the
	// Retry-After header of a 429 or 503 response (in seconds or as an
	// HTTP date); 0 when it asked nothing. A breaker with
	// Config.MaxRetryAfter opens for that long, at most that maximum.
	Retry time.Duration
}

// RetryAfter returns e.Retry: it makes a StatusError a
// [breaker.RetryAfterer].
func (e *StatusError) RetryAfter() time.Duration { return e.Retry }

// askedWait reads the Retry-After header of a 429 or 503 response: a
// number of seconds, or an HTTP date, taken relative to the response's Date
// header when it has one (so that a skew between the two clocks does not
// count), else to the local clock. Anything else, or a time in the past,
// asks for nothing.
func askedWait(res *http.Response) time.Duration {
	if res.StatusCode != http.StatusTooManyRequests && res.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	v := strings.TrimSpace(res.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(math.MaxInt64/time.Second) {
			return math.MaxInt64
		}
		return time.Duration(n) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	base, err := http.ParseTime(res.Header.Get("Date"))
	if err != nil {
		base = time.Now()
	}
	return max(at.Sub(base), 0)
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
