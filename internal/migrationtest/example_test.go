package migrationtest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// The "after" code of the migration guides. Each runs a dependency that
// fails five times, then recovers, on a mock clock started at a real date.

// User and errNotFound stand for a dependency's result and an error that
// says nothing about its health.
type User struct{ ID string }

var errNotFound = errors.New("not found")

// dependency answers like a service that is down for its first five calls.
type dependency struct{ calls int }

func (d *dependency) GetUser(_ context.Context, id string) (*User, error) {
	d.calls++
	if d.calls <= 5 {
		return nil, errDown
	}
	return &User{ID: id}, nil
}

func newClock() *clock.Mock {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, time.December, 1, 9, 0, 0, 0, time.UTC)) // a mock starts in 1970
	return clk
}

// Example_gobreaker is the gobreaker guide's "after": the Settings of its
// "before", field by field.
func Example_gobreaker() {
	clk := newClock() // for the example; leave Clock nil in production
	client := &dependency{}
	users, err := breaker.New(breaker.Config[*User]{
		Name: "users",
		// ReadyToTrip: c.ConsecutiveFailures >= 5
		Policy: policy.Consecutive(5),
		// Timeout: 30 * time.Second
		OpenTimeout: 30 * time.Second,
		// MaxRequests: 3 (probes at once here, and successes that close)
		HalfOpenProbes: 3,
		// IsExcluded: errors.Is(err, errNotFound)
		Classify: func(_ *User, err error) breaker.Outcome {
			switch {
			case err == nil:
				return breaker.Success
			case errors.Is(err, errNotFound):
				return breaker.Ignored
			}
			return breaker.Failure
		},
		OnStateChange: func(name string, from, to breaker.State) {
			fmt.Printf("%s: %s -> %s\n", name, from, to)
		},
		Clock: clk,
	})
	if err != nil {
		panic(err)
	}
	getUser := func(ctx context.Context, id string) (*User, error) {
		u, err := users.Execute(ctx, func(ctx context.Context) (*User, error) {
			return client.GetUser(ctx, id)
		})
		if errors.Is(err, breaker.ErrOpen) { // ErrOpenState and ErrTooManyRequests
			return &User{ID: "cached " + id}, nil
		}
		return u, err
	}

	ctx := context.Background()
	for range 6 {
		u, err := getUser(ctx, "42")
		fmt.Println(u, err)
	}
	clk.Add(30 * time.Second)
	for range 3 {
		u, _ := getUser(ctx, "42")
		fmt.Println(u)
	}
	// Output:
	// <nil> down
	// <nil> down
	// <nil> down
	// <nil> down
	// users: closed -> open
	// <nil> down
	// &{cached 42} <nil>
	// users: open -> half-open
	// &{42}
	// &{42}
	// users: half-open -> closed
	// &{42}
}

// Example_failsafe is the failsafe-go guide's "after": the builder of its
// "before", method by method.
func Example_failsafe() {
	clk := newClock() // for the example; leave Clock nil in production
	client := &dependency{}
	cb, err := breaker.New(breaker.Config[*User]{
		Name: "users",
		// WithFailureThresholdRatio(5, 10): 5 of the last 10 calls
		Policy: policy.LastN(0.5, 5, 10),
		// WithDelay(30 * time.Second)
		OpenTimeout: 30 * time.Second,
		// WithSuccessThreshold(2): 2 probes at once, 2 successes close
		HalfOpenProbes: 2,
		// HandleIf: any error but errNotFound
		Classify: func(_ *User, err error) breaker.Outcome {
			if err != nil && !errors.Is(err, errNotFound) {
				return breaker.Failure
			}
			return breaker.Success
		},
		// OnStateChanged
		OnStateChange: func(_ string, from, to breaker.State) {
			fmt.Println(from, "->", to)
		},
		Clock: clk,
	})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	get := func() {
		// failsafe.With(cb).WithContext(ctx).Get(...)
		u, err := cb.Execute(ctx, func(ctx context.Context) (*User, error) {
			return client.GetUser(ctx, "42")
		})
		if errors.Is(err, breaker.ErrOpen) { // circuitbreaker.ErrOpen
			fmt.Println("rejected")
			return
		}
		fmt.Println(u, err)
	}
	for range 6 {
		get()
	}
	clk.Add(30 * time.Second)
	get()
	get()
	// Output:
	// <nil> down
	// <nil> down
	// <nil> down
	// <nil> down
	// closed -> open
	// <nil> down
	// rejected
	// open -> half-open
	// &{42} <nil>
	// half-open -> closed
	// &{42} <nil>
}

