package otelbreaker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/otelbreaker"
	"github.com/tripwire-go/tripwire/policy"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
)

var errDown = errors.New("down")

const manualHelp = "Times Trip, TripFor or ForceOpen opened the circuit, or gave an open one a new period or mode."

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

// collect reads every metric of the reader, by name.
func collect(t *testing.T, reader sdkmetric.Reader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			got[m.Name] = m
		}
	}
	return got
}

func attrs(kv ...attribute.KeyValue) attribute.Set { return attribute.NewSet(kv...) }

func point(v int64, kv ...attribute.KeyValue) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{Attributes: attrs(kv...), Value: v}
}

func sum(monotonic bool, points ...metricdata.DataPoint[int64]) metricdata.Sum[int64] {
	return metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: monotonic, DataPoints: points}
}

func setup(t *testing.T) (*sdkmetric.ManualReader, *sdkmetric.MeterProvider) {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { provider.Shutdown(context.Background()) })
	return reader, provider
}

func TestRegisterReportsBreakers(t *testing.T) {
	reader, provider := setup(t)
	clk := epochs.Mock(epochs.Today)
	counted := newBreaker(t, breaker.Config[int]{
		Name: "payments", CountCalls: true, Clock: clk,
		Policy: policy.Consecutive(2), OpenTimeout: time.Minute,
	})
	plain := newBreaker(t, breaker.Config[int]{Name: "search", Clock: clk})
	reg, err := otelbreaker.Register(provider.Meter("test"), counted)
	if err != nil {
		t.Fatal(err)
	}
	reg.Add(plain)

	call(counted, nil)
	call(counted, errDown)
	call(counted, errDown) // opens
	call(counted, nil)     // rejected
	ctx, cancel := context.WithCancel(context.Background())
	counted.Reset()
	counted.Execute(ctx, func(context.Context) (int, error) { cancel(); return 0, ctx.Err() })
	plain.ForceOpen()

	pay, search := otelbreaker.NameKey.String("payments"), otelbreaker.NameKey.String("search")
	outcome := otelbreaker.OutcomeKey.String
	state := otelbreaker.StateKey.String
	mode := otelbreaker.ModeKey.String
	want := []metricdata.Metrics{
		{
			Name: otelbreaker.CallsName, Unit: "{call}",
			Description: "Calls through circuit breakers, by outcome: success, failure and ignored for calls that ran, rejected for calls refused while open.",
			Data: sum(true,
				point(1, pay, outcome("success")),
				point(2, pay, outcome("failure")),
				point(1, pay, outcome("ignored")),
				point(1, pay, outcome("rejected")),
			),
		},
		{
			Name: otelbreaker.TripsName, Unit: "{trip}", Description: "Times the policy opened the closed circuit.",
			Data: sum(true, point(1, pay), point(0, search)),
		},
		{
			Name: otelbreaker.ReopensName, Unit: "{reopen}", Description: "Times a failed half-open probe opened the circuit again.",
			Data: sum(true, point(0, pay), point(0, search)),
		},
		{
			Name: otelbreaker.ManualOpensName, Unit: "{open}", Description: manualHelp,
			Data: sum(true, point(0, pay), point(1, search)),
		},
		{
			Name: otelbreaker.ExternalOpensName, Unit: "{open}",
			Description: "Times the circuit was opened by a decision adopted from a coordinator (Adopt).",
			Data:        sum(true, point(0, pay), point(0, search)),
		},
		{
			Name: otelbreaker.ModeName, Unit: "1",
			Description: "Whether the manual mode of the attribute is in force (1) or not (0): none, forced-open (ForceOpen) or disabled (Disable).",
			Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{
				point(1, pay, mode("none")),
				point(0, pay, mode("forced-open")),
				point(0, pay, mode("disabled")),
				point(0, search, mode("none")),
				point(1, search, mode("forced-open")),
				point(0, search, mode("disabled")),
			}},
		},
		{
			Name: otelbreaker.ActiveProbesName, Unit: "{probe}", Description: "Half-open probe calls in flight.",
			Data: sum(false, point(0, pay), point(0, search)),
		},
		{
			Name: otelbreaker.StateName, Unit: "1",
			Description: "Whether a circuit is in the state of the attribute (1) or not (0).",
			Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{
				point(1, pay, state("closed")),
				point(0, pay, state("half-open")),
				point(0, pay, state("open")),
				point(0, search, state("closed")),
				point(0, search, state("half-open")),
				point(1, search, state("open")),
			}},
		},
	}
	got := collect(t, reader)
	if len(got) != len(want) {
		t.Errorf("got %d instruments, want %d", len(got), len(want))
	}
	for _, w := range want {
		metricdatatest.AssertEqual(t, w, got[w.Name], metricdatatest.IgnoreTimestamp())
	}

	// Half-open, a probe in flight.
	counted.Trip()
	clk.Add(time.Minute)
	p, err := counted.Allow()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Done(0, nil)
	got = collect(t, reader)
	metricdatatest.AssertEqual(t, metricdata.Metrics{
		Name: otelbreaker.ActiveProbesName, Unit: "{probe}", Description: "Half-open probe calls in flight.",
		Data: sum(false, point(1, pay), point(0, search)),
	}, got[otelbreaker.ActiveProbesName], metricdatatest.IgnoreTimestamp())

	// After Unregister, nothing is reported.
	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	for name, m := range collect(t, reader) {
		if n := dataPoints(m); n != 0 {
			t.Errorf("%s: %d points after Unregister", name, n)
		}
	}
}

