package otelbreaker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/internal/exporttest"
	"github.com/tripwire-go/tripwire/otelbreaker"
	"github.com/tripwire-go/tripwire/policy"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
)

// A candidate's open reaches the span marked shadow, with its name.
func TestSpanEventsShadow(t *testing.T) {
	tr, rec := tracer(t)
	se := otelbreaker.NewSpanEvents()
	b, err := breaker.New(breaker.Config[int]{
		Name: "payments", Clock: epochs.Mock(epochs.Today), Policy: policy.Consecutive(5),
		Shadows:      []breaker.Shadow{{Name: "quick", Settings: breaker.Settings{Policy: policy.Consecutive(1)}}},
		OnTransition: se.OnTransition,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := tr.Start(context.Background(), "call")
	otelbreaker.Execute(ctx, se, b, func(context.Context) (int, error) { return 0, errDown })
	span.End()
	got := events(rec.Ended()[0])
	if len(got) != 1 || !strings.Contains(got[0], "breaker.to=open") || !strings.Contains(got[0], "breaker.shadow=true breaker.candidate=quick") {
		t.Fatalf("events %q, want the candidate's open, marked shadow", got)
	}
}

// A shadow-only breaker reports itself so, with the calls it would have
// rejected.
func TestRegisterShadowOnly(t *testing.T) {
	reader, provider := setup(t)
	b, err := breaker.New(breaker.Config[int]{Name: "trial", ShadowOnly: true, Policy: policy.Consecutive(1), Clock: epochs.Mock(epochs.Today)})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := breaker.New(breaker.Config[int]{Name: "plain", Clock: epochs.Mock(epochs.Today)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := otelbreaker.Register(provider.Meter("test"), b, plain); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		call(b, errDown)
	}
	got := collect(t, reader)
	g, ok := got[otelbreaker.ShadowOnlyName].Data.(metricdata.Gauge[int64])
	if !ok || len(g.DataPoints) != 1 || g.DataPoints[0].Value != 1 {
		t.Fatalf("%s = %+v, want one point of 1, for the shadow-only breaker", otelbreaker.ShadowOnlyName, got[otelbreaker.ShadowOnlyName].Data)
	}
	s, ok := got[otelbreaker.WouldRejectName].Data.(metricdata.Sum[int64])
	if !ok || len(s.DataPoints) != 1 || s.DataPoints[0].Value != 2 {
		t.Fatalf("%s = %+v, want 2", otelbreaker.WouldRejectName, got[otelbreaker.WouldRejectName].Data)
	}
}

// Every instrument of a breaker's candidates, for a breaker added and for
// the keys of a group, each point with its breaker and its candidate: a
// candidate that tripped, would have rejected calls and reopened at its
// probe; one whose policy panics; a key whose candidate saw only
// successes. A breaker left out for its name is left out with its
// candidates.
func TestRegisterShadows(t *testing.T) {
	reader, provider := setup(t)
	clk := epochs.Mock(epochs.Today)
	b := newBreaker(t, breaker.Config[int]{
		Name: "payments", Clock: clk, Policy: policy.Consecutive(5),
		Shadows: []breaker.Shadow{exporttest.Quick(), {Name: "panicky", Settings: breaker.Settings{Policy: exporttest.Panicky{}}}},
	})
	hosts, err := group.New(group.Config[string, int]{
		Clock: clk,
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(5), Shadows: []breaker.Shadow{exporttest.Quick()}}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := otelbreaker.Register(provider.Meter("test"), b)
	if err != nil {
		t.Fatal(err)
	}
	reg.AddGroup(hosts)

	for range 3 {
		call(b, errDown) // quick trips at the first, would reject the others
	}
	clk.Add(61 * time.Second)
	call(b, errDown) // quick's probe fails: it reopens
	a, _ := hosts.Get("a")
	call(a, nil)
	call(a, nil)
	hosts.Get("payments") // collides with b: left out, with its candidate

	of := func(breakerName, candidate string, kv ...attribute.KeyValue) []attribute.KeyValue {
		return append(kv, otelbreaker.NameKey.String(breakerName), otelbreaker.CandidateKey.String(candidate))
	}
	counter := func(name, unit, help string, pay, panicked, host int64) metricdata.Metrics {
		return metricdata.Metrics{Name: name, Unit: unit, Description: help, Data: sum(true,
			point(pay, of("payments", "quick")...),
			point(panicked, of("payments", "panicky")...),
			point(host, of("a", "quick")...))}
	}
	state := func(bn, cand string, s breaker.State) []metricdata.DataPoint[int64] {
		var ps []metricdata.DataPoint[int64]
		for _, st := range []breaker.State{breaker.Closed, breaker.HalfOpen, breaker.Open} {
			v := int64(0)
			if st == s {
				v = 1
			}
			ps = append(ps, point(v, of(bn, cand, otelbreaker.StateKey.String(st.String()))...))
		}
		return ps
	}
	want := []metricdata.Metrics{
		{Name: otelbreaker.ShadowStateName, Unit: "1",
			Description: "Whether a shadow candidate is in the state of the attribute (1) or not (0): the state a breaker with its settings would be in.",
			Data: metricdata.Gauge[int64]{DataPoints: append(append(state("payments", "quick", breaker.Open),
				state("payments", "panicky", breaker.Closed)...), state("a", "quick", breaker.Closed)...)}},
		counter(otelbreaker.ShadowTripsName, "{trip}", "Times the candidate's policy would have opened its closed circuit.", 1, 0, 0),
		counter(otelbreaker.ShadowReopensName, "{reopen}", "Times a failed probe would have opened the candidate's circuit again.", 1, 0, 0),
		counter(otelbreaker.ShadowCallsName, "{call}", "Calls offered to the candidate: every call the live breaker let run.", 4, 4, 2),
		counter(otelbreaker.ShadowWouldRejectName, "{call}", "Calls offered to the candidate that it would have rejected (open, or half-open with its probe slots taken); they ran all the same.", 2, 0, 0),
		counter(otelbreaker.ShadowPanicsName, "{panic}", "Panics recovered from the candidate's policy, or from OnTransition delivering one of its transitions.", 0, 4, 0),
	}
	got := collect(t, reader)
	for _, w := range want {
		metricdatatest.AssertEqual(t, w, got[w.Name], metricdatatest.IgnoreTimestamp())
	}
	// The live breakers never opened.
	if s := got[otelbreaker.TripsName].Data.(metricdata.Sum[int64]); len(s.DataPoints) != 2 || s.DataPoints[0].Value+s.DataPoints[1].Value != 0 {
		t.Fatalf("%s = %+v, want two points of 0", otelbreaker.TripsName, s)
	}
}

// Collections run while calls go through breakers with candidates, a group
// creating keys as they come: clean under -race, and at the end the
// candidates have seen every call, since the live policy never opens.
func TestCollectShadowsDuringCalls(t *testing.T) {
	reader, provider := setup(t)
	b, hosts := exporttest.WithCandidates(t)
	reg, err := otelbreaker.Register(provider.Meter("test"), b)
	if err != nil {
		t.Fatal(err)
	}
	reg.AddGroup(hosts)

	const workers = 2
	wait := exporttest.StartCalls(b, hosts, workers, errDown)
	defer wait() // when a collection fails the test
	for range 30 {
		collect(t, reader)
	}
	wait()
	s, ok := collect(t, reader)[otelbreaker.ShadowCallsName].Data.(metricdata.Sum[int64])
	if !ok || len(s.DataPoints) != 2*5 {
		t.Fatalf("%s = %+v, want 2 candidates of 5 breakers", otelbreaker.ShadowCallsName, s)
	}
	total := int64(0)
	for _, p := range s.DataPoints {
		total += p.Value
	}
	if want := int64(2 * 2 * workers * exporttest.CallsPerWorker); total != want {
		t.Fatalf("calls seen by all candidates: %d, want %d", total, want)
	}
}
