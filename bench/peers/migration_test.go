package peers

// The peers' side of the claims in docs/migrating-from-*.md: each test
// shows one behaviour of gobreaker, failsafe-go or hystrix-go that a guide
// describes, against the version this module requires, so that a guide
// cannot drift from the library it describes. tripwire's side of each claim
// is tested in internal/migrationtest. None of these tests waits: a
// library that reads time.Now gets an open period of a nanosecond or none.

import (
	"context"
	"errors"
	"log"
	"testing"
	"time"

	"github.com/afex/hystrix-go/hystrix"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/sony/gobreaker/v2"
)

var errPeerDown = errors.New("down")

func failing() (int, error) { return 0, errPeerDown }
func working() (int, error) { return 1, nil }

// untilHalfOpen spins, without sleeping, until an open period of a
// nanosecond has passed on the real clock.
func untilHalfOpen(t *testing.T, halfOpen func() bool) {
	t.Helper()
	for range 1_000_000 {
		if halfOpen() {
			return
		}
	}
	t.Fatal("the circuit did not go half-open after an open period of 1ns")
}

// gobreaker's zero Settings trip on the sixth failure in a row: its default
// ReadyToTrip is ConsecutiveFailures > 5.
func TestGobreakerZeroSettingsTripOnSixthFailure(t *testing.T) {
	cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{})
	for i := 1; i <= 5; i++ {
		cb.Execute(failing)
		if cb.State() != gobreaker.StateClosed {
			t.Fatalf("open after %d failures", i)
		}
	}
	cb.Execute(failing)
	if cb.State() != gobreaker.StateOpen {
		t.Fatalf("state %v after 6 failures, want open", cb.State())
	}
}

// gobreaker's MaxRequests counts the probes admitted in a half-open period,
// not those in flight: a finished probe does not make room for another.
// Zero means one.
func TestGobreakerMaxRequestsCountsAdmittedProbes(t *testing.T) {
	for _, tt := range []struct {
		maxRequests uint32
		admitted    int
	}{{0, 1}, {3, 3}} {
		cb := gobreaker.NewTwoStepCircuitBreaker[int](gobreaker.Settings{
			MaxRequests: tt.maxRequests,
			Timeout:     time.Nanosecond,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 },
		})
		done, _ := cb.Allow()
		done(errPeerDown)
		untilHalfOpen(t, func() bool { return cb.State() == gobreaker.StateHalfOpen })

		var dones []func(error)
		for range tt.admitted {
			done, err := cb.Allow()
			if err != nil {
				t.Fatalf("MaxRequests %d: probe rejected: %v", tt.maxRequests, err)
			}
			dones = append(dones, done)
		}
		if _, err := cb.Allow(); err != gobreaker.ErrTooManyRequests {
			t.Fatalf("MaxRequests %d: err %v with every probe admitted, want ErrTooManyRequests", tt.maxRequests, err)
		}
		if tt.admitted > 1 {
			dones[0](nil) // one probe succeeds: nothing more is let in
			if _, err := cb.Allow(); err != gobreaker.ErrTooManyRequests {
				t.Fatalf("MaxRequests %d: err %v after a probe finished, want ErrTooManyRequests", tt.maxRequests, err)
			}
			dones = dones[1:]
		}
		for _, done := range dones {
			done(nil)
		}
		if cb.State() != gobreaker.StateClosed {
			t.Fatalf("MaxRequests %d: state %v after every probe succeeded", tt.maxRequests, cb.State())
		}
	}
}

// gobreaker's Interval (without BucketPeriod) is a fixed window: at its end
// the counts are cleared, whatever happened just before.
func TestGobreakerIntervalClearsCounts(t *testing.T) {
	cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{
		Interval:    time.Nanosecond, // every call starts a new window
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.TotalFailures >= 2 },
	})
	for range 10 {
		cb.Execute(failing)
	}
	if cb.State() != gobreaker.StateClosed {
		t.Fatal("tripped: the counts were not cleared between the failures")
	}
}

