package httpbreaker

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// Handler is an [http.Handler] that sheds load while its breaker is open:
// it answers 503 Service Unavailable with a Retry-After header instead of
// calling Next, so that a struggling backend gets room to recover and
// clients learn when to come back. Set Breaker and Next; the other fields
// are optional. A Handler is safe for concurrent use; do not change its
// fields once it serves.
//
// Each request Next serves counts by the status it writes: a status for
// which Failed returns true is a failure, unless the request's context was
// canceled by then (the client went away: it counts for nothing); any other
// status is a success, and so is a response with no explicit status (200).
// A panic in Next counts as a failure and goes on up to net/http, with one
// exception: a panic with [http.ErrAbortHandler] (net/http's way to abort
// a response, which httputil.ReverseProxy takes when it cannot copy the
// body) once the request's context is canceled is a client that went
// away, and counts for nothing, like a failed status then. It goes on up
// too. Aborted while the client is still there (the backend broke off
// mid-body), it is a failure.
//
// A request whose context is already done when it arrives is not served
// either: it gets a 503 without Retry-After, and counts for nothing. So
// does a request rejected by a circuit forced open, which has no time to
// come back at.
//
// Retry-After is the rejection's [breaker.RetryAfter] on the breaker's own
// clock, in whole seconds, rounded up, and at least 1, since 0 would invite
// an immediate retry.
type Handler struct {
	// Breaker decides whether requests are served. Its result is the
	// status Next wrote. Required: without it every request gets a 500.
	Breaker *breaker.Breaker[int]
	// Next serves the requests the breaker lets through. Required: without
	// it every request gets a 500.
	Next http.Handler
	// Failed reports whether a status counts as a failure. nil means
	// DefaultHandlerFailed: 5xx, and not 429.
	Failed func(status int) bool
}

// Middleware returns a function that wraps a handler in a [Handler] with b
// and the defaults, in the shape routers take middleware.
func Middleware(b *breaker.Breaker[int]) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return &Handler{Breaker: b, Next: next}
	}
}

// ServeHTTP serves r through the breaker; see [Handler].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case h.Breaker == nil:
		http.Error(w, "httpbreaker: Handler.Breaker is nil", http.StatusInternalServerError)
		return
	case h.Next == nil:
		http.Error(w, "httpbreaker: Handler.Next is nil", http.StatusInternalServerError)
		return
	}
	failed := failedOr(h.Failed, DefaultHandlerFailed)
	rec := &recorder{ResponseWriter: w}
	started, aborted := false, false
	_, err := h.Breaker.Execute(r.Context(), func(ctx context.Context) (status int, err error) {
		started = true
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler && errors.Is(ctx.Err(), context.Canceled) {
					// The client went away: with Classify nil, Ignored.
					// The abort goes on up below, past the breaker.
					aborted = true
					status, err = rec.status, context.Canceled
					return
				}
				panic(v) // a failure for the breaker; the value goes on up
			}
		}()
		h.Next.ServeHTTP(rec, r)
		status = rec.status
		if status == 0 {
			status = http.StatusOK
		}
		if !failed(status) {
			return status, nil
		}
		if errors.Is(ctx.Err(), context.Canceled) {
			// The client went away: with Classify nil, Ignored.
			return status, context.Canceled
		}
		return status, &StatusError{StatusCode: status}
	})
	if aborted {
		panic(http.ErrAbortHandler)
	}
	if started {
		return
	}
	if d, ok := breaker.RetryAfter(err, h.Breaker.Clock().Now()); ok {
		w.Header().Set("Retry-After", retryAfter(d))
	}
	// Rejected, or the request's context was done before it began.
	http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
}

// retryAfter returns the Retry-After value for a wait of d: whole seconds,
// rounded up, at least 1.
func retryAfter(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(secs, 1), 10)
}

// recorder remembers the status a handler writes. It passes everything else
// through: Unwrap lets http.ResponseController reach the writer's other
// features, and Flush and Hijack serve handlers that assert for them.
type recorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader remembers the first final status and passes it on.
func (r *recorder) WriteHeader(code int) {
	// 1xx responses but 101 are informational: the final status follows.
	if r.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write passes p on; without a status written first, the status is 200.
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

// Flush sends buffered data to the client, if the writer can.
func (r *recorder) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Hijack lets the handler take over the connection, if the writer can.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

// Unwrap returns the writer underneath, for http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
