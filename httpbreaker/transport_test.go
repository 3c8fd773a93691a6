package httpbreaker_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/httpbreaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// server answers each request with the status in its "status" query
// parameter and a body naming it, and counts the requests it got.
func server(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		status, _ := strconv.Atoi(r.URL.Query().Get("status"))
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		io.WriteString(w, "body of "+strconv.Itoa(status))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func newClientBreaker(t *testing.T, cfg breaker.Config[*http.Response]) *breaker.Breaker[*http.Response] {
	t.Helper()
	cfg.CountCalls = true
	b, err := breaker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, error) {
	t.Helper()
	res, err := c.Get(url)
	if err == nil {
		t.Cleanup(func() { res.Body.Close() })
	}
	return res, err
}

func wantCounts(t *testing.T, m breaker.Metrics, ok, failed, ignored, rejected uint64) {
	t.Helper()
	if m.Successes != ok || m.Failures != failed || m.Ignored != ignored || m.Rejected != rejected {
		t.Fatalf("counts = %d ok, %d failed, %d ignored, %d rejected; want %d, %d, %d, %d",
			m.Successes, m.Failures, m.Ignored, m.Rejected, ok, failed, ignored, rejected)
	}
}

func TestTransportClassifiesStatuses(t *testing.T) {
	srv, _ := server(t)
	tests := []struct {
		name   string
		failed func(int) bool
		status int
		fails  bool
	}{
		{"200 succeeds", nil, 200, false},
		{"404 succeeds", nil, 404, false},
		{"429 fails", nil, 429, true},
		{"500 fails", nil, 500, true},
		{"503 fails", nil, 503, true},
		{"custom: 404 fails", func(s int) bool { return s == 404 }, 404, true},
		{"custom: 500 succeeds", func(s int) bool { return s == 404 }, 500, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newClientBreaker(t, breaker.Config[*http.Response]{})
			c := &http.Client{Transport: &httpbreaker.Transport{Breaker: b, Failed: tt.failed}}
			res, err := get(t, c, srv.URL+"?status="+strconv.Itoa(tt.status))
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			// The response reaches the caller whole, failing or not.
			body, err := io.ReadAll(res.Body)
			if err != nil || res.StatusCode != tt.status || string(body) != "body of "+strconv.Itoa(tt.status) {
				t.Fatalf("got %d %q (%v), want the server's response", res.StatusCode, body, err)
			}
			if tt.fails {
				wantCounts(t, b.Metrics(), 0, 1, 0, 0)
			} else {
				wantCounts(t, b.Metrics(), 1, 0, 0, 0)
			}
		})
	}
}

func TestTransportOpenCircuit(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		srv, hits := server(t)
		clk := epochs.Mock(start)
		b := newClientBreaker(t, breaker.Config[*http.Response]{
			Policy: policy.Consecutive(2), OpenTimeout: 30 * time.Second, Clock: clk,
		})
		c := &http.Client{Transport: &httpbreaker.Transport{Breaker: b}}
		for range 2 {
			if _, err := get(t, c, srv.URL+"?status=502"); err != nil {
				t.Fatal(err)
			}
		}
		if b.State() != breaker.Open {
			t.Fatalf("state %v after two 502s", b.State())
		}

		clk.Add(10 * time.Second)
		_, err := get(t, c, srv.URL)
		var oe *breaker.OpenError
		if !errors.Is(err, breaker.ErrOpen) || !errors.As(err, &oe) {
			t.Fatalf("err = %v, want a rejection", err)
		}
		if got := oe.RetryAfter(clk.Now()); got != 20*time.Second {
			t.Fatalf("RetryAfter = %v, want 20s", got)
		}
		if hits.Load() != 2 {
			t.Fatalf("server got %d requests; an open circuit must send none", hits.Load())
		}
		wantCounts(t, b.Metrics(), 0, 2, 0, 1)

		clk.Add(20 * time.Second)
		if _, err := get(t, c, srv.URL); err != nil {
			t.Fatalf("probe: %v", err)
		}
	})
}

// closeTracker is a request body that tells whether it was closed.
type closeTracker struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeTracker) Close() error { c.closed.Store(true); return nil }

func TestTransportClosesBodyOfUnsentRequest(t *testing.T) {
	srv, _ := server(t)
	send := func(tr *httpbreaker.Transport, ctx context.Context) (*closeTracker, error) {
		body := &closeTracker{Reader: strings.NewReader("payload")}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, body)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tr.RoundTrip(req)
		return body, err
	}

	b := newClientBreaker(t, breaker.Config[*http.Response]{})
	b.Trip()
	body, err := send(&httpbreaker.Transport{Breaker: b}, context.Background())
	if !errors.Is(err, breaker.ErrOpen) || !body.closed.Load() {
		t.Fatalf("open circuit: err %v, body closed %v; want a rejection and a closed body", err, body.closed.Load())
	}

	b.Reset()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	body, err = send(&httpbreaker.Transport{Breaker: b}, ctx)
	if !errors.Is(err, context.Canceled) || !body.closed.Load() {
		t.Fatalf("done context: err %v, body closed %v", err, body.closed.Load())
	}

	body, err = send(&httpbreaker.Transport{}, context.Background())
	if err == nil || !strings.Contains(err.Error(), "Transport.Breaker is nil") || !body.closed.Load() {
		t.Fatalf("no breaker: err %v, body closed %v", err, body.closed.Load())
	}
	wantCounts(t, b.Metrics(), 0, 0, 0, 1)
}

// A caller that gives up while the request runs says nothing about the
// server: the call counts for nothing.
func TestTransportCanceledRequestIsIgnored(t *testing.T) {
	arrived := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}))
	defer srv.Close()
	b := newClientBreaker(t, breaker.Config[*http.Response]{Policy: policy.Consecutive(1)})
	c := &http.Client{Transport: &httpbreaker.Transport{Breaker: b}}

	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	wantCounts(t, b.Metrics(), 0, 0, 1, 0)
	if b.State() != breaker.Closed {
		t.Fatalf("a canceled request tripped the breaker")
	}
}

func TestTransportErrorsCountAsFailures(t *testing.T) {
	srv, _ := server(t)
	url := srv.URL
	srv.Close() // connection refused from now on
	b := newClientBreaker(t, breaker.Config[*http.Response]{})
	c := &http.Client{Transport: &httpbreaker.Transport{Breaker: b}}
	if _, err := c.Get(url); err == nil || errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("err = %v, want the dial error", err)
	}
	wantCounts(t, b.Metrics(), 0, 1, 0, 0)
}

// The breaker's own Classify sees the response and a *StatusError.
func TestTransportWithClassify(t *testing.T) {
	srv, _ := server(t)
	var seen []string
	b := newClientBreaker(t, breaker.Config[*http.Response]{
		Classify: func(res *http.Response, err error) breaker.Outcome {
			var se *httpbreaker.StatusError
			if errors.As(err, &se) {
				seen = append(seen, strconv.Itoa(res.StatusCode)+" "+se.Error())
				return breaker.Ignored
			}
			return breaker.Success
		},
	})
	c := &http.Client{Transport: &httpbreaker.Transport{Breaker: b}}
	res, err := get(t, c, srv.URL+"?status=503")
	if err != nil || res.StatusCode != 503 {
		t.Fatalf("got %v, %v", res, err)
	}
	if want := "503 httpbreaker: status 503 Service Unavailable"; len(seen) != 1 || seen[0] != want {
		t.Fatalf("Classify saw %q, want %q", seen, want)
	}
	wantCounts(t, b.Metrics(), 0, 0, 1, 0)
}