// gobreaker's Execute takes no context: a call that ends with
// context.Canceled because its caller gave up is a failure like any other,
// unless IsExcluded says otherwise.
func TestGobreakerCountsCancellationAsFailure(t *testing.T) {
	cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{})
	for range 6 {
		cb.Execute(func() (int, error) { return 0, context.Canceled })
	}
	if cb.State() != gobreaker.StateOpen {
		t.Fatalf("state %v after 6 canceled calls, want open", cb.State())
	}
}

// gobreaker rejects with two errors: ErrOpenState while open,
// ErrTooManyRequests while half-open with its probes taken.
func TestGobreakerRejectionErrors(t *testing.T) {
	cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 },
	})
	cb.Execute(failing)
	if _, err := cb.Execute(working); err != gobreaker.ErrOpenState {
		t.Fatalf("open: err %v, want ErrOpenState", err)
	}
}

// failsafe-go's defaults open the circuit on the first failure, let one
// probe through, and close it on one success; the delay is a minute.
func TestFailsafeDefaults(t *testing.T) {
	cb := circuitbreaker.NewWithDefaults[int]()
	failsafe.With[int](cb).Get(failing)
	if !cb.IsOpen() {
		t.Fatalf("state %v after one failure, want open", cb.State())
	}
	if d := cb.RemainingDelay(); d <= 59*time.Second || d > time.Minute {
		t.Fatalf("remaining delay %v, want about a minute", d)
	}

	cb = circuitbreaker.NewBuilder[int]().WithDelay(0).Build()
	failsafe.With[int](cb).Get(failing)
	if !cb.TryAcquirePermit() {
		t.Fatal("no probe let through after a delay of 0")
	}
	if cb.TryAcquirePermit() {
		t.Fatal("a second probe let through")
	}
	cb.RecordSuccess()
	if !cb.IsClosed() {
		t.Fatalf("state %v after one successful probe, want closed", cb.State())
	}
}

// Without WithSuccessThreshold, failsafe-go judges the half-open state by
// the failure threshold: with WithFailureThreshold(5) it lets 5 probes
// through, closes on the first success, and reopens only after 5 failures.
func TestFailsafeHalfOpenUsesFailureThreshold(t *testing.T) {
	open := func() circuitbreaker.CircuitBreaker[int] {
		cb := circuitbreaker.NewBuilder[int]().WithFailureThreshold(5).WithDelay(0).Build()
		for range 5 {
			failsafe.With[int](cb).Get(failing)
		}
		if !cb.IsOpen() {
			t.Fatalf("state %v after 5 failures, want open", cb.State())
		}
		return cb
	}

	cb := open()
	for i := range 5 {
		if !cb.TryAcquirePermit() {
			t.Fatalf("probe %d rejected", i+1)
		}
	}
	if cb.TryAcquirePermit() {
		t.Fatal("a sixth probe let through")
	}
	for i := range 4 {
		cb.RecordFailure()
		if !cb.IsHalfOpen() {
			t.Fatalf("state %v after %d failed probes, want half-open", cb.State(), i+1)
		}
	}
	cb.RecordSuccess()
	if !cb.IsClosed() {
		t.Fatalf("state %v after 4 failed probes and a success, want closed", cb.State())
	}

	cb = open()
	for range 5 {
		cb.TryAcquirePermit()
	}
	for range 5 {
		cb.RecordFailure()
	}
	if !cb.IsOpen() {
		t.Fatalf("state %v after 5 failed probes, want open", cb.State())
	}
}

// failsafe-go's WithSuccessThresholdRatio(3, 5) lets 5 probes run at once
// (a finished probe makes room for another) and closes after 3 successes
// among them, whatever failures came between.
func TestFailsafeSuccessRatioToleratesFailedProbes(t *testing.T) {
	cb := circuitbreaker.NewBuilder[int]().WithSuccessThresholdRatio(3, 5).WithDelay(0).Build()
	failsafe.With[int](cb).Get(failing)
	for range 5 {
		cb.TryAcquirePermit()
	}
	if cb.TryAcquirePermit() {
		t.Fatal("a sixth probe let through with five in flight")
	}
	cb.RecordFailure()
	if !cb.TryAcquirePermit() { // probes are counted in flight: one finished
		t.Fatal("no probe let through after one of five finished")
	}
	cb.RecordFailure()
	cb.RecordSuccess()
	cb.RecordSuccess()
	if !cb.IsHalfOpen() {
		t.Fatalf("state %v after 2 failed and 2 good probes, want half-open", cb.State())
	}
	cb.RecordSuccess()
	if !cb.IsClosed() {
		t.Fatalf("state %v after 3 good probes of 5, want closed", cb.State())
	}
}

