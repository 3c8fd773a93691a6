package peers

import (
	"context"
	"sync/atomic"
	"testing"
)

// adapterCase is one library under test, listed by the generated file.
type adapterCase struct {
	lib         string
	rate        bool // has a rolling window: runs the Windowed scenarios
	serialOnly  bool
	consecutive bool // trips at the 5th failure in a row, not before
	forgets     bool // a success starts the failure count afresh
	new         func(Scenario) Adapter
}

// adapters is filled by the generated file.
var adapters []adapterCase

// counting returns a Target that counts its calls and fails when fail says.
func counting(fail bool) (*Target, *atomic.Int64) {
	var n atomic.Int64
	return NewTarget(func(context.Context) (int, error) {
		n.Add(1)
		if fail {
			return 0, ErrBoom
		}
		return 1, nil
	}), &n
}

// scenariosOf lists the scenarios c is benchmarked in.
func scenariosOf(c adapterCase) []Scenario {
	s := []Scenario{ClosedSuccess, ClosedFailure, Open}
	if c.rate {
		s = append(s, RateClosedSuccess, RateCountedClosedSuccess, WindowClosedSuccess)
	}
	return s
}

var scenarioNames = map[Scenario]string{
	ClosedSuccess:            "closed-success",
	ClosedFailure:            "closed-failure",
	Open:                     "open",
	RateClosedSuccess:        "rate-closed-success",
	RateCountedClosedSuccess: "rate-counted-closed-success",
	WindowClosedSuccess:      "window-closed-success",
}

// TestAdapters checks that every adapter, in every configuration a
// benchmark uses, passes calls while closed, survives the one-in-ten failure
// pattern without tripping, and once tripped rejects calls without running
// them: the benchmarks rely on all three.
func TestAdapters(t *testing.T) {
	if len(adapters) < 7 {
		t.Fatalf("only %d adapters registered; is zz_peers_test.go generated?", len(adapters))
	}
	ctx := context.Background()
	for _, c := range adapters {
		for _, sc := range scenariosOf(c) {
			t.Run(c.lib+"/"+scenarioNames[sc], func(t *testing.T) {
				a := c.new(sc)
				if !a.Closed() {
					t.Fatal("new breaker is not closed")
				}
				// A tight loop, as in a benchmark: hystrix-go once refused
				// calls here for lack of concurrency tickets, and tripped.
				const closedCalls = 2000
				ok, calls := counting(false)
				for i := range closedCalls {
					if _, err := a.Run(ctx, ok); err != nil {
						t.Fatalf("closed call %d: %v", i, err)
					}
				}
				if n := calls.Load(); n != closedCalls {
					t.Fatalf("closed breaker ran %d of %d calls", n, closedCalls)
				}

				// The failure pattern of the closed-failure benchmark.
				bad, _ := counting(true)
				for i := 1; i <= 100; i++ {
					if i%10 == 0 {
						a.Run(ctx, bad)
					} else {
						a.Run(ctx, ok)
					}
				}
				if sc == ClosedFailure {
					if !a.Closed() {
						t.Fatal("one failure in ten tripped the breaker")
					}
					// This configuration is never tripped by a benchmark,
					// and eapache's (an error threshold of MaxInt) cannot
					// be.
					return
				}

				if err := a.Trip(); err != nil {
					t.Fatal(err)
				}
				if a.Closed() {
					t.Fatal("Trip left the breaker closed")
				}
				before := calls.Load()
				for i := range 3 {
					if _, err := a.Run(ctx, ok); err == nil {
						t.Fatalf("open call %d returned no error", i)
					}
				}
				if n := calls.Load() - before; n != 0 {
					t.Fatalf("open breaker ran %d calls", n)
				}
			})
		}
	}
}

// TestAdaptersTripAtFive checks the threshold of the adapters configured
// for "5 consecutive failures": 4 failures leave them closed, the 5th opens
// them. Where a library forgets its count on success, 4 failures, a success
// and 4 more must leave it closed; where it does not (eapache), they trip it,
// as RESULTS.md says.
func TestAdaptersTripAtFive(t *testing.T) {
	ctx := context.Background()
	ok, _ := counting(false)
	bad, _ := counting(true)
	for _, c := range adapters {
		if !c.consecutive {
			continue
		}
		t.Run(c.lib, func(t *testing.T) {
			a := c.new(ClosedSuccess)
			for range Failures - 1 {
				a.Run(ctx, bad)
			}
			if !a.Closed() {
				t.Fatalf("tripped after %d failures", Failures-1)
			}
			a.Run(ctx, bad)
			if a.Closed() {
				t.Fatalf("still closed after %d failures in a row", Failures)
			}

			a = c.new(ClosedSuccess)
			for range Failures - 1 {
				a.Run(ctx, bad)
			}
			a.Run(ctx, ok)
			for range Failures - 1 {
				a.Run(ctx, bad)
			}
			if c.forgets != a.Closed() {
				t.Fatalf("after %d failures, a success and %d more: closed=%v, want %v",
					Failures-1, Failures-1, a.Closed(), c.forgets)
			}
		})
	}
}
