// Command console starts a demo service with flaky dependencies and the
// tripwire console on 127.0.0.1, so that a person sees the console work in
// seconds: circuits trip and recover as the dependencies come and go, and
// the page shows why, live.
//
// Usage:
//
//	go run ./bench/console [-addr 127.0.0.1:8080] [-readonly]
//
// Open the address it prints. Without -readonly the console takes actions
// (trip, force open, disable, reset) from anyone who can reach it, as
// "demo": fine on a laptop, never on a real admin port, where
// console.Options.Authorize must check who asks. docs/console.md is the
// guide.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/console"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/slogbreaker"
)

// dependency is a flaky dependency: healthy, then failing a share of its
// calls for a while, on a cycle, and a little slow.
type dependency struct {
	name   string
	period time.Duration // one cycle
	outage time.Duration // the failing part of each cycle
	share  float64       // of calls that fail during the outage
	base   float64       // of calls that fail outside it
	start  time.Time
}

func (d dependency) call(ctx context.Context) (int, error) {
	in := time.Since(d.start) % d.period
	p := d.base
	if in < d.outage {
		p = d.share
	}
	t := time.NewTimer(time.Duration(rand.IntN(3)+1) * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-t.C:
	}
	if rand.Float64() < p {
		return 0, errors.New(d.name + ": 503 Service Unavailable (upstream connect error or disconnect/reset before headers)")
	}
	return 1, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "where the console listens")
	readonly := flag.Bool("readonly", false, "serve the console read-only (no actions)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, *addr, *readonly, func(url string) {
		fmt.Printf("console: %s (Ctrl-C to stop)\n", url)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "console:", err)
		os.Exit(1)
	}
}

// run serves the demo on addr until ctx is done, and calls ready with the
// console's address once it listens.
func run(ctx context.Context, addr string, readonly bool, ready func(url string)) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	now := time.Now()
	deps := []dependency{
		{"payments", 40 * time.Second, 15 * time.Second, 0.6, 0.01, now},
		{"search", 70 * time.Second, 20 * time.Second, 1, 0.02, now.Add(-30 * time.Second)},
		{"inventory", 3 * time.Minute, 30 * time.Second, 0.4, 0.005, now.Add(-10 * time.Second)},
		{"users", time.Hour, 0, 0, 0.002, now},
	}
	policies := map[string]func() policy.Policy{
		"payments":  func() policy.Policy { return policy.Rate(0.25, 20, 10*time.Second) },
		"search":    func() policy.Policy { return policy.Consecutive(5) },
		"inventory": func() policy.Policy { return policy.Any(policy.Consecutive(10), policy.Rate(0.3, 30, 20*time.Second)) },
		"users":     func() policy.Policy { return policy.LastN(0.5, 20, 100) },
	}
	reg := new(breaker.Registry)
	breakers := make([]*breaker.Breaker[int], len(deps))
	for i, d := range deps {
		b, err := breaker.New(breaker.Config[int]{
			Name: d.name, Policy: policies[d.name](), OpenTimeout: 5 * time.Second, HalfOpenProbes: 2,
			CountCalls: true, OnTransition: slogbreaker.OnTransition(logger),
		})
		if err != nil {
			return err
		}
		breakers[i] = b
		if err := reg.Add(b); err != nil {
			return err
		}
	}
	// A group: one circuit per shard of a sharded cache, built on first use.
	shards, err := group.New(group.Config[string, int]{
		New: func(key string) breaker.Config[int] {
			return breaker.Config[int]{Name: "cache/" + key, OpenTimeout: 5 * time.Second, CountCalls: true}
		},
	})
	if err != nil {
		return err
	}
	reg.AddSet(shards)
	cache := dependency{"cache", 50 * time.Second, 10 * time.Second, 1, 0, now}

	// The load: a few callers per dependency, a call every few milliseconds,
	// until ctx is done; run waits for them before it returns.
	var load sync.WaitGroup
	defer load.Wait()
	for i, d := range deps {
		for range 3 {
			load.Add(1)
			go func() {
				defer load.Done()
				for ctx.Err() == nil {
					_, _ = breakers[i].Execute(ctx, d.call)
					pause(ctx, 20*time.Millisecond)
				}
			}()
		}
	}
	load.Add(1)
	go func() {
		defer load.Done()
		for ctx.Err() == nil {
			shard := strconv.Itoa(rand.IntN(6))
			_, _ = shards.Execute(ctx, shard, func(ctx context.Context) (int, error) {
				if shard == "3" {
					return cache.call(ctx)
				}
				return 1, nil
			})
			pause(ctx, 5*time.Millisecond)
		}
	}()

	opts := console.Options{Title: "demo service", Logger: logger, Interval: time.Second}
	if !readonly {
		opts.Authorize = func(*http.Request) (string, error) { return "demo", nil }
	}
	c, err := console.New(reg, opts)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/tripwire/", c)
	mux.Handle("/{$}", http.RedirectHandler("/debug/tripwire/", http.StatusFound))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	load.Add(1)
	go func() {
		defer load.Done()
		<-ctx.Done()
		c.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	ready("http://" + ln.Addr().String() + "/debug/tripwire/")
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
