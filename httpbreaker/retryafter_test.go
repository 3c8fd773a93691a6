package httpbreaker_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/httpbreaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
)

// canned answers every request with status and headers, without a network.
type canned struct {
	status int
	header http.Header
}

func (c canned) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: c.status, Header: c.header, Body: http.NoBody, Request: req}, nil
}

func TestTransportOpensForRetryAfter(t *testing.T) {
	date := epochs.Today.Format(http.TimeFormat)
	later := epochs.Today.Add(50 * time.Second).Format(http.TimeFormat)
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		want   time.Duration // 0: the circuit stays closed
	}{
		{"429 seconds", 429, http.Header{"Retry-After": {"20"}}, 20 * time.Second},
		{"503 seconds", 503, http.Header{"Retry-After": {" 7 "}}, 7 * time.Second},
		{"503 http-date", 503, http.Header{"Retry-After": {later}, "Date": {date}}, 50 * time.Second},
		{"429 clamped", 429, http.Header{"Retry-After": {"86400"}}, time.Minute},
		{"429 huge", 429, http.Header{"Retry-After": {"99999999999999999"}}, time.Minute},
		{"500 ignores it", 500, http.Header{"Retry-After": {"20"}}, 0},
		{"429 without it", 429, http.Header{}, 0},
		{"429 garbage", 429, http.Header{"Retry-After": {"soon"}}, 0},
		{"429 date in the past", 429, http.Header{"Retry-After": {date}, "Date": {later}}, 0},
		{"429 zero", 429, http.Header{"Retry-After": {"0"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := epochs.NewClock(epochs.Today)
			var tr []breaker.Transition
			b, err := breaker.New(breaker.Config[*http.Response]{Clock: clk, MaxRetryAfter: time.Minute,
				OnTransition: func(x breaker.Transition) { tr = append(tr, x) }})
			if err != nil {
				t.Fatal(err)
			}
			c := &http.Client{Transport: &httpbreaker.Transport{Breaker: b, Base: canned{tc.status, tc.header}}}
			res, err := c.Get("http://upstream.test/")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if tc.want == 0 {
				if len(tr) != 0 {
					t.Fatalf("transitions %+v, want none", tr)
				}
				return
			}
			if len(tr) != 1 || tr[0].To != breaker.Open || !tr[0].Until.Equal(clk.Now().Add(tc.want)) {
				t.Fatalf("transitions %+v, want open for %v", tr, tc.want)
			}
			if !strings.Contains(tr[0].Evidence.Text, "asked by the dependency") {
				t.Fatalf("evidence %q", tr[0].Evidence.Text)
			}
		})
	}
}
