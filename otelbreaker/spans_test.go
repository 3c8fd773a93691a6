package otelbreaker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/otelbreaker"
	"github.com/tripwire-go/tripwire/policy"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

func tracer(t *testing.T) (trace.Tracer, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp.Tracer("test"), rec
}

// events describes the span events of a span, one string each.
func events(s sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, e := range s.Events() {
		line := e.Name
		for _, kv := range e.Attributes {
			line += fmt.Sprintf(" %s=%s", kv.Key, kv.Value.String())
		}
		out = append(out, line)
	}
	return out
}

// One caller at a time: each state change goes to the span of the call
// that caused it, and a rejection to the rejected call's span.
func TestSpanEventsOneCallerAtATime(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		tr, rec := tracer(t)
		clk := epochs.Mock(start)
		se := otelbreaker.NewSpanEvents()
		b, err := breaker.New(breaker.Config[int]{
			Name: "payments", Clock: clk, Policy: policy.Consecutive(2),
			OpenTimeout: time.Minute, HalfOpenProbes: 1, OnTransition: se.OnTransition,
		})
		if err != nil {
			t.Fatal(err)
		}
		traced := func(name string, err error) {
			ctx, span := tr.Start(context.Background(), name)
			otelbreaker.Execute(ctx, se, b, func(context.Context) (int, error) { return 0, err })
			span.End()
		}
		traced("fail-1", errDown)
		traced("fail-2", errDown) // opens
		traced("rejected", nil)
		b.Reset() // an operator's: no traced call runs, no span gets it
		b.Trip()
		clk.Add(time.Minute)
		traced("probe", nil) // half-open, then closed

		want := map[string][]string{
			"fail-1": nil,
			"fail-2": {"tripwire.breaker.state_change breaker.name=payments breaker.from=closed breaker.to=open breaker.cause=policy breaker.mode=none" +
				" breaker.why=consecutive: 2 failures in a row (threshold 2); last failure: down breaker.rule=consecutive breaker.path="},
			"rejected": {"tripwire.breaker.rejected breaker.name=payments breaker.state=open breaker.forced=false breaker.until=" +
				start.Add(time.Minute).Format(time.RFC3339Nano)},
			"probe": {
				"tripwire.breaker.state_change breaker.name=payments breaker.from=open breaker.to=half-open breaker.cause=timeout breaker.mode=none breaker.why=the open period of 1m0s ended; probes may run",
				"tripwire.breaker.state_change breaker.name=payments breaker.from=half-open breaker.to=closed breaker.cause=probe breaker.mode=none breaker.why=1 probe succeeded",
			},
		}
		spans := rec.Ended()
		if len(spans) != len(want) {
			t.Fatalf("%d spans, want %d", len(spans), len(want))
		}
		for _, s := range spans {
			if got := events(s); !slices.Equal(got, want[s.Name()]) {
				t.Errorf("span %s: events\n\t%q\nwant\n\t%q", s.Name(), got, want[s.Name()])
			}
		}
	})
}

// A span that does not record gets nothing, and the call runs as usual.
func TestSpanEventsNotRecording(t *testing.T) {
	se := otelbreaker.NewSpanEvents()
	b, err := breaker.New(breaker.Config[int]{Name: "a", OnTransition: se.OnTransition, Policy: policy.Consecutive(1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := noop.NewTracerProvider().Tracer("x").Start(context.Background(), "call")
	defer span.End()
	if _, err := otelbreaker.Execute(ctx, se, b, func(context.Context) (int, error) { return 0, errDown }); !errors.Is(err, errDown) {
		t.Fatalf("Execute: %v", err)
	}
	if _, err := otelbreaker.Execute(ctx, se, b, func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("Execute on an open circuit: %v", err)
	}
	if otelbreaker.AddRejectionEvent(ctx, errDown) {
		t.Fatal("AddRejectionEvent took a failure for a rejection")
	}
}

// The two-step form: Watch before Allow, End after Done, and the
// rejection through AddRejectionEvent.
func TestSpanEventsTwoStep(t *testing.T) {
	tr, rec := tracer(t)
	se := otelbreaker.NewSpanEvents()
	b, err := breaker.New(breaker.Config[int]{Name: "a", OnTransition: se.OnTransition, Policy: policy.Consecutive(1)})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		ctx, span := tr.Start(context.Background(), "call")
		c := se.Watch(ctx, b.Name())
		p, err := b.Allow()
		if otelbreaker.AddRejectionEvent(ctx, err) {
			c.End()
			span.End()
			continue
		}
		p.Done(0, errDown)
		c.End()
		span.End()
	}
	var got []string
	for _, s := range rec.Ended() {
		for _, e := range s.Events() {
			got = append(got, e.Name)
		}
	}
	if want := []string{otelbreaker.StateChangeEvent, otelbreaker.RejectedEvent}; !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}

// Calls at once: no state change is added to two spans, and none to a
// span whose call had ended before it happened.
func TestSpanEventsConcurrentCalls(t *testing.T) {
	tr, rec := tracer(t)
	se := otelbreaker.NewSpanEvents()
	var changes atomic.Int64
	b, err := breaker.New(breaker.Config[int]{
		Name: "a", Policy: policy.Consecutive(1), OpenTimeout: time.Nanosecond, HalfOpenProbes: 1,
		OnTransition: func(tr breaker.Transition) {
			if tr.From != tr.To {
				changes.Add(1)
			}
			se.OnTransition(tr)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				ctx, span := tr.Start(context.Background(), "call")
				otelbreaker.Execute(ctx, se, b, func(context.Context) (int, error) {
					if (i+w)%3 == 0 {
						return 0, errDown
					}
					return 0, nil
				})
				span.End()
			}
		}()
	}
	wg.Wait()
	n := 0
	for _, s := range rec.Ended() {
		for _, e := range s.Events() {
			if e.Name == otelbreaker.StateChangeEvent {
				n++
				if e.Time.Before(s.StartTime()) || e.Time.After(s.EndTime()) {
					t.Fatalf("a state change at %v on a span from %v to %v", e.Time, s.StartTime(), s.EndTime())
				}
			}
		}
	}
	if n > int(changes.Load()) || n == 0 {
		t.Fatalf("%d state-change events for %d state changes", n, changes.Load())
	}
}

// Forget drops a name's changes; a change after it starts a new log, and
// the next call gets only its own.
func TestSpanEventsForget(t *testing.T) {
	tr, rec := tracer(t)
	se := otelbreaker.NewSpanEvents()
	b, err := breaker.New(breaker.Config[int]{Name: "a", OnTransition: se.OnTransition, Policy: policy.Consecutive(1)})
	if err != nil {
		t.Fatal(err)
	}
	b.Trip()
	se.Forget("a")
	b.Reset() // a new log, while no call runs
	ctx, span := tr.Start(context.Background(), "call")
	otelbreaker.Execute(ctx, se, b, func(context.Context) (int, error) { return 0, errDown })
	span.End()
	got := events(rec.Ended()[0])
	want := []string{"tripwire.breaker.state_change breaker.name=a breaker.from=closed breaker.to=open breaker.cause=policy breaker.mode=none" +
		" breaker.why=consecutive: 1 failures in a row (threshold 1); last failure: down breaker.rule=consecutive breaker.path="}
	if !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}
