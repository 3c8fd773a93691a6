package slogbreaker_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/slogbreaker"
)

// A breaker that logs its transitions. The handler drops the time so that
// the output is the same on every run.
func ExampleOnStateChange() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	b, _ := breaker.New(breaker.Config[string]{
		Name:          "inventory",
		Policy:        policy.Consecutive(2),
		OnStateChange: slogbreaker.OnStateChange(logger),
	})
	for range 2 {
		b.Execute(context.Background(), func(context.Context) (string, error) {
			return "", errors.New("connection refused")
		})
	}
	b.Reset()
	// Output:
	// level=WARN msg="circuit breaker state changed" breaker=inventory from=closed to=open
	// level=INFO msg="circuit breaker state changed" breaker=inventory from=open to=closed
}

// A breaker whose log lines say why each transition happened: an operator
// took the dependency out of service, then brought it back.
func ExampleOnTransition() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	b, _ := breaker.New(breaker.Config[string]{
		Name:         "inventory",
		Policy:       policy.Consecutive(2),
		OnTransition: slogbreaker.OnTransition(logger),
	})
	b.ForceOpen()
	_ = b.Act(breaker.Action{Kind: breaker.ActReset, Who: "alice", Why: "inventory back after the failover"})
	b.Disable()
	b.Reset()
	// Output:
	// level=WARN msg="circuit breaker state changed" breaker=inventory from=closed to=open cause=manual mode=forced-open why="manual force-open" action=force-open
	// level=INFO msg="circuit breaker state changed" breaker=inventory from=open to=closed cause=manual mode=none why="manual reset by alice: inventory back after the failover" action=reset who=alice
	// level=INFO msg="circuit breaker state changed" breaker=inventory from=closed to=closed cause=manual mode=disabled why="manual disable" action=disable
	// level=INFO msg="circuit breaker state changed" breaker=inventory from=closed to=closed cause=manual mode=none why="manual reset" action=reset
}

// Each built-in policy explains its trip in the log: which rule decided
// (in Any or All, which child), what it counted against what threshold
// over which window, and the failures that led to it.
func ExampleOnTransition_evidence() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC))
	timeout := errors.New("inventory: i/o timeout")
	for _, p := range []policy.Policy{
		policy.Consecutive(2),
		policy.Window(2, 10*time.Second),
		policy.Rate(0.25, 4, 10*time.Second),
		policy.LastN(0.5, 4, 100),
		policy.When(10*time.Second, func(c policy.Counts) bool { return c.Failures >= 2 }),
		policy.Any(policy.Consecutive(10), policy.Rate(0.5, 2, time.Minute)),
		policy.All(policy.Consecutive(2), policy.Window(2, time.Minute)),
	} {
		b, _ := breaker.New(breaker.Config[string]{
			Name: "inventory", Policy: p, Clock: clk,
			OnTransition: slogbreaker.OnTransition(logger),
		})
		for _, err := range []error{nil, nil, timeout, timeout} {
			_, _ = b.Execute(context.Background(), func(context.Context) (string, error) { return "", err })
		}
	}
	// Slow counts slow calls, failed or not: these take two seconds each.
	b, _ := breaker.New(breaker.Config[string]{
		Name: "inventory", Policy: policy.Slow(time.Second, 0.5, 2, time.Minute), Clock: clk,
		OnTransition: slogbreaker.OnTransition(logger),
	})
	for range 2 {
		_, _ = b.Execute(context.Background(), func(context.Context) (string, error) {
			clk.Add(2 * time.Second)
			return "", nil
		})
	}
	// Output:
	// level=WARN msg="circuit breaker state changed" breaker=inventory from=closed to=open cause=policy mode=none until=2026-12-01T09:31:00.000Z why="consecutive: 2 failures in a row (threshold 2); last failure: inventory: i/o timeout" rule=consecutive failures.0.at=2026-12-01T09:30:00.000Z failures.0.error="inventory: i/o timeout" failures.1.at=2026-12-01T09:30:00.000Z failures.1.error="inventory: i/o timeout"
	// level=WARN msg="circuit breaker state changed" breaker=inventory from=closed to=open cause=policy mode=none until=2026-12-01T09:31:00.000Z why="window: 2 failures of 4 calls (threshold 2) in the last 10s; last failure: inventory: i/o timeout" rule=window failures.0.at=2026-12-01T09:30:00.000Z failures.0.error="inventory: i/o timeout" failures.1.at=2026-12-01T09:30:00.000Z failures.1.error="inventory: i/o timeout"
	// level=WARN msg="circuit breaker state changed" breaker=inventory from=closed to=open cause=policy mode=none until=2026-12-01T09:31:00.000Z why="rate: 2 of 4 calls failed (50.0% ≥ 25%) in the last 10s; last failure: inventory: i/o timeout" rule=rate failures.0.at=2026-12-01T09:30:00.000Z failures.0.error="inventory: i/o timeout" failures.1.at=2026-12-01T09:30:00.000Z failures.1.error="inventory: i/o timeout"
	// level=WARN msg="circuit breaker state changed" breaker=inventory from=closed to=open cause=policy mode=none until=2026-12-01T09:31:00.000Z why="lastn: 2 of 4 calls failed (50.0% ≥ 50%) among the last 100; last failure: inventory: i/o timeout" rule=lastn failures.0.at=2026-12-01T09:30:00.000Z failures.0.error="inventory: i/o timeout" failures.1.at=2026-12-01T09:30:00.000Z failures.1.error="inventory: i/o timeout"
	// level=WARN msg="circuit breaker state changed" breaker=inventory from=closed to=open cause=policy mode=none until=2026-12-01T09:31:00.000Z why="when: 2 failures, 0 slow, of 4 calls in the last 10s; 2 failures in a row (predicate true); last failure: inventory: i/o timeout" rule=when failures.0.at=2026-12-01T09:30:00.000Z failures.0.error="inventory: i/o timeout" failures.1.at=2026-12-01T09:30:00.000Z failures.1.error="inventory: i/o timeout"
	// level=WARN msg="circuit breaker state changed" breaker=inventory from=closed to=open cause=policy mode=none until=2026-12-01T09:31:00.000Z why="any[1] rate: 2 of 4 calls failed (50.0% ≥ 50%) in the last 1m0s; last failure: inventory: i/o timeout" rule=rate path=any[1] failures.0.at=2026-12-01T09:30:00.000Z failures.0.error="inventory: i/o timeout" failures.1.at=2026-12-01T09:30:00.000Z failures.1.error="inventory: i/o timeout"
	// level=WARN msg="circuit breaker state changed" breaker=inventory from=closed to=open cause=policy mode=none until=2026-12-01T09:31:00.000Z why="all: all[0] consecutive: 2 failures in a row (threshold 2); all[1] window: 2 failures of 4 calls (threshold 2) in the last 1m0s; last failure: inventory: i/o timeout" rule=all failures.0.at=2026-12-01T09:30:00.000Z failures.0.error="inventory: i/o timeout" failures.1.at=2026-12-01T09:30:00.000Z failures.1.error="inventory: i/o timeout"
	// level=WARN msg="circuit breaker state changed" breaker=inventory from=closed to=open cause=policy mode=none until=2026-12-01T09:31:04.000Z why="slow: 2 of 2 calls slower than 1s (100.0% ≥ 50%) in the last 1m0s" rule=slow
}
