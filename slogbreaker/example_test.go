package slogbreaker_test

import (
	"context"
	"errors"
	"log/slog"
	"os"

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
	b.Reset()
	b.Disable()
	b.Reset()
	// Output:
	// level=WARN msg="circuit breaker state changed" breaker=inventory from=closed to=open cause=manual mode=forced-open
	// level=INFO msg="circuit breaker state changed" breaker=inventory from=open to=closed cause=manual mode=none
	// level=INFO msg="circuit breaker state changed" breaker=inventory from=closed to=closed cause=manual mode=disabled
	// level=INFO msg="circuit breaker state changed" breaker=inventory from=closed to=closed cause=manual mode=none
}
