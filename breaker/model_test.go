package breaker_test

import (
	"errors"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/model"
	"github.com/tripwire-go/tripwire/policy"
	"pgregory.net/rapid"
)

// TestBreakerMatchesModel drives a breaker through its public two-step API
// and the reference model with the same random steps, and compares after
// every step what a user can see: the state, which calls are let through,
// the transitions reported, and how long a rejection says to wait.
func TestBreakerMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		md := &model.Breaker{
			Threshold: rapid.IntRange(1, 4).Draw(t, "threshold"),
			Timeout:   time.Duration(rapid.IntRange(1, 10).Draw(t, "timeout")) * time.Second,
			Probes:    rapid.IntRange(1, 4).Draw(t, "probes"),
		}
		clk := clock.NewMock()
		var log []model.Transition
		b, err := breaker.New(breaker.Config[int]{
			Policy:         policy.Consecutive(md.Threshold),
			OpenTimeout:    md.Timeout,
			HalfOpenProbes: md.Probes,
			Clock:          clk,
			// Outcomes are reported as results: Done(int(outcome), nil).
			Classify: func(result int, _ error) breaker.Outcome { return breaker.Outcome(result) },
			OnStateChange: func(_ string, from, to breaker.State) {
				log = append(log, model.Transition{From: model.State(from), To: model.State(to)})
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		type call struct {
			real breaker.Permit[int]
			ref  model.Permit
		}
		var calls []call

		t.Repeat(map[string]func(*rapid.T){
			"allow": func(t *rapid.T) {
				p, err := b.Allow()
				mp, ok := md.Allow(clk.Now())
				switch {
				case ok && err != nil:
					t.Fatalf("breaker rejected a call the model lets through: %v", err)
				case !ok && err == nil:
					t.Fatalf("breaker let through a call the model rejects (model %v)", md.State)
				case !ok:
					var oe *breaker.OpenError
					if !errors.Is(err, breaker.ErrOpen) || !errors.As(err, &oe) {
						t.Fatalf("rejection %v does not wrap ErrOpen in an *OpenError", err)
					}
					if md.State == model.Open && !oe.Until.Equal(md.Until) {
						t.Fatalf("rejection says open until %v, model %v", oe.Until, md.Until)
					}
				default:
					calls = append(calls, call{p, mp})
				}
			},
			"done": func(t *rapid.T) {
				if len(calls) == 0 {
					t.Skip("no call in flight")
				}
				i := rapid.IntRange(0, len(calls)-1).Draw(t, "call")
				o := rapid.SampledFrom([]breaker.Outcome{breaker.Success, breaker.Failure, breaker.Ignored}).Draw(t, "outcome")
				c := calls[i]
				calls = append(calls[:i], calls[i+1:]...)
				c.real.Done(int(o), nil)
				md.Done(c.ref, model.Outcome(o), clk.Now())
			},
			"advance": func(t *rapid.T) {
				steps := []time.Duration{md.Timeout, md.Timeout - time.Nanosecond, time.Second}
				clk.Add(rapid.SampledFrom(steps).Draw(t, "step"))
			},
			"trip": func(t *rapid.T) {
				b.Trip()
				md.Trip(clk.Now())
			},
			"reset": func(t *rapid.T) {
				b.Reset()
				md.Reset(clk.Now())
			},
			"state": func(t *rapid.T) {
				if got, want := b.State(), md.Observe(clk.Now()); got != breaker.State(want) {
					t.Fatalf("State() = %v, model %v", got, breaker.State(want))
				}
			},
			"": func(t *rapid.T) {
				if len(log) != len(md.Log) {
					t.Fatalf("transitions:\n breaker %v\n model   %v", log, md.Log)
				}
				for i := range log {
					if log[i] != md.Log[i] {
						t.Fatalf("transitions:\n breaker %v\n model   %v", log, md.Log)
					}
				}
			},
		})
	})
}
