package migrationtest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

var errDown = errors.New("down")

func fail(context.Context) (int, error)    { return 0, errDown }
func succeed(context.Context) (int, error) { return 1, nil }

// newAt builds a breaker on a mock clock at start.
func newAt(t *testing.T, start time.Time, cfg breaker.Config[int]) (*breaker.Breaker[int], *clock.Mock) {
	t.Helper()
	clk := epochs.Mock(start)
	cfg.Clock = clk
	b, err := breaker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b, clk
}

// run runs fn through b and reports whether fn ran.
func run(b *breaker.Breaker[int], fn func(context.Context) (int, error)) bool {
	ran := false
	b.Execute(context.Background(), func(ctx context.Context) (int, error) {
		ran = true
		return fn(ctx)
	})
	return ran
}

func wantState(t *testing.T, b *breaker.Breaker[int], want breaker.State) {
	t.Helper()
	if got := b.State(); got != want {
		t.Fatalf("State() = %v, want %v", got, want)
	}
}

// allow takes a permit, failing t if there is none.
func allow(t *testing.T, b *breaker.Breaker[int]) breaker.Permit[int] {
	t.Helper()
	p, err := b.Allow()
	if err != nil {
		t.Fatalf("Allow: %v", err)
	}
	return p
}

// rejection returns the OpenError of a rejected Allow, failing t if the
// call was let through.
func rejection(t *testing.T, b *breaker.Breaker[int]) *breaker.OpenError {
	t.Helper()
	_, err := b.Allow()
	var oe *breaker.OpenError
	if !errors.Is(err, breaker.ErrOpen) || !errors.As(err, &oe) {
		t.Fatalf("Allow = %v, want a rejection", err)
	}
	return oe
}

// tripAndWait trips b and lets its open period pass.
func tripAndWait(t *testing.T, b *breaker.Breaker[int], clk *clock.Mock, openFor time.Duration) {
	t.Helper()
	b.Trip()
	clk.Add(openFor)
	wantState(t, b, breaker.HalfOpen)
}

// counting counts the calls its breaker records.
type counting struct {
	policy.Policy
	records atomic.Int64
}

func (c *counting) Record(call policy.Call) bool {
	c.records.Add(1)
	return c.Policy.Record(call)
}

// Unwrap keeps the terms of the counted policy: policy.Bind binds it.
func (c *counting) Unwrap() policy.Policy { return c.Policy }
