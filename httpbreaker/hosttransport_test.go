package httpbreaker_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/httpbreaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

func newHostGroup(t *testing.T, failures int, clk breaker.Clock) *group.Group[string, *http.Response] {
	t.Helper()
	g, err := group.New(group.Config[string, *http.Response]{
		New: func(string) breaker.Config[*http.Response] {
			return breaker.Config[*http.Response]{Policy: policy.Consecutive(failures), OpenTimeout: 30 * time.Second, CountCalls: true}
		},
		Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// The regression behind HostTransport: a group's Execute around
// http.Client.Do counts a 503 as a success, since Do returns it with a nil
// error. Through HostTransport, 503s trip the host's circuit, and only
// that host's.
func TestHostTransportTripsOn503PerHost(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		sick, sickHits := server(t)
		well, wellHits := server(t)
		clk := epochs.Mock(start)
		g := newHostGroup(t, 3, clk)
		c := &http.Client{Transport: &httpbreaker.HostTransport{Group: g}}

		for range 3 {
			res, err := get(t, c, sick.URL+"?status=503")
			if err != nil || res.StatusCode != 503 {
				t.Fatalf("got %v, %v; want the server's 503", res, err)
			}
		}
		_, err := get(t, c, sick.URL)
		var oe *breaker.OpenError
		if !errors.Is(err, breaker.ErrOpen) || !errors.As(err, &oe) || oe.RetryAfter(clk.Now()) != 30*time.Second {
			t.Fatalf("err = %v, want a rejection with 30s to wait", err)
		}
		if res, err := get(t, c, well.URL); err != nil || res.StatusCode != 200 {
			t.Fatalf("healthy host: %v, %v", res, err)
		}
		if sickHits.Load() != 3 || wellHits.Load() != 1 {
			t.Fatalf("hits: sick %d, well %d; want 3, 1", sickHits.Load(), wellHits.Load())
		}
		bs, _ := g.Get(hostOf(t, sick.URL))
		bw, _ := g.Get(hostOf(t, well.URL))
		if bs.State() != breaker.Open || bw.State() != breaker.Closed || g.Len() != 2 {
			t.Fatalf("sick %v, well %v, %d breakers", bs.State(), bw.State(), g.Len())
		}
		wantCounts(t, bs.Metrics(), 0, 3, 0, 1)
		wantCounts(t, bw.Metrics(), 1, 0, 0, 0)
	})
}

// HostTransport classifies as Transport does: the same statuses fail, with
// the same Failed override.
func TestHostTransportClassifiesLikeTransport(t *testing.T) {
	srv, _ := server(t)
	for _, tt := range []struct {
		status int
		failed func(int) bool
	}{
		{200, nil}, {404, nil}, {429, nil}, {500, nil}, {503, nil},
		{404, func(s int) bool { return s == 404 }},
		{500, func(s int) bool { return s == 404 }},
	} {
		g := newHostGroup(t, 5, nil)
		single := newClientBreaker(t, breaker.Config[*http.Response]{})
		viaGroup := &http.Client{Transport: &httpbreaker.HostTransport{Group: g, Failed: tt.failed}}
		viaOne := &http.Client{Transport: &httpbreaker.Transport{Breaker: single, Failed: tt.failed}}
		for _, c := range []*http.Client{viaGroup, viaOne} {
			if _, err := get(t, c, srv.URL+"?status="+strconv.Itoa(tt.status)); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := g.Get(hostOf(t, srv.URL))
		if gm, sm := b.Metrics(), single.Metrics(); gm.Failures != sm.Failures || gm.Successes != sm.Successes {
			t.Errorf("status %d: HostTransport counted %d failures, %d successes; Transport %d, %d",
				tt.status, gm.Failures, gm.Successes, sm.Failures, sm.Successes)
		}
	}
}

func TestHostTransportKey(t *testing.T) {
	srv, _ := server(t)
	g := newHostGroup(t, 1, nil)
	tenant := func(r *http.Request) string { return r.Header.Get("Tenant") }
	c := &http.Client{Transport: &httpbreaker.HostTransport{Group: g, Key: tenant}}
	send := func(who, status string) error {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"?status="+status, nil)
		req.Header.Set("Tenant", who)
		res, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		return err
	}
	send("a", "500")
	if err := send("a", "200"); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("tenant a: %v, want a rejection", err)
	}
	if err := send("b", "200"); err != nil {
		t.Fatalf("tenant b: %v", err)
	}
}

func TestHostTransportCanceledRequestIsIgnored(t *testing.T) {
	arrived := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}))
	defer srv.Close()
	g := newHostGroup(t, 1, nil)
	c := &http.Client{Transport: &httpbreaker.HostTransport{Group: g}}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	b, _ := g.Get(hostOf(t, srv.URL))
	wantCounts(t, b.Metrics(), 0, 0, 1, 0)
}

// Without a group, or with a group that cannot build the key's breaker,
// nothing is sent, the body is closed, and the error says why.
func TestHostTransportMisconfigured(t *testing.T) {
	srv, hits := server(t)
	bad, err := group.New(group.Config[string, *http.Response]{
		New: func(string) breaker.Config[*http.Response] { return breaker.Config[*http.Response]{HalfOpenProbes: -1} },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		tr   *httpbreaker.HostTransport
		want string
	}{
		{&httpbreaker.HostTransport{}, "HostTransport.Group is nil"},
		{&httpbreaker.HostTransport{Group: bad}, "HalfOpenProbes"},
	} {
		body := &closeTracker{Reader: strings.NewReader("payload")}
		req, _ := http.NewRequest(http.MethodPost, srv.URL, body)
		_, err := tt.tr.RoundTrip(req)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !body.closed.Load() {
			t.Errorf("err %v (want it to name %q), body closed %v", err, tt.want, body.closed.Load())
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("a misconfigured transport sent %d requests", hits.Load())
	}
}
