package otelbreaker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/otelbreaker"
	"github.com/tripwire-go/tripwire/policy"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Report a breaker's metrics through OpenTelemetry. In a service the meter
// comes from the global provider (otel.Meter) and an exporter reads it; here
// a manual reader collects once and the call counts are printed.
func ExampleRegister() {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	b, _ := breaker.New(breaker.Config[string]{Name: "payments", CountCalls: true})
	reg, err := otelbreaker.Register(provider.Meter("example"), b)
	if err != nil {
		panic(err)
	}
	defer reg.Unregister()

	b.Execute(context.Background(), func(context.Context) (string, error) { return "paid", nil })
	b.Execute(context.Background(), func(context.Context) (string, error) { return "", errors.New("declined") })

	var rm metricdata.ResourceMetrics
	reader.Collect(context.Background(), &rm)
	var lines []string
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name != otelbreaker.CallsName {
			continue
		}
		for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
			name, _ := p.Attributes.Value(otelbreaker.NameKey)
			outcome, _ := p.Attributes.Value(otelbreaker.OutcomeKey)
			lines = append(lines, fmt.Sprintf("%s %s %s=%d", m.Name, name.AsString(), outcome.AsString(), p.Value))
		}
	}
	slices.Sort(lines) // points come in no particular order
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// tripwire.breaker.calls payments failure=1
	// tripwire.breaker.calls payments ignored=0
	// tripwire.breaker.calls payments rejected=0
	// tripwire.breaker.calls payments success=1
}

// Add the breaker's rejections and state changes to the spans of the calls
// that met them. In a service the tracer comes from the global provider
// (otel.Tracer); here a span recorder shows the events.
func ExampleExecute() {
	rec := tracetest.NewSpanRecorder()
	tracer := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("example")

	se := otelbreaker.NewSpanEvents()
	b, _ := breaker.New(breaker.Config[string]{
		Name: "payments", Policy: policy.Consecutive(1), OnTransition: se.OnTransition,
	})
	for _, name := range []string{"first", "second"} {
		ctx, span := tracer.Start(context.Background(), name)
		otelbreaker.Execute(ctx, se, b, func(context.Context) (string, error) { return "", errors.New("declined") })
		span.End()
	}
	for _, s := range rec.Ended() {
		for _, e := range s.Events() {
			fmt.Println(s.Name(), e.Name)
		}
	}
	// Output:
	// first tripwire.breaker.state_change
	// second tripwire.breaker.rejected
}
