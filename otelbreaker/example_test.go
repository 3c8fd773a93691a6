package otelbreaker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/otelbreaker"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
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
