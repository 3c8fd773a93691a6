package prombreaker_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
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

func mustCollector(t *testing.T, opts prombreaker.Opts, bs ...prombreaker.Breaker) *prombreaker.Collector {
	t.Helper()
	c, err := prombreaker.NewCollector(opts, bs...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func call(b *breaker.Breaker[int], err error) {
	b.Execute(context.Background(), func(context.Context) (int, error) { return 0, err })
}

// Every series, after each way of opening a circuit: the policy's trip, a
// failed probe, an operator's Trip and ForceOpen, a coordinator's Adopt.
// Each is counted under its own name.
func TestCollectorExposition(t *testing.T) {
	start := epochs.Today
	clk := epochs.Mock(start)
	counted := newBreaker(t, breaker.Config[int]{
		Name: "payments", CountCalls: true, Clock: clk,
		Policy: policy.Consecutive(2), OpenTimeout: time.Minute, HalfOpenProbes: 1,
	})
	forced := newBreaker(t, breaker.Config[int]{Name: "search", Clock: clk})
	adopted := newBreaker(t, breaker.Config[int]{Name: "shared", Clock: clk})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(mustCollector(t, prombreaker.Opts{}, counted, forced, adopted))

	call(counted, nil)
	call(counted, errDown)
	clk.Add(90 * time.Second)
	call(counted, errDown) // the policy trips it
	call(counted, nil)     // rejected
	clk.Add(time.Minute)
	call(counted, errDown) // a failed probe reopens it
	clk.Add(time.Minute)
	counted.Trip() // half-open: an operator opens it
	forced.ForceOpen()
	adopted.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: time.Minute})

	since := func(d time.Duration) string {
		return strconv.FormatFloat(float64(start.Add(d).UnixNano())/1e9, 'g', -1, 64)
	}
	want := `
# HELP tripwire_breaker_calls_total Calls by outcome: success, failure and ignored for calls that ran, rejected for calls refused while open. Only for breakers that count calls.
# TYPE tripwire_breaker_calls_total counter
tripwire_breaker_calls_total{breaker="payments",outcome="failure"} 3
tripwire_breaker_calls_total{breaker="payments",outcome="ignored"} 0
tripwire_breaker_calls_total{breaker="payments",outcome="rejected"} 1
tripwire_breaker_calls_total{breaker="payments",outcome="success"} 1
# HELP tripwire_breaker_external_opens_total Times the circuit was opened by a decision adopted from a coordinator (Adopt).
# TYPE tripwire_breaker_external_opens_total counter
tripwire_breaker_external_opens_total{breaker="payments"} 0
tripwire_breaker_external_opens_total{breaker="search"} 0
tripwire_breaker_external_opens_total{breaker="shared"} 1
# HELP tripwire_breaker_manual_opens_total Times Trip, TripFor or ForceOpen opened the circuit, or gave an open one a new period or mode.
# TYPE tripwire_breaker_manual_opens_total counter
tripwire_breaker_manual_opens_total{breaker="payments"} 1
tripwire_breaker_manual_opens_total{breaker="search"} 1
tripwire_breaker_manual_opens_total{breaker="shared"} 0
# HELP tripwire_breaker_last_trip_rule 1 for the rule of the policy that decided the circuit's last trip (rule: consecutive, window, rate, lastn, slow, when, all, or a custom policy's; path: which child of Any or All, empty otherwise). Absent before the first trip. The full account is in the transition's evidence.
# TYPE tripwire_breaker_last_trip_rule gauge
tripwire_breaker_last_trip_rule{breaker="payments",path="",rule="consecutive"} 1
# HELP tripwire_breaker_mode Whether the manual mode of the label is in force (1) or not (0): none, forced-open (ForceOpen) or disabled (Disable).
# TYPE tripwire_breaker_mode gauge
tripwire_breaker_mode{breaker="payments",mode="disabled"} 0
tripwire_breaker_mode{breaker="payments",mode="forced-open"} 0
tripwire_breaker_mode{breaker="payments",mode="none"} 1
tripwire_breaker_mode{breaker="search",mode="disabled"} 0
tripwire_breaker_mode{breaker="search",mode="forced-open"} 1
tripwire_breaker_mode{breaker="search",mode="none"} 0
tripwire_breaker_mode{breaker="shared",mode="disabled"} 0
tripwire_breaker_mode{breaker="shared",mode="forced-open"} 0
tripwire_breaker_mode{breaker="shared",mode="none"} 1
# HELP tripwire_breaker_probes_in_flight Half-open probe calls running now.
# TYPE tripwire_breaker_probes_in_flight gauge
tripwire_breaker_probes_in_flight{breaker="payments"} 0
tripwire_breaker_probes_in_flight{breaker="search"} 0
tripwire_breaker_probes_in_flight{breaker="shared"} 0
# HELP tripwire_breaker_reopens_total Times a failed half-open probe opened the circuit again.
# TYPE tripwire_breaker_reopens_total counter
tripwire_breaker_reopens_total{breaker="payments"} 1
tripwire_breaker_reopens_total{breaker="search"} 0
tripwire_breaker_reopens_total{breaker="shared"} 0
# HELP tripwire_breaker_state Whether the circuit is in the state of the label (1) or not (0).
# TYPE tripwire_breaker_state gauge
tripwire_breaker_state{breaker="payments",state="closed"} 0
tripwire_breaker_state{breaker="payments",state="half-open"} 0
tripwire_breaker_state{breaker="payments",state="open"} 1
tripwire_breaker_state{breaker="search",state="closed"} 0
tripwire_breaker_state{breaker="search",state="half-open"} 0
tripwire_breaker_state{breaker="search",state="open"} 1
tripwire_breaker_state{breaker="shared",state="closed"} 0
tripwire_breaker_state{breaker="shared",state="half-open"} 0
tripwire_breaker_state{breaker="shared",state="open"} 1
# HELP tripwire_breaker_state_since_timestamp_seconds When the circuit entered its current state, in seconds since the Unix epoch.
# TYPE tripwire_breaker_state_since_timestamp_seconds gauge
tripwire_breaker_state_since_timestamp_seconds{breaker="payments"} ` + since(210*time.Second) + `
tripwire_breaker_state_since_timestamp_seconds{breaker="search"} ` + since(210*time.Second) + `
tripwire_breaker_state_since_timestamp_seconds{breaker="shared"} ` + since(210*time.Second) + `
# HELP tripwire_breaker_trips_total Times the policy opened the closed circuit.
# TYPE tripwire_breaker_trips_total counter
tripwire_breaker_trips_total{breaker="payments"} 1
tripwire_breaker_trips_total{breaker="search"} 0
tripwire_breaker_trips_total{breaker="shared"} 0
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
tripwire_breaker_probes_in_flight{breaker="shared"} 0
# HELP tripwire_breaker_state Whether the circuit is in the state of the label (1) or not (0).
# TYPE tripwire_breaker_state gauge
tripwire_breaker_state{breaker="payments",state="closed"} 0
tripwire_breaker_state{breaker="payments",state="half-open"} 1
tripwire_breaker_state{breaker="payments",state="open"} 0
tripwire_breaker_state{breaker="search",state="closed"} 0
tripwire_breaker_state{breaker="search",state="half-open"} 0
tripwire_breaker_state{breaker="search",state="open"} 1
tripwire_breaker_state{breaker="shared",state="closed"} 0
tripwire_breaker_state{breaker="shared",state="half-open"} 1
tripwire_breaker_state{breaker="shared",state="open"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"tripwire_breaker_probes_in_flight", "tripwire_breaker_state"); err != nil {
		t.Fatal(err)
	}
}

// Every metric the collector can send passes the Prometheus linter,
// name_collisions included.
func TestCollectorLint(t *testing.T) {
	b := newBreaker(t, breaker.Config[int]{Name: "a", CountCalls: true})
	c := mustCollector(t, prombreaker.Opts{}, b)
	g, err := group.New(group.Config[string, int]{New: func(string) breaker.Config[int] { return breaker.Config[int]{} }})
	if err != nil {
		t.Fatal(err)
	}
	g.Get("a")
	c.AddGroup(g)
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// A group is read at each scrape: breakers it creates later appear.
func TestCollectorGroupOverHTTP(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	g, err := group.New(group.Config[string, int]{
		New:   func(string) breaker.Config[int] { return breaker.Config[int]{} },
		Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := mustCollector(t, prombreaker.Opts{Namespace: "shop", ConstLabels: prometheus.Labels{"zone": "eu"}})
	c.AddGroup(g)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	const trips = `
# HELP shop_breaker_manual_opens_total Times Trip, TripFor or ForceOpen opened the circuit, or gave an open one a new period or mode.
# TYPE shop_breaker_manual_opens_total counter
`
	if err := testutil.ScrapeAndCompare(srv.URL, strings.NewReader(trips), "shop_breaker_manual_opens_total"); err != nil {
		t.Fatalf("empty group: %v", err)
	}
	a, _ := g.Get("a")
	a.Trip()
	g.Get("b")
	want := trips + `
shop_breaker_manual_opens_total{breaker="a",zone="eu"} 1
shop_breaker_manual_opens_total{breaker="b",zone="eu"} 0
`
	if err := testutil.ScrapeAndCompare(srv.URL, strings.NewReader(want), "shop_breaker_manual_opens_total"); err != nil {
		t.Fatal(err)
	}
}

// Two breakers given to NewCollector with one name are refused there, and
// nothing is built.
func TestNewCollectorRefusesDuplicateNames(t *testing.T) {
	c, err := prombreaker.NewCollector(prombreaker.Opts{},
		newBreaker(t, breaker.Config[int]{Name: "twin"}),
		newBreaker(t, breaker.Config[int]{Name: "twin"}))
	if !errors.Is(err, prombreaker.ErrDuplicateName) || !strings.Contains(err.Error(), `"twin"`) || c != nil {
		t.Fatalf("NewCollector = %v, %v; want nil and an error naming twin", c, err)
	}
}

// Every kind of name collision at once: each is refused when it is added
// or, for groups, left out of the scrape and counted, and the scrape still
// answers 200 with every other metric of the registry, the application's
// own included. Before, any of them failed the whole scrape with a 500.
func TestScrapeSurvivesEveryCollision(t *testing.T) {
	reg := prometheus.NewRegistry()
	app := prometheus.NewCounter(prometheus.CounterOpts{Name: "app_requests_total", Help: "The application's own metric."})
	app.Add(7)
	reg.MustRegister(app)

	api := newBreaker(t, breaker.Config[int]{Name: "api"})
	c := mustCollector(t, prombreaker.Opts{}, api, newBreaker(t, breaker.Config[int]{Name: "bad\xff"}))
	// Refused when added: a second breaker of a name, the same breaker
	// again, and a name that exports as one already taken.
	err := c.Add(newBreaker(t, breaker.Config[int]{Name: "api"}), api,
		newBreaker(t, breaker.Config[int]{Name: "bad\xfe"}),
		newBreaker(t, breaker.Config[int]{Name: "solo"}))
	if !errors.Is(err, prombreaker.ErrDuplicateName) || strings.Count(err.Error(), "\n") != 2 {
		t.Fatalf("Add: %v; want three duplicates reported", err)
	}
	// Groups: keys that hit an added breaker, two groups keyed alike, a
	// group whose New names every breaker the same, one group added twice.
	newGroup := func() *group.Group[string, int] {
		g, err := group.New(group.Config[string, int]{New: func(string) breaker.Config[int] { return breaker.Config[int]{} }})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	hostsA, hostsB := newGroup(), newGroup()
	for _, k := range []string{"api", "db", "cache"} {
		hostsA.Get(k)
		hostsB.Get(k)
	}
	fixed, err := group.New(group.Config[int, int]{New: func(int) breaker.Config[int] { return breaker.Config[int]{Name: "same"} }})
	if err != nil {
		t.Fatal(err)
	}
	for k := range 3 {
		fixed.Get(k)
	}
	c.AddGroup(hostsA)
	c.AddGroup(hostsB)
	c.AddGroup(fixed)
	c.AddGroup(hostsA)
	reg.MustRegister(c)
	// A second collector exporting the same series is refused by the
	// registry when it is registered, not at scrape time.
	if err := reg.Register(mustCollector(t, prombreaker.Opts{}, newBreaker(t, breaker.Config[int]{Name: "api"}))); err == nil {
		t.Fatal("the registry took a second collector with the same metrics")
	}

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s\n%s", resp.Status, body)
	}
	want := `
# HELP app_requests_total The application's own metric.
# TYPE app_requests_total counter
app_requests_total 7
# HELP tripwire_breaker_name_collisions Breakers of a group left out of this scrape because a breaker with the same name was exported first.
# TYPE tripwire_breaker_name_collisions gauge
tripwire_breaker_name_collisions{breaker="api"} 3
tripwire_breaker_name_collisions{breaker="cache"} 2
tripwire_breaker_name_collisions{breaker="db"} 2
tripwire_breaker_name_collisions{breaker="same"} 2
# HELP tripwire_breaker_trips_total Times the policy opened the closed circuit.
# TYPE tripwire_breaker_trips_total counter
tripwire_breaker_trips_total{breaker="api"} 0
tripwire_breaker_trips_total{breaker="bad\uFFFD"} 0
tripwire_breaker_trips_total{breaker="cache"} 0
tripwire_breaker_trips_total{breaker="db"} 0
tripwire_breaker_trips_total{breaker="same"} 0
tripwire_breaker_trips_total{breaker="solo"} 0
`
	want = strings.ReplaceAll(want, `\uFFFD`, "\uFFFD") // the raw string cannot hold the escape
	if err := testutil.ScrapeAndCompare(srv.URL, strings.NewReader(want),
		"app_requests_total", "tripwire_breaker_name_collisions", "tripwire_breaker_trips_total"); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(body), "tripwire_breaker_state{"); n != 6*3 {
		t.Fatalf("%d state series, want 3 for each of 6 names:\n%s", n, body)
	}
}

// A breaker.Registry is read afresh at each scrape: a circuit added to it
// after AddRegistry is exported, with the rule of its last trip.
func TestCollectorRegistry(t *testing.T) {
	c, err := prombreaker.NewCollector(prombreaker.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	r := new(breaker.Registry)
	c.AddRegistry(r)
	b := newBreaker(t, breaker.Config[int]{Name: "late", Policy: policy.Any(policy.Consecutive(9), policy.Consecutive(1))})
	if err := r.Add(b); err != nil {
		t.Fatal(err)
	}
	_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("secret text") })
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	want := `# HELP tripwire_breaker_last_trip_rule 1 for the rule of the policy that decided the circuit's last trip (rule: consecutive, window, rate, lastn, slow, when, all, or a custom policy's; path: which child of Any or All, empty otherwise). Absent before the first trip. The full account is in the transition's evidence.
# TYPE tripwire_breaker_last_trip_rule gauge
tripwire_breaker_last_trip_rule{breaker="late",path="any[1]",rule="consecutive"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "tripwire_breaker_last_trip_rule"); err != nil {
		t.Fatal(err)
	}
}
