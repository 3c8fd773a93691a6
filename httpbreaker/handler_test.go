package httpbreaker_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/httpbreaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// statusHandler writes the status it is set to and counts its requests.
type statusHandler struct {
	status int
	served int
}

func (h *statusHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.served++
	if h.status != 0 {
		w.WriteHeader(h.status)
	}
	io.WriteString(w, "served")
}

func newServerBreaker(t *testing.T, cfg breaker.Config[int]) *breaker.Breaker[int] {
	t.Helper()
	cfg.CountCalls = true
	b, err := breaker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func serve(h http.Handler) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec
}

func TestHandlerShedsLoadWhileOpen(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		clk := epochs.Mock(start)
		b := newServerBreaker(t, breaker.Config[int]{
			Policy: policy.Consecutive(2), OpenTimeout: 1500 * time.Millisecond, HalfOpenProbes: 1, Clock: clk,
		})
		next := &statusHandler{status: http.StatusInternalServerError}
		h := &httpbreaker.Handler{Breaker: b, Next: next}

		for range 2 {
			if rec := serve(h); rec.Code != 500 || rec.Body.String() != "served" {
				t.Fatalf("got %d %q, want the handler's 500", rec.Code, rec.Body)
			}
		}
		rec := serve(h)
		if rec.Code != 503 || rec.Header().Get("Retry-After") != "2" || next.served != 2 {
			t.Fatalf("open: got %d, Retry-After %q, next served %d; want 503, 2 (1.5s rounded up), 2",
				rec.Code, rec.Header().Get("Retry-After"), next.served)
		}
		clk.Add(time.Second)
		if got := serve(h).Header().Get("Retry-After"); got != "1" {
			t.Fatalf("Retry-After %q with 0.5s left, want 1", got)
		}

		// Half-open with its one probe slot taken: retry "at once" would be 0;
		// the header says 1.
		clk.Add(500 * time.Millisecond)
		p, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		if rec := serve(h); rec.Code != 503 || rec.Header().Get("Retry-After") != "1" {
			t.Fatalf("half-open, slots taken: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
		}
		p.Done(200, nil)
		next.status = 0 // plain 200
		if rec := serve(h); rec.Code != 200 {
			t.Fatalf("closed again: %d", rec.Code)
		}
		m := b.Metrics()
		if m.Failures != 2 || m.Rejected != 3 || m.Successes != 2 {
			t.Fatalf("metrics %+v", m)
		}
	})
}

func TestHandlerClassifiesStatuses(t *testing.T) {
	tests := []struct {
		status int
		failed func(int) bool
		fails  bool
	}{
		{0, nil, false}, // nothing written: 200
		{200, nil, false},
		{404, nil, false},
		// One client over its quota must not shed everyone's requests.
		{429, nil, false},
		{500, nil, true},
		{503, nil, true},
		{599, nil, true},
		{404, func(s int) bool { return s == 404 }, true},
	}
	for _, tt := range tests {
		b := newServerBreaker(t, breaker.Config[int]{})
		serve(&httpbreaker.Handler{Breaker: b, Next: &statusHandler{status: tt.status}, Failed: tt.failed})
		if m := b.Metrics(); (m.Failures == 1) != tt.fails || m.Failures+m.Successes != 1 {
			t.Errorf("status %d: %d failures, %d successes; want failure %v", tt.status, m.Failures, m.Successes, tt.fails)
		}
	}
}

// The status that counts is the final one: informational 1xx responses
// come before it.
func TestHandlerInformationalStatus(t *testing.T) {
	b := newServerBreaker(t, breaker.Config[int]{})
	serve(&httpbreaker.Handler{Breaker: b, Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusBadGateway)
	})})
	if m := b.Metrics(); m.Failures != 1 {
		t.Fatalf("a 103 then a 502 counted %+v, want a failure", m)
	}
}

func TestHandlerClientGoneIsIgnored(t *testing.T) {
	b := newServerBreaker(t, breaker.Config[int]{Policy: policy.Consecutive(1)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &httpbreaker.Handler{Breaker: b, Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel() // the client disconnects while the handler works
		w.WriteHeader(http.StatusServiceUnavailable)
	})}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	if m := b.Metrics(); m.Ignored != 1 || m.Failures != 0 || m.State != breaker.Closed {
		t.Fatalf("metrics %+v, want one ignored call and a closed circuit", m)
	}
}

func TestHandlerPassesFlushAndController(t *testing.T) {
	b := newServerBreaker(t, breaker.Config[int]{})
	deadlineErr := make(chan error, 2)
	h := &httpbreaker.Handler{Breaker: b, Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "part")
		w.(http.Flusher).Flush()
		deadlineErr <- http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute))
	})}
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if err := <-deadlineErr; err != nil {
		t.Fatalf("ResponseController through the handler: %v", err)
	}
	rec := serve(h)
	if !rec.Flushed {
		t.Fatalf("Flush did not reach the writer")
	}
}

func TestHandlerMisconfigured(t *testing.T) {
	b := newServerBreaker(t, breaker.Config[int]{})
	for _, tt := range []struct {
		h    *httpbreaker.Handler
		want string
	}{
		{&httpbreaker.Handler{Next: &statusHandler{}}, "Handler.Breaker is nil"},
		{&httpbreaker.Handler{Breaker: b}, "Handler.Next is nil"},
	} {
		rec := serve(tt.h)
		if rec.Code != 500 || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("got %d %q, want 500 naming %q", rec.Code, rec.Body, tt.want)
		}
	}
}

