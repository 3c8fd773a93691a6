package migrationtest

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// The claims of docs/migrating-from-hystrix-go.md about tripwire.

// policy.Rate(0.5, 20, 10*time.Second) is hystrix-go's default circuit: at
// least 20 calls in the trailing 10s, half of them failed.
func TestHystrixRateIsTheDefaultCircuit(t *testing.T) {
	epochs.Run(t, epochs.For(10*time.Second/16), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{Policy: policy.Rate(0.5, 20, 10*time.Second)})
		for range 19 {
			run(b, fail)
		}
		wantState(t, b, breaker.Closed) // too few calls to judge
		clk.Add(11 * time.Second)       // they leave the window
		for range 10 {
			run(b, succeed)
			run(b, fail)
		}
		wantState(t, b, breaker.Open)
	})
}

// Only calls that ran reach the policy: rejections are not counted as
// errors (hystrix-go counts short-circuits, and calls refused for
// concurrency, as errors of its window).
func TestHystrixRejectionsDoNotFeedThePolicy(t *testing.T) {
	pol := &counting{Policy: policy.Rate(0.5, 2, 10*time.Second)}
	b, _ := newAt(t, epochs.Today, breaker.Config[int]{Policy: pol})
	run(b, fail)
	run(b, fail)
	wantState(t, b, breaker.Open)
	for range 100 {
		if run(b, succeed) {
			t.Fatal("an open circuit ran a call")
		}
	}
	if n := pol.records.Load(); n != 2 {
		t.Fatalf("the policy recorded %d calls, want the 2 that ran", n)
	}
}

// A result that arrives after the circuit opened changes nothing: a call
// admitted while closed that succeeds late does not close an open circuit
// (in hystrix-go any success reported while open closes it).
func TestHystrixLateSuccessDoesNotClose(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, _ := newAt(t, start, breaker.Config[int]{})
		slow := allow(t, b)
		b.Trip()
		slow.Done(1, nil)
		wantState(t, b, breaker.Open)
	})
}

// After OpenTimeout, HalfOpenProbes probes run at once (hystrix-go: one
// request per SleepWindow); that many successes close the circuit, and a
// failed probe opens it again at once for a new OpenTimeout (hystrix-go
// waits for the next test request).
func TestHystrixProbes(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		b, clk := newAt(t, start, breaker.Config[int]{OpenTimeout: 5 * time.Second})
		tripAndWait(t, b, clk, 5*time.Second)
		p := allow(t, b)
		allow(t, b)
		allow(t, b)
		p.Done(0, errDown)
		wantState(t, b, breaker.Open)
		if d := rejection(t, b).RetryAfter(clk.Now()); d != 5*time.Second {
			t.Fatalf("reopened for %v, want 5s", d)
		}
	})
}

// The breaker has no call timeout: give fn a context with a deadline. A
// call that ends with context.DeadlineExceeded is a failure; one whose
// caller canceled it is ignored (hystrix-go counts both as requests that
// are not errors).
func TestHystrixDeadlineIsAFailure(t *testing.T) {
	b, err := breaker.New(breaker.Config[int]{Policy: policy.Consecutive(1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Execute(ctx, func(ctx context.Context) (int, error) { cancel(); return 0, ctx.Err() })
	wantState(t, b, breaker.Closed)

	ctx, cancel = context.WithTimeout(context.Background(), -time.Second) // already past
	defer cancel()
	// ctx is done, so Execute does not call fn: report the timeout as
	// fn would.
	if _, err := b.Execute(ctx, succeed); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Execute with an expired deadline = %v", err)
	}
	b.Execute(context.Background(), func(context.Context) (int, error) { return 0, context.DeadlineExceeded })
	wantState(t, b, breaker.Open)
}

// Execute runs fn on the caller's goroutine and starts none (hystrix-go
// starts two per call).
func TestHystrixNoGoroutines(t *testing.T) {
	b, err := breaker.New(breaker.Config[int]{})
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	during := 0
	b.Execute(context.Background(), func(context.Context) (int, error) {
		during = runtime.NumGoroutine()
		return 0, nil
	})
	if during != before {
		t.Fatalf("%d goroutines while fn ran, %d before", during, before)
	}
}

// The time windows follow the monotonic clock: a step of the wall clock
// neither drops the failures counted nor piles them up (hystrix-go keys
// its buckets by the wall clock's Unix seconds).
func TestHystrixWindowIgnoresWallSteps(t *testing.T) {
	for _, step := range []time.Duration{-time.Hour, time.Hour} {
		clk := epochs.NewClock(epochs.Today)
		b, err := breaker.New(breaker.Config[int]{Policy: policy.Rate(0.5, 4, 10*time.Second), Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		run(b, fail)
		run(b, fail)
		run(b, succeed)
		clk.StepWall(step)
		clk.Add(time.Second)
		run(b, fail) // 3 of 4 in the last 10s
		if b.State() != breaker.Open {
			t.Fatalf("wall step %v: the failures before it were lost", step)
		}
	}
}

// hystrix-go rounds the error share to a whole percentage before comparing
// it; policy.When does the same in one line, where Rate compares the exact
// ratio: 99 failures of 200 calls (49.5%) trip the one and not the other.
func TestHystrixRoundedPercentWithWhen(t *testing.T) {
	rounded := func(c policy.Counts) bool {
		return c.Calls >= 20 && int(float64(c.Failures)/float64(c.Calls)*100+0.5) >= 50
	}
	for _, tt := range []struct {
		name  string
		p     policy.Policy
		trips bool
	}{
		{"when", policy.When(10*time.Second, rounded), true},
		{"rate", policy.Rate(0.5, 20, 10*time.Second), false},
	} {
		b, _ := newAt(t, epochs.Today, breaker.Config[int]{Policy: tt.p})
		for range 101 {
			run(b, succeed)
		}
		for range 99 {
			run(b, fail)
		}
		if got := b.State() == breaker.Open; got != tt.trips {
			t.Fatalf("%s: open %v after 99 failures of 200 calls, want %v", tt.name, got, tt.trips)
		}
	}
}