func dataPoints(m metricdata.Metrics) int {
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		return len(d.DataPoints)
	case metricdata.Gauge[int64]:
		return len(d.DataPoints)
	}
	return -1
}

// A group is read at each collection: breakers it creates later appear.
func TestRegisterGroup(t *testing.T) {
	reader, provider := setup(t)
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] { return breaker.Config[int]{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := otelbreaker.Register(provider.Meter("test"))
	if err != nil {
		t.Fatal(err)
	}
	reg.AddGroup(g)
	if n := dataPoints(collect(t, reader)[otelbreaker.ManualOpensName]); n > 0 {
		t.Fatalf("an empty group reported %d trips points", n)
	}
	a, _ := g.Get("a")
	a.Trip()
	g.Get("b")
	metricdatatest.AssertEqual(t, metricdata.Metrics{
		Name: otelbreaker.ManualOpensName, Unit: "{open}", Description: manualHelp,
		Data: sum(true, point(1, otelbreaker.NameKey.String("a")), point(0, otelbreaker.NameKey.String("b"))),
	}, collect(t, reader)[otelbreaker.ManualOpensName], metricdatatest.IgnoreTimestamp())
}

// Two breakers given to Register with one name are refused there.
func TestRegisterRefusesDuplicateNames(t *testing.T) {
	_, provider := setup(t)
	reg, err := otelbreaker.Register(provider.Meter("test"),
		newBreaker(t, breaker.Config[int]{Name: "twin"}),
		newBreaker(t, breaker.Config[int]{Name: "twin"}))
	if !errors.Is(err, otelbreaker.ErrDuplicateName) || !strings.Contains(err.Error(), `"twin"`) || reg != nil {
		t.Fatalf("Register = %v, %v; want nil and an error naming twin", reg, err)
	}
}

// Every kind of name collision: refused when added or, for groups, left out
// and counted; each name has one point per instrument.
func TestCollisionsAreReportedNotMixed(t *testing.T) {
	reader, provider := setup(t)
	api := newBreaker(t, breaker.Config[int]{Name: "api"})
	api.Trip()
	reg, err := otelbreaker.Register(provider.Meter("test"), api)
	if err != nil {
		t.Fatal(err)
	}
	err = reg.Add(newBreaker(t, breaker.Config[int]{Name: "api"}), api, newBreaker(t, breaker.Config[int]{Name: "solo"}))
	if !errors.Is(err, otelbreaker.ErrDuplicateName) || strings.Count(err.Error(), "\n") != 1 {
		t.Fatalf("Add: %v; want two duplicates reported", err)
	}
	hosts, err := group.New(group.Config[string, int]{New: func(string) breaker.Config[int] { return breaker.Config[int]{} }})
	if err != nil {
		t.Fatal(err)
	}
	hosts.Get("api") // closed: the added breaker, open, is the one reported
	hosts.Get("db")
	reg.AddGroup(hosts)
	reg.AddGroup(hosts)

	got := collect(t, reader)
	key := otelbreaker.NameKey.String
	metricdatatest.AssertEqual(t, metricdata.Metrics{
		Name: otelbreaker.ManualOpensName, Unit: "{open}", Description: manualHelp,
		Data: sum(true, point(1, key("api")), point(0, key("solo")), point(0, key("db"))),
	}, got[otelbreaker.ManualOpensName], metricdatatest.IgnoreTimestamp())
	metricdatatest.AssertEqual(t, metricdata.Metrics{
		Name: otelbreaker.NameCollisionsName, Unit: "{breaker}",
		Description: "Breakers of a group left out of this collection because a breaker with the same name was reported first.",
		Data:        metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{point(2, key("api")), point(1, key("db"))}},
	}, got[otelbreaker.NameCollisionsName], metricdatatest.IgnoreTimestamp())
}

// A breaker.Registry is read afresh at each collection: a circuit added to
// it after Register is reported, as the console shows it.
func TestRegisterRegistry(t *testing.T) {
	reader, provider := setup(t)
	r := new(breaker.Registry)
	reg, err := otelbreaker.Register(provider.Meter("test"))
	if err != nil {
		t.Fatal(err)
	}
	reg.AddRegistry(r)
	b := newBreaker(t, breaker.Config[int]{Name: "late"})
	if err := r.Add(b); err != nil {
		t.Fatal(err)
	}
	b.Trip()
	metricdatatest.AssertEqual(t, metricdata.Metrics{
		Name: otelbreaker.ManualOpensName, Unit: "{open}", Description: manualHelp,
		Data: sum(true, point(1, otelbreaker.NameKey.String("late"))),
	}, collect(t, reader)[otelbreaker.ManualOpensName], metricdatatest.IgnoreTimestamp())
}