// failsafe-go's WithFailureThresholdRatio(5, 10) trips at the fifth
// failure even before ten executions were recorded.
func TestFailsafeRatioTripsBeforeCapacity(t *testing.T) {
	cb := circuitbreaker.NewBuilder[int]().WithFailureThresholdRatio(5, 10).Build()
	for i := 1; i <= 4; i++ {
		failsafe.With[int](cb).Get(failing)
		if !cb.IsClosed() {
			t.Fatalf("open after %d failures", i)
		}
	}
	failsafe.With[int](cb).Get(failing)
	if !cb.IsOpen() {
		t.Fatalf("state %v after 5 failures in 5 executions, want open", cb.State())
	}
}

// failsafe-go records nothing for an execution that panics: the panic
// goes on up, and the circuit does not count it as a failure.
func TestFailsafePanicIsNotAFailure(t *testing.T) {
	cb := circuitbreaker.NewWithDefaults[int]() // one failure opens it
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not go on up")
			}
		}()
		failsafe.With[int](cb).Get(func() (int, error) { panic("boom") })
	}()
	if !cb.IsClosed() {
		t.Fatalf("state %v after a panicking execution, want closed", cb.State())
	}
}

// failsafe-go counts an execution that ends with context.Canceled because
// its caller gave up as a failure (the defaults open on it), and runs the
// function even when the context was done before the call.
func TestFailsafeCountsCancellationAsFailure(t *testing.T) {
	cb := circuitbreaker.NewWithDefaults[int]()
	ctx, cancel := context.WithCancel(context.Background())
	_, err := failsafe.With[int](cb).WithContext(ctx).Get(func() (int, error) {
		cancel()
		return 0, ctx.Err()
	})
	if !errors.Is(err, context.Canceled) || !cb.IsOpen() {
		t.Fatalf("err %v, state %v after the caller canceled; want context.Canceled and open", err, cb.State())
	}

	ran := false
	done, cancel := context.WithCancel(context.Background())
	cancel()
	failsafe.With[int](circuitbreaker.NewWithDefaults[int]()).WithContext(done).Get(func() (int, error) {
		ran = true
		return 0, nil
	})
	if !ran {
		t.Fatal("the function did not run with a done context")
	}
}

// failsafe-go's WithJitterFactor lengthens the open period as often as it
// shortens it: WithJitterFactor(0.5) draws a delay between half and one
// and a half times WithDelay's.
func TestFailsafeJitterLengthens(t *testing.T) {
	cb := circuitbreaker.NewBuilder[int]().WithDelay(time.Minute).WithJitterFactor(0.5).Build()
	longest := time.Duration(0)
	for range 200 { // each draw is longer than the delay with odds of one half
		cb.Open()
		longest = max(longest, cb.RemainingDelay())
		cb.Close()
	}
	if longest <= time.Minute || longest > 90*time.Second {
		t.Fatalf("longest open period %v of 200, want more than the 1m delay and at most 1m30s", longest)
	}
}

// hystrix-go's defaults: a 1 s timeout per call, at most 10 at once, and a
// circuit that opens when, among at least 20 requests of the last 10 s, 50%
// or more failed; it then waits 5 s before one request may test it.
func TestHystrixDefaults(t *testing.T) {
	hystrix.ConfigureCommand("migration-defaults", hystrix.CommandConfig{})
	s := hystrix.GetCircuitSettings()["migration-defaults"]
	want := hystrix.Settings{
		Timeout:                time.Second,
		MaxConcurrentRequests:  10,
		RequestVolumeThreshold: 20,
		SleepWindow:            5 * time.Second,
		ErrorPercentThreshold:  50,
	}
	if *s != want {
		t.Fatalf("settings %+v, want %+v", *s, want)
	}
}

