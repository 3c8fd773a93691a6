package otelbreaker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/otelbreaker"
	"github.com/tripwire-go/tripwire/policy"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
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
