package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// Issue 12: a Classify of the user's keeps "the caller gave up: Ignored"
// without seeing the context, because the rule applies before Classify.
// Each case runs with Classify nil and with a Classify that counts every
// error as a failure (and records what it was asked).
func TestCallerCancellationBeforeClassify(t *testing.T) {
	errNotFound := errors.New("not found")
	tests := []struct {
		name   string
		cancel bool  // the caller's ctx is canceled while fn runs
		err    error // what fn returns
		// want is the outcome with Classify nil; asked, whether a
		// Classify is consulted (it then decides: Failure here).
		want  breaker.Outcome
		asked bool
	}{
		{"caller-canceled", true, context.Canceled, breaker.Ignored, false},
		{"caller-canceled/wrapped", true, fmt.Errorf("rpc: %w", context.Canceled), breaker.Ignored, false},
		{"caller-canceled/other-error", true, errNotFound, breaker.Failure, true},
		{"caller-canceled/success", true, nil, breaker.Success, true},
		{"dependency-canceled", false, context.Canceled, breaker.Failure, true},
		{"plain-failure", false, errNotFound, breaker.Failure, true},
	}
	count := func(m breaker.Metrics) breaker.Outcome {
		switch {
		case m.Successes == 1:
			return breaker.Success
		case m.Ignored == 1:
			return breaker.Ignored
		}
		return breaker.Failure
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func(b *breaker.Breaker[int]) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				b.Execute(ctx, func(context.Context) (int, error) {
					if tt.cancel {
						cancel()
					}
					return 0, tt.err
				})
			}
			// Classify nil.
			b, _ := newAt(t, epochs.Today, breaker.Config[int]{CountCalls: true})
			run(b)
			if got := count(b.Metrics()); got != tt.want {
				t.Errorf("Classify nil: counted %v, want %v", got, tt.want)
			}
			// A Classify that calls everything a failure.
			asked := false
			b, _ = newAt(t, epochs.Today, breaker.Config[int]{CountCalls: true, Classify: func(int, error) breaker.Outcome {
				asked = true
				return breaker.Failure
			}})
			run(b)
			want := breaker.Failure
			if !tt.asked {
				want = tt.want
			}
			if got := count(b.Metrics()); got != want || asked != tt.asked {
				t.Errorf("with Classify: counted %v (Classify asked: %v), want %v (asked: %v)", got, asked, want, tt.asked)
			}
		})
	}
}

// A caller-canceled probe frees its slot and counts for nothing, with a
// Classify set: the circuit stays half-open and admits the next probe.
func TestCanceledProbeIgnoredWithClassify(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{
			Policy: policy.Consecutive(1), OpenTimeout: time.Second, HalfOpenProbes: 1,
			Classify: func(_ int, err error) breaker.Outcome {
				if err != nil {
					return breaker.Failure
				}
				return breaker.Success
			},
		})
		b.Execute(context.Background(), fail)
		clk.Add(time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		b.Execute(ctx, func(context.Context) (int, error) { cancel(); return 0, context.Canceled })
		if s := b.State(); s != breaker.HalfOpen {
			t.Fatalf("after a caller-canceled probe: %v, want half-open", s)
		}
		if _, err := b.Execute(context.Background(), succeed); err != nil {
			t.Fatalf("the canceled probe kept its slot: %v", err)
		}
		if s := b.State(); s != breaker.Closed {
			t.Fatalf("after a successful probe: %v", s)
		}
	})
}

// Done knows no context: a canceled error reaches Classify (with Classify
// nil, a Failure). A caller that gave up releases the permit instead.
func TestDoneHasNoCancellationRule(t *testing.T) {
	b, _ := newAt(t, epochs.Today, breaker.Config[int]{Policy: policy.Consecutive(3), CountCalls: true})
	p, _ := b.Allow()
	p.Done(0, context.Canceled)
	p, _ = b.Allow()
	p.Release()
	if m := b.Metrics(); m.Failures != 1 || m.Ignored != 1 {
		t.Fatalf("Done(canceled) then Release: %d failures, %d ignored; want 1, 1", m.Failures, m.Ignored)
	}
}
