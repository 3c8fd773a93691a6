package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

type user struct{ name string }

// Views of one circuit trip together, reject together (with the same
// error), probe from the same slots and close together.
func TestViewSharesTheCircuit(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		clk := epochs.Mock(start)
		var log []string
		users, err := breaker.New(breaker.Config[*user]{
			Name: "db", Policy: policy.Consecutive(2), OpenTimeout: time.Second, HalfOpenProbes: 1,
			Clock: clk, CountCalls: true,
			OnStateChange: func(name string, from, to breaker.State) { log = append(log, name+":"+from.String()+">"+to.String()) },
		})
		if err != nil {
			t.Fatal(err)
		}
		counts := breaker.View[int](users, nil)
		ctx := context.Background()
		users.Execute(ctx, func(context.Context) (*user, error) { return nil, errDependency })
		counts.Execute(ctx, func(context.Context) (int, error) { return 0, errDependency })
		if users.State() != breaker.Open || counts.State() != breaker.Open {
			t.Fatalf("one failure through each view of Consecutive(2): %v, %v; want both open", users.State(), counts.State())
		}
		_, err1 := users.Execute(ctx, func(context.Context) (*user, error) { return &user{"ann"}, nil })
		_, err2 := counts.Execute(ctx, succeed)
		if rejection(t, err1) != rejection(t, err2) {
			t.Fatal("views of one open period reject with different errors")
		}
		if counts.Name() != "db" || counts.Clock() != users.Clock() {
			t.Fatalf("the view's name %q or clock differ from its circuit's", counts.Name())
		}

		clk.Add(time.Second)
		p, err := counts.Allow()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := users.Allow(); err == nil {
			t.Fatal("two probes admitted with one slot, one through each view")
		}
		p.Done(1, nil)
		if users.State() != breaker.Closed {
			t.Fatalf("after the view's probe succeeded: %v", users.State())
		}
		want := []string{"db:closed>open", "db:open>half-open", "db:half-open>closed"}
		if fmt.Sprint(log) != fmt.Sprint(want) {
			t.Fatalf("OnStateChange saw %v, want %v once each", log, want)
		}
		m, mv := users.Metrics(), counts.Metrics()
		if m != mv || m.Failures != 2 || m.Successes != 1 || m.Rejected != 3 {
			t.Fatalf("metrics %+v and the view's %+v; want one set: 2 failures, 1 success, 3 rejected", m, mv)
		}

		counts.Trip()
		if users.State() != breaker.Open {
			t.Fatal("Trip on a view did not open the circuit")
		}
		users.Reset()
		if counts.State() != breaker.Closed {
			t.Fatal("Reset on the circuit did not close the view")
		}
	})
}

// Each view classifies its own results; the circuit's Classify sees only
// the circuit's. The cancellation rule holds on every view.
func TestViewClassifiesItsOwnType(t *testing.T) {
	errNotFound := errors.New("not found")
	ignoreNotFound := func(err error) breaker.Outcome {
		switch {
		case err == nil:
			return breaker.Success
		case errors.Is(err, errNotFound):
			return breaker.Ignored
		}
		return breaker.Failure
	}
	var asked []string
	users, _ := breaker.New(breaker.Config[*user]{
		Clock: epochs.Mock(epochs.Today), Policy: policy.Consecutive(2), CountCalls: true,
		Classify: func(u *user, err error) breaker.Outcome {
			asked = append(asked, "users")
			return ignoreNotFound(err)
		},
	})
	orders := breaker.View(users, func(n []string, err error) breaker.Outcome {
		asked = append(asked, "orders")
		if err == nil && n == nil {
			return breaker.Failure // nil where a list was due
		}
		return ignoreNotFound(err)
	})
	plain := breaker.View[int](users, nil)
	ctx := context.Background()

	users.Execute(ctx, func(context.Context) (*user, error) { return nil, errNotFound })
	orders.Execute(ctx, func(context.Context) ([]string, error) { return nil, errNotFound })
	p, _ := orders.Allow()
	p.Done(nil, nil) // a failure, by the view's rule
	plain.Execute(ctx, func(context.Context) (int, error) { return 1, nil })
	c, cancel := context.WithCancel(ctx)
	orders.Execute(c, func(context.Context) ([]string, error) { cancel(); return nil, context.Canceled })

	if fmt.Sprint(asked) != "[users orders orders]" {
		t.Fatalf("Classify calls %v, want [users orders orders]: each view its own, none for the caller's cancellation", asked)
	}
	if m := users.Metrics(); m.Ignored != 3 || m.Failures != 1 || m.Successes != 1 {
		t.Fatalf("counted %d ignored, %d failures, %d successes; want 3, 1, 1", m.Ignored, m.Failures, m.Successes)
	}
	if users.State() != breaker.Closed {
		t.Fatal("one failure opened Consecutive(2)")
	}
}

// Calls through many views at once, under -race: every call is counted
// once, on the one circuit.
func TestViewsConcurrent(t *testing.T) {
	users, _ := breaker.New(breaker.Config[*user]{Clock: epochs.Mock(epochs.Today), Policy: policy.Consecutive(1 << 20), CountCalls: true})
	ints := breaker.View[int](users, nil)
	strs := breaker.View[string](ints, nil)
	const each = 500
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(3)
		go func() {
			defer wg.Done()
			for range each {
				users.Execute(context.Background(), func(context.Context) (*user, error) { return nil, nil })
			}
		}()
		go func() {
			defer wg.Done()
			for range each {
				p, _ := ints.Allow()
				p.Done(0, errDependency)
			}
		}()
		go func() {
			defer wg.Done()
			for range each {
				strs.Execute(context.Background(), func(context.Context) (string, error) { return "", nil })
			}
		}()
	}
	wg.Wait()
	if m := ints.Metrics(); m.Successes != 4*each || m.Failures != 2*each {
		t.Fatalf("counted %d successes, %d failures; want %d, %d", m.Successes, m.Failures, 4*each, 2*each)
	}
}

func TestViewExecuteDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under -race")
	}
	users, _ := breaker.New(breaker.Config[*user]{})
	ints := breaker.View[int](users, nil)
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() { ints.Execute(ctx, succeed) }); n != 0 {
		t.Errorf("closed: %v allocations per Execute of a view", n)
	}
	users.Trip()
	if n := testing.AllocsPerRun(1000, func() { ints.Execute(ctx, succeed) }); n != 0 {
		t.Errorf("open: %v allocations per rejected Execute of a view", n)
	}
}

// One dependency, two result types, one circuit: failures of either kind of
// call open it for both.
func ExampleView() {
	type User struct{ Name string }
	type Order struct{ ID int }

	users, _ := breaker.New(breaker.Config[*User]{Name: "orders-db", Policy: policy.Consecutive(2)})
	orders := breaker.View[[]Order](users, nil)
	ctx := context.Background()

	users.Execute(ctx, func(context.Context) (*User, error) { return nil, errors.New("timeout") })
	orders.Execute(ctx, func(context.Context) ([]Order, error) { return nil, errors.New("timeout") })

	_, err := orders.Execute(ctx, func(context.Context) ([]Order, error) { return []Order{{1}}, nil })
	fmt.Println("orders rejected:", errors.Is(err, breaker.ErrOpen))
	fmt.Println("users:", users.State())
	// Output:
	// orders rejected: true
	// users: open
}

func TestViewOfNilPanicsAtOnce(t *testing.T) {
	defer func() {
		if v := recover(); v != "breaker: View of a nil *Breaker" {
			t.Fatalf("View(nil) panicked with %v", v)
		}
	}()
	breaker.View[int]((*breaker.Breaker[string])(nil), nil)
}