func TestMiddleware(t *testing.T) {
	b := newServerBreaker(t, breaker.Config[int]{})
	next := &statusHandler{}
	h := httpbreaker.Middleware(b)(next)
	b.Trip()
	if rec := serve(h); rec.Code != 503 || rec.Header().Get("Retry-After") == "" || next.served != 0 {
		t.Fatalf("got %d, Retry-After %q, served %d", rec.Code, rec.Header().Get("Retry-After"), next.served)
	}
}

func TestHandlerRequestAlreadyDone(t *testing.T) {
	b := newServerBreaker(t, breaker.Config[int]{})
	next := &statusHandler{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	(&httpbreaker.Handler{Breaker: b, Next: next}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "" || next.served != 0 {
		t.Fatalf("got %d, Retry-After %q, served %d; want 503, none, 0", rec.Code, rec.Header().Get("Retry-After"), next.served)
	}
	if m := b.Metrics(); m.Successes+m.Failures+m.Ignored+m.Rejected != 0 {
		t.Fatalf("a request done before it began was counted: %+v", m)
	}
}

// A panic in Next counts as a failure and goes on up with its value.
func TestHandlerPanicCountsAsFailure(t *testing.T) {
	b := newServerBreaker(t, breaker.Config[int]{})
	h := &httpbreaker.Handler{Breaker: b, Next: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	})}
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Fatalf("recovered %v, want the handler's panic", v)
			}
		}()
		serve(h)
	}()
	if m := b.Metrics(); m.Failures != 1 || m.Successes+m.Ignored+m.Rejected != 0 {
		t.Fatalf("metrics %+v, want one failure", m)
	}
}

// A handler that asserts for http.Hijacker can take over the connection.
func TestHandlerPassesHijack(t *testing.T) {
	b := newServerBreaker(t, breaker.Config[int]{})
	hijackErr := make(chan error, 1)
	srv := httptest.NewServer(&httpbreaker.Handler{Breaker: b, Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := w.(http.Hijacker).Hijack()
		hijackErr <- err
		if err != nil {
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		rw.Flush()
	})})
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err := <-hijackErr; err != nil {
		t.Fatalf("Hijack through the handler: %v", err)
	}
	if err != nil || string(body) != "hijacked" {
		t.Fatalf("body %q (%v), want the hijacker's", body, err)
	}
}

// A circuit forced open has no time to come back at: the 503 carries no
// Retry-After. The Retry-After of an ordinary open period is read on the
// breaker's own clock, which the Handler is not configured with.
func TestHandlerForcedOpenHasNoRetryAfter(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	b := newServerBreaker(t, breaker.Config[int]{OpenTimeout: 90 * time.Second, Clock: clk})
	h := &httpbreaker.Handler{Breaker: b, Next: &statusHandler{status: 200}}
	b.Trip()
	clk.Add(30 * time.Second)
	if got := serve(h).Header().Get("Retry-After"); got != "60" {
		t.Fatalf("Retry-After %q with 60s left on the breaker's clock", got)
	}
	b.ForceOpen()
	rec := serve(h)
	if _, ok := rec.Header()["Retry-After"]; rec.Code != 503 || ok {
		t.Fatalf("forced open: %d with Retry-After %q; want 503 without one", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// The regression behind DefaultHandlerFailed: a server that answers 429 to
// one client over its quota must not open its circuit and shed every other
// client's requests.
func TestHandlerRateLimitedClientDoesNotShedEveryone(t *testing.T) {
	b := newServerBreaker(t, breaker.Config[int]{Policy: policy.Consecutive(3)})
	h := &httpbreaker.Handler{Breaker: b, Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Client") == "greedy" {
			http.Error(w, "over quota", http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, "served")
	})}
	for range 10 {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Client", "greedy")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("greedy client got %d, want the handler's 429", rec.Code)
		}
	}
	if rec := serve(h); rec.Code != 200 || b.State() != breaker.Closed {
		t.Fatalf("another client got %d with the circuit %v after ten 429s; want 200, closed", rec.Code, b.State())
	}
}

// TestHandlerAbortCountsClientGoneAsFailure: a handler that aborts with
// panic(http.ErrAbortHandler), net/http's sentinel (httputil.ReverseProxy
// panics with it when it cannot copy the body, most often to a client that
// went away), counted as a failure like any panic, so clients that hung up
// could open the circuit of a healthy backend. With the request's context
// canceled it now counts for nothing, as a failed status then does; without,
// it is still a failure. Either way the abort goes on up to net/http.
func TestHandlerAbortCountsClientGoneAsFailure(t *testing.T) {
	for _, clientGone := range []bool{true, false} {
		b := newServerBreaker(t, breaker.Config[int]{Policy: policy.Consecutive(1)})
		ctx, cancel := context.WithCancel(context.Background())
		h := &httpbreaker.Handler{Breaker: b, Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "partial")
			if clientGone {
				cancel()
			}
			panic(http.ErrAbortHandler)
		})}
		func() {
			defer func() {
				if v := recover(); v != http.ErrAbortHandler {
					t.Fatalf("client gone %v: recovered %v, want http.ErrAbortHandler", clientGone, v)
				}
			}()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
		}()
		cancel()
		m := b.Metrics()
		if clientGone && (m.Ignored != 1 || m.Failures != 0 || b.State() != breaker.Closed) {
			t.Fatalf("an abort after the client went away: metrics %+v, state %v; want one ignored call, closed", m, b.State())
		}
		if !clientGone && (m.Failures != 1 || b.State() != breaker.Open) {
			t.Fatalf("an abort with the client there: metrics %+v, state %v; want one failure, open", m, b.State())
		}
	}
}
