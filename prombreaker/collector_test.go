package prombreaker_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/prombreaker"
)

var errDown = errors.New("down")

func newBreaker(t *testing.T, cfg breaker.Config[int]) *breaker.Breaker[int] {
	t.Helper()
	b, err := breaker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func call(b *breaker.Breaker[int], err error) {
	b.Execute(context.Background(), func(context.Context) (int, error) { return 0, err })
}

const help = `
# HELP tripwire_breaker_calls_total Calls by outcome: success, failure and ignored for calls that ran, rejected for calls refused while open. Only for breakers that count calls.
# TYPE tripwire_breaker_calls_total counter
# HELP tripwire_breaker_probes_in_flight Half-open probe calls running now.
# TYPE tripwire_breaker_probes_in_flight gauge
# HELP tripwire_breaker_state Whether the circuit is in the state of the label (1) or not (0).
# TYPE tripwire_breaker_state gauge
# HELP tripwire_breaker_state_since_timestamp_seconds When the circuit entered its current state, in seconds since the Unix epoch.
# TYPE tripwire_breaker_state_since_timestamp_seconds gauge
# HELP tripwire_breaker_trips_total Times the circuit opened.
# TYPE tripwire_breaker_trips_total counter
`

func TestCollectorExposition(t *testing.T) {
	clk := clock.NewMock() // starts at the Unix epoch
	counted := newBreaker(t, breaker.Config[int]{
		Name: "payments", CountCalls: true, Clock: clk,
		Policy: policy.Consecutive(2), OpenTimeout: time.Minute, HalfOpenProbes: 2,
	})
	plain := newBreaker(t, breaker.Config[int]{Name: "search", Clock: clk})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(prombreaker.NewCollector(prombreaker.Opts{}, counted, plain))

	call(counted, nil)
	call(counted, errDown)
	clk.Add(90 * time.Second)
	call(counted, errDown) // opens
	call(counted, nil)     // rejected
	call(plain, nil)

	want := help + `
tripwire_breaker_calls_total{breaker="payments",outcome="failure"} 2
tripwire_breaker_calls_total{breaker="payments",outcome="ignored"} 0
tripwire_breaker_calls_total{breaker="payments",outcome="rejected"} 1
tripwire_breaker_calls_total{breaker="payments",outcome="success"} 1
tripwire_breaker_probes_in_flight{breaker="payments"} 0
tripwire_breaker_probes_in_flight{breaker="search"} 0
tripwire_breaker_state{breaker="payments",state="closed"} 0
tripwire_breaker_state{breaker="payments",state="half-open"} 0
tripwire_breaker_state{breaker="payments",state="open"} 1
tripwire_breaker_state{breaker="search",state="closed"} 1
tripwire_breaker_state{breaker="search",state="half-open"} 0
tripwire_breaker_state{breaker="search",state="open"} 0
tripwire_breaker_state_since_timestamp_seconds{breaker="payments"} 90
tripwire_breaker_state_since_timestamp_seconds{breaker="search"} 0
tripwire_breaker_trips_total{breaker="payments"} 1
tripwire_breaker_trips_total{breaker="search"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}

	// Half-open with a probe in flight.
	clk.Add(time.Minute)
	p, err := counted.Allow()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Done(0, nil)
	want = `
# HELP tripwire_breaker_probes_in_flight Half-open probe calls running now.
# TYPE tripwire_breaker_probes_in_flight gauge
tripwire_breaker_probes_in_flight{breaker="payments"} 1
tripwire_breaker_probes_in_flight{breaker="search"} 0
# HELP tripwire_breaker_state Whether the circuit is in the state of the label (1) or not (0).
# TYPE tripwire_breaker_state gauge
tripwire_breaker_state{breaker="payments",state="closed"} 0
tripwire_breaker_state{breaker="payments",state="half-open"} 1
tripwire_breaker_state{breaker="payments",state="open"} 0
tripwire_breaker_state{breaker="search",state="closed"} 1
tripwire_breaker_state{breaker="search",state="half-open"} 0
tripwire_breaker_state{breaker="search",state="open"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"tripwire_breaker_probes_in_flight", "tripwire_breaker_state"); err != nil {
		t.Fatal(err)
	}
}

func TestCollectorLint(t *testing.T) {
	b := newBreaker(t, breaker.Config[int]{Name: "a", CountCalls: true})
	problems, err := testutil.CollectAndLint(prombreaker.NewCollector(prombreaker.Opts{}, b))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// A group is read at each scrape: breakers it creates later appear.
func TestCollectorGroupOverHTTP(t *testing.T) {
	clk := clock.NewMock()
	g, err := group.New(group.Config[string, int]{
		New:   func(string) breaker.Config[int] { return breaker.Config[int]{} },
		Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := prombreaker.NewCollector(prombreaker.Opts{Namespace: "shop", ConstLabels: prometheus.Labels{"zone": "eu"}})
	c.AddGroup(g)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	const trips = `
# HELP shop_breaker_trips_total Times the circuit opened.
# TYPE shop_breaker_trips_total counter
`
	if err := testutil.ScrapeAndCompare(srv.URL, strings.NewReader(trips), "shop_breaker_trips_total"); err != nil {
		t.Fatalf("empty group: %v", err)
	}
	a, _ := g.Get("a")
	a.Trip()
	g.Get("b")
	want := trips + `
shop_breaker_trips_total{breaker="a",zone="eu"} 1
shop_breaker_trips_total{breaker="b",zone="eu"} 0
`
	if err := testutil.ScrapeAndCompare(srv.URL, strings.NewReader(want), "shop_breaker_trips_total"); err != nil {
		t.Fatal(err)
	}
}

// Two breakers with one name make the scrape fail: the registry refuses
// duplicate series rather than export a mix.
func TestCollectorDuplicateNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prombreaker.NewCollector(prombreaker.Opts{},
		newBreaker(t, breaker.Config[int]{Name: "twin"}),
		newBreaker(t, breaker.Config[int]{Name: "twin"})))
	if _, err := reg.Gather(); err == nil {
		t.Fatal("Gather accepted two breakers with one name")
	}
}
