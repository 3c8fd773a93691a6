package otelbreaker_test

import (
	"context"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/otelbreaker"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// What Execute adds to a closed call: with a span that does not record, a
// context lookup; with one that records, the breaker's change log.
func BenchmarkExecute(b *testing.B) {
	se := otelbreaker.NewSpanEvents()
	br, err := breaker.New(breaker.Config[int]{Name: "a", OnTransition: se.OnTransition})
	if err != nil {
		b.Fatal(err)
	}
	br.Trip()
	br.Reset() // the log exists
	ok := func(context.Context) (int, error) { return 1, nil }
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	defer tp.Shutdown(context.Background())
	recording, span := tp.Tracer("bench").Start(context.Background(), "call")
	defer span.End()
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{
		{"span=none", context.Background()},
		{"span=not-recording", trace.ContextWithSpanContext(context.Background(), span.SpanContext())},
		{"span=recording", recording},
	} {
		b.Run(bc.name+"/form=breaker.Execute", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				br.Execute(bc.ctx, ok)
			}
		})
		b.Run(bc.name+"/form=otelbreaker.Execute", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				otelbreaker.Execute(bc.ctx, se, br, ok)
			}
		})
		b.Run(bc.name+"/form=otelbreaker.Execute/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					otelbreaker.Execute(bc.ctx, se, br, ok)
				}
			})
		})
	}
}