// Example_hystrix is the hystrix-go guide's "after": the CommandConfig of
// its "before", with the call's timeout and concurrency limit, which
// hystrix-go applies itself, written out.
func Example_hystrix() {
	clk := newClock() // for the example; leave Clock nil in production
	client := &dependency{}
	cb, err := breaker.New(breaker.Config[*User]{
		Name: "get_user",
		// ErrorPercentThreshold: 50, RequestVolumeThreshold: 5, over
		// hystrix-go's fixed 10s window
		Policy: policy.Rate(0.5, 5, 10*time.Second),
		// SleepWindow: 5000 (ms)
		OpenTimeout: 5 * time.Second,
		// one test request, as hystrix-go lets through
		HalfOpenProbes: 1,
		Clock:          clk,
	})
	if err != nil {
		panic(err)
	}
	// MaxConcurrentRequests: 10
	slots := make(chan struct{}, 10)
	errMaxConcurrency := errors.New("max concurrency")

	// hystrix.Do("get_user", run, fallback)
	do := func(ctx context.Context) string {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		default:
			return "fallback: " + errMaxConcurrency.Error()
		}
		// Timeout: 1000 (ms)
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		u, err := cb.Execute(ctx, func(ctx context.Context) (*User, error) {
			return client.GetUser(ctx, "42")
		})
		if err != nil {
			return "fallback: " + err.Error()
		}
		return u.ID
	}

	ctx := context.Background()
	for range 6 {
		fmt.Println(do(ctx))
	}
	clk.Add(5 * time.Second)
	fmt.Println(do(ctx))
	fmt.Println(cb.State())
	// Output:
	// fallback: down
	// fallback: down
	// fallback: down
	// fallback: down
	// fallback: down
	// fallback: breaker: circuit "get_user" open until 2026-12-01T09:00:05Z
	// 42
	// closed
}

// cachedUser stands for the README's fallback.
func cachedUser(id string) *User { return &User{ID: "cached " + id} }

// Client stands for the README's client of the users service.
type Client = dependency

// Users calls the users service through a breaker.
type Users struct {
	client  *Client
	breaker *breaker.Breaker[*User]
}

func NewUsers(client *Client) (*Users, error) {
	b, err := breaker.New(breaker.Config[*User]{Name: "users"})
	if err != nil {
		// A configuration mistake, named ("breaker: invalid config:
		// OpenTimeout …"): fail at start-up, not at the first call.
		return nil, err
	}
	return &Users{client: client, breaker: b}, nil
}

func (u *Users) Get(ctx context.Context, id string) (*User, error) {
	user, err := u.breaker.Execute(ctx, func(ctx context.Context) (*User, error) {
		return u.client.GetUser(ctx, id)
	})
	var open *breaker.OpenError
	if errors.As(err, &open) {
		// Rejected without calling the service. open.Until() says when
		// probes will be let through; serve a fallback meanwhile.
		return cachedUser(id), nil
	}
	return user, err
}

// Example_readme is the README's quick start, on a dependency that is down
// for its first five calls. TestReadmeQuickStartIsExample checks that the
// code above is the README's.
func Example_readme() {
	client := &Client{}
	users, err := NewUsers(client)
	if err != nil {
		panic(err)
	}
	for range 6 {
		fmt.Println(users.Get(context.Background(), "42"))
	}
	fmt.Println(users.breaker.State(), client.calls)
	// Output:
	// <nil> down
	// <nil> down
	// <nil> down
	// <nil> down
	// <nil> down
	// &{cached 42} <nil>
	// open 5
}
