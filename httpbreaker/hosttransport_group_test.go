package httpbreaker_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/httpbreaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// fakeHosts answers every request itself: 503 for every fifth request of
// a host whose status function says so, 200 otherwise. It counts requests
// per host.
type fakeHosts struct {
	mu     sync.Mutex
	hits   map[string]int
	status func(host string, n int) int
}

func (f *fakeHosts) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.hits[req.URL.Host]++
	n := f.hits[req.URL.Host]
	f.mu.Unlock()
	code := f.status(req.URL.Host, n)
	return &http.Response{StatusCode: code, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

// A host whose share of 503s stands out from its siblings' is opened by
// the group's outlier detector, although its own policy (ten 503s in a
// row) never trips; the others are left alone.
func TestHostTransportOutlierHostOpens(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	hosts, err := group.New(group.Config[string, *http.Response]{
		New: func(string) breaker.Config[*http.Response] {
			return breaker.Config[*http.Response]{Policy: policy.Consecutive(10), OpenTimeout: 30 * time.Second}
		},
		Clock:    clk,
		Outliers: &group.Outliers{SuccessRate: &group.SuccessRateTest{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	base := &fakeHosts{hits: map[string]int{}, status: func(host string, n int) int {
		if host == "bad.internal" && n%5 < 2 {
			return 503 // 40%, never ten in a row
		}
		return 200
	}}
	c := &http.Client{Transport: &httpbreaker.HostTransport{Group: hosts, Base: base}}
	names := []string{"a.internal", "b.internal", "c.internal", "d.internal", "e.internal", "bad.internal"}
	for range 100 {
		for _, h := range names {
			res, err := c.Get("http://" + h + "/")
			if err != nil {
				t.Fatalf("%s: %v", h, err)
			}
			res.Body.Close()
		}
	}
	clk.Add(10 * time.Second)
	for _, h := range names {
		_, err := c.Get("http://" + h + "/")
		if want := h == "bad.internal"; errors.Is(err, breaker.ErrOpen) != want {
			t.Errorf("%s: err %v, want rejected: %v", h, err, want)
		}
	}
}

// The same detector in shadow, the way to trial it on live traffic: it
// reports that it would open the bad host, with its evidence, and every
// request is still sent.
func TestHostTransportShadowDetectorSendsEverything(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	var seen []group.Outlier[string]
	hosts, err := group.New(group.Config[string, *http.Response]{
		New: func(string) breaker.Config[*http.Response] {
			return breaker.Config[*http.Response]{Policy: policy.Consecutive(10), OpenTimeout: 30 * time.Second}
		},
		Clock:     clk,
		Outliers:  &group.Outliers{SuccessRate: &group.SuccessRateTest{}, Shadow: true},
		OnOutlier: func(o group.Outlier[string]) { seen = append(seen, o) },
	})
	if err != nil {
		t.Fatal(err)
	}
	base := &fakeHosts{hits: map[string]int{}, status: func(host string, n int) int {
		if host == "bad.internal" && n%5 < 2 {
			return 503
		}
		return 200
	}}
	c := &http.Client{Transport: &httpbreaker.HostTransport{Group: hosts, Base: base}}
	names := []string{"a.internal", "b.internal", "c.internal", "d.internal", "e.internal", "bad.internal"}
	for round := range 2 {
		for range 100 {
			for _, h := range names {
				res, err := c.Get("http://" + h + "/")
				if err != nil {
					t.Fatalf("round %d, %s: %v", round, h, err)
				}
				res.Body.Close()
			}
		}
		clk.Add(10 * time.Second)
	}
	for _, h := range names {
		res, err := c.Get("http://" + h + "/") // the first runs the evaluation
		if err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		res.Body.Close()
	}
	if base.hits["bad.internal"] != 201 {
		t.Fatalf("bad.internal got %d requests, want all 201", base.hits["bad.internal"])
	}
	if len(seen) != 1 || seen[0].Key != "bad.internal" || !seen[0].Shadow || !seen[0].Opened ||
		!strings.Contains(seen[0].String(), "would open (shadow)") {
		t.Fatalf("outliers: %+v", seen)
	}
	if st := hosts.OutlierStats(); !st.Shadow || st.Ejected != 1 || st.Evaluations != 2 {
		t.Fatalf("OutlierStats: %+v", st)
	}
}

// KeepOneClosed: when every host fails, the group keeps one of them
// closed, so that the client always has somewhere to send.
func TestHostTransportKeepOneClosed(t *testing.T) {
	hosts, err := group.New(group.Config[string, *http.Response]{
		New: func(string) breaker.Config[*http.Response] {
			return breaker.Config[*http.Response]{Policy: policy.Consecutive(3)}
		},
		Clock:         epochs.Mock(epochs.Today),
		KeepOneClosed: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	base := &fakeHosts{hits: map[string]int{}, status: func(string, int) int { return 503 }}
	c := &http.Client{Transport: &httpbreaker.HostTransport{Group: hosts, Base: base}}
	for range 5 {
		for _, h := range []string{"a.internal", "b.internal", "c.internal"} {
			if res, err := c.Get("http://" + h + "/"); err == nil {
				res.Body.Close()
			}
		}
	}
	open, limit := hosts.OpenLimit()
	kept := hosts.KeptClosed()
	if open != 2 || limit != 2 || len(kept) != 1 || kept[0].By != "policy" {
		t.Fatalf("open %d, limit %d, kept %+v", open, limit, kept)
	}
}