// The guides' "before" code, compiled (not run: it would wait on the
// peers' real clocks). User, errNotFound and userClient stand for the
// guides' own.

type User struct{ ID string }

var errNotFound = errors.New("not found")

type userClient struct{}

func (userClient) GetUser(context.Context, string) (*User, error) { return &User{ID: "42"}, nil }

var client userClient

func cachedUser(id string) *User { return &User{ID: id} }

func Example_gobreakerBefore() {
	var cb = gobreaker.NewCircuitBreaker[*User](gobreaker.Settings{
		Name:        "users",
		MaxRequests: 3,
		Timeout:     30 * time.Second,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 },
		IsExcluded:  func(err error) bool { return errors.Is(err, errNotFound) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			log.Printf("%s: %s -> %s", name, from, to)
		},
	})

	GetUser := func(ctx context.Context, id string) (*User, error) {
		u, err := cb.Execute(func() (*User, error) { return client.GetUser(ctx, id) })
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			return cachedUser(id), nil
		}
		return u, err
	}
	GetUser(context.Background(), "42")
}

func Example_failsafeBefore() {
	ctx := context.Background()
	cb := circuitbreaker.NewBuilder[*User]().
		WithFailureThresholdRatio(5, 10).
		WithDelay(30 * time.Second).
		WithSuccessThreshold(2).
		HandleIf(func(_ *User, err error) bool { return err != nil && !errors.Is(err, errNotFound) }).
		OnStateChanged(func(e circuitbreaker.StateChangedEvent) {
			log.Println(e.OldState, "->", e.NewState)
		}).
		Build()

	u, err := failsafe.With[*User](cb).WithContext(ctx).Get(func() (*User, error) {
		return client.GetUser(ctx, "42")
	})
	if errors.Is(err, circuitbreaker.ErrOpen) {
		// rejected
	}
	_ = u
}

func Example_hystrixBefore() {
	ctx := context.Background()
	hystrix.ConfigureCommand("get_user", hystrix.CommandConfig{
		Timeout:                1000, // ms
		MaxConcurrentRequests:  10,
		RequestVolumeThreshold: 5,
		SleepWindow:            5000, // ms
		ErrorPercentThreshold:  50,
	})

	var u *User
	err := hystrix.DoC(ctx, "get_user", func(ctx context.Context) error {
		var err error
		u, err = client.GetUser(ctx, "42")
		return err
	}, func(ctx context.Context, err error) error {
		log.Println("fallback:", err) // a failure, a timeout, a rejection, an open circuit
		return nil
	})
	_, _ = u, err
}

// gobreaker asks ReadyToTrip after a failure only: a predicate over the
// share of failures that a success makes true waits for the next failure.
func TestGobreakerReadyToTripAfterFailuresOnly(t *testing.T) {
	cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.Requests >= 3 && c.TotalFailures*2 >= c.Requests },
	})
	cb.Execute(failing)
	cb.Execute(failing)
	cb.Execute(working) // 2 failures of 3 requests: not asked
	if cb.State() != gobreaker.StateClosed {
		t.Fatalf("state %v after a success, want closed", cb.State())
	}
	cb.Execute(failing)
	if cb.State() != gobreaker.StateOpen {
		t.Fatalf("state %v after the next failure, want open", cb.State())
	}
}

// A failsafe-go half-open permit that is never recorded is never given
// back: with every permit taken, the circuit rejects all calls until a
// result is recorded, however long that takes.
func TestFailsafeUnrecordedPermitHoldsItsSlot(t *testing.T) {
	cb := circuitbreaker.NewBuilder[int]().WithDelay(0).Build()
	failsafe.With[int](cb).Get(failing)
	if !cb.TryAcquirePermit() {
		t.Fatal("no probe let through")
	}
	for range 1000 {
		if cb.TryAcquirePermit() {
			t.Fatal("a second probe let through while the first was not recorded")
		}
	}
	if !cb.IsHalfOpen() {
		t.Fatalf("state %v, want half-open", cb.State())
	}
}
