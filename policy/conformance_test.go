package policy_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/window"
)

// Every built-in policy states its terms in a Bind method, and describes
// itself.
type builtInPolicy interface {
	policy.Policy
	policy.Binder
	fmt.Stringer
}

var _ = []builtInPolicy{
	(*policy.ConsecutivePolicy)(nil), (*policy.WindowPolicy)(nil), (*policy.RatePolicy)(nil),
	(*policy.LastNPolicy)(nil), (*policy.SlowPolicy)(nil), (*policy.AnyPolicy)(nil), (*policy.AllPolicy)(nil),
	(*policy.WhenPolicy)(nil),
}

// check returns the error Bind would return for p's arguments, without
// claiming it.
func check(p policy.Policy) error {
	_, err := policy.Check(p)
	return err
}

// bind binds p, as breaker.New does, and returns Bind's error.
func bind(p policy.Policy) error {
	_, err := policy.Bind(p)
	return err
}

// needs returns what p's terms say it needs.
func needs(p policy.Policy) policy.Needs {
	t, _ := policy.Check(p)
	return t.Needs
}

// probeFailed judges a probe as the breaker would under p's terms.
func probeFailed(p policy.Policy, c policy.Call) bool {
	t, _ := policy.Check(p)
	return t.ProbeFailed(c)
}

// t0 is the time a test starts from. forEach sets it, and bad, to each
// epoch of internal/epochs in turn, for every policy (the tests of this
// package do not run in parallel); tests outside forEach start from
// epochs.Today.
var t0 = epochs.Today

// bad is a call that pushes every built-in policy towards tripping: it
// failed, and it was slow.
var bad = policy.Call{Failed: true, At: t0}.WithDuration(2 * time.Second)

// builtIn is one policy under the conformance suite: how to make a fresh
// one, and how many bad calls in a row, all at t0, trip it.
type builtIn struct {
	name  string
	make  func() policy.Policy
	trips int
}

// builtIns is every built-in policy, and the combinators nested both ways.
var builtIns = []builtIn{
	{"consecutive", func() policy.Policy { return policy.Consecutive(3) }, 3},
	{"window", func() policy.Policy { return policy.Window(4, time.Minute) }, 4},
	{"rate", func() policy.Policy { return policy.Rate(0.5, 5, time.Minute) }, 5},
	{"lastn", func() policy.Policy { return policy.LastN(0.5, 6, 20) }, 6},
	{"slow", func() policy.Policy { return policy.Slow(time.Second, 0.5, 5, time.Minute) }, 5},
	{"when", func() policy.Policy {
		return policy.When(time.Minute, func(c policy.Counts) bool { return c.Failures >= 4 && c.ConsecutiveFailures >= 2 })
	}, 4},
	{"when-slow", func() policy.Policy {
		return policy.When(time.Minute, func(c policy.Counts) bool { return c.Slow >= 3 }, policy.SlowerThan(time.Second))
	}, 3},
	{"any", func() policy.Policy {
		return policy.Any(policy.Window(10, time.Minute), policy.Consecutive(3))
	}, 3},
	{"all", func() policy.Policy {
		return policy.All(policy.Consecutive(2), policy.Rate(0.5, 5, time.Minute))
	}, 5},
	{"nested", func() policy.Policy {
		return policy.Any(
			policy.All(policy.Slow(time.Second, 1, 4, time.Second), policy.Window(7, time.Second)),
			policy.LastN(1, 9, 10),
		)
	}, 7},
}

// forEach runs test for every built-in policy, from every epoch of the
// buckets of a one-minute window (epochs.For): today, past 2038, the ends
// of int64 nanoseconds, with monotonic readings, and just before each
// power of two of the bucket index.
func forEach(t *testing.T, test func(t *testing.T, b builtIn)) {
	defer func(start time.Time) { setStart(start) }(t0)
	for _, b := range builtIns {
		t.Run("policy="+b.name, func(t *testing.T) {
			epochs.Run(t, epochs.For(time.Minute/window.Buckets), func(t *testing.T, start time.Time) {
				setStart(start)
				test(t, b)
			})
		})
	}
}

// forEachFew is forEach from the dates of epochs.All only, for the tests
// that run many calls on many goroutines.
func forEachFew(t *testing.T, test func(t *testing.T, b builtIn)) {
	defer func(start time.Time) { setStart(start) }(t0)
	for _, b := range builtIns {
		t.Run("policy="+b.name, func(t *testing.T) {
			epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
				setStart(start)
				test(t, b)
			})
		})
	}
}

// setStart makes start the time of t0 and of bad.
func setStart(start time.Time) {
	t0 = start
	bad.At = start
}

// recordBad records n bad calls and fails the test if any trips the policy.
func recordBad(t *testing.T, p policy.Policy, n int) {
	t.Helper()
	for i := range n {
		if p.Record(bad) {
			t.Fatalf("tripped on bad call %d of %d", i+1, n)
		}
	}
}

func TestConformanceTripsOnTheLastBadCall(t *testing.T) {
	forEach(t, func(t *testing.T, b builtIn) {
		p := b.make()
		recordBad(t, p, b.trips-1)
		if !p.Record(bad) {
			t.Fatalf("bad call %d did not trip", b.trips)
		}
	})
}

func TestConformanceResetForgetsEverything(t *testing.T) {
	forEach(t, func(t *testing.T, b builtIn) {
		p := b.make()
		recordBad(t, p, b.trips-1)
		p.Reset()
		recordBad(t, p, b.trips-1) // would trip if anything was remembered
		if !p.Record(bad) {
			t.Fatalf("bad call %d after Reset did not trip", b.trips)
		}
	})
}

// TestConformanceConcurrentRecord records from 8 goroutines at once, with
// clocks that move, some failures and some resets: run it with -race. A
// Reset racing Records may keep or forget them, but must not leave
// anything behind that a later Reset does not clear.
func TestConformanceConcurrentRecord(t *testing.T) {
	forEachFew(t, func(t *testing.T, b builtIn) {
		p := b.make()
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 1000 {
					if (i+g)%250 == 0 {
						p.Reset()
						continue
					}
					p.Record(policy.Call{
						Failed: (i+g)%3 == 0,
						At:     t0.Add(time.Duration(i) * 10 * time.Millisecond),
					}.WithDuration(time.Duration(i%7) * 500 * time.Millisecond))
				}
			}()
		}
		wg.Wait()
		p.Reset()
		recordBad(t, p, b.trips-1) // would trip if the Reset had left anything
		if !p.Record(bad) {
			t.Fatalf("bad call %d after concurrent use and Reset did not trip", b.trips)
		}
	})
}

func TestConformanceFastSuccessesNeverTrip(t *testing.T) {
	forEachFew(t, func(t *testing.T, b builtIn) {
		p := b.make()
		for i := range 10000 {
			c := policy.Call{At: t0.Add(time.Duration(i) * 7 * time.Millisecond)}.WithDuration(time.Millisecond)
			if p.Record(c) {
				t.Fatalf("tripped on success %d", i+1)
			}
		}
	})
}

// TestConformanceRecordDoesNotAllocate: a policy runs on every call of a
// closed circuit, so neither outcome may cost an allocation.
func TestConformanceRecordDoesNotAllocate(t *testing.T) {
	forEach(t, func(t *testing.T, b builtIn) {
		p := b.make()
		c := policy.Call{At: t0}.WithDuration(time.Millisecond)
		allocs := testing.AllocsPerRun(1000, func() {
			c.At = c.At.Add(time.Millisecond)
			c.Failed = !c.Failed
			p.Record(c)
		})
		if allocs != 0 {
			t.Fatalf("Record allocates %v times per call", allocs)
		}
	})
}

func TestConformanceValidArgsValidate(t *testing.T) {
	forEach(t, func(t *testing.T, b builtIn) {
		if err := check(b.make()); err != nil {
			t.Fatalf("Validate = %v", err)
		}
	})
}

func TestConformanceClaimTwiceFails(t *testing.T) {
	forEach(t, func(t *testing.T, b builtIn) {
		p := b.make()
		if err := bind(p); err != nil {
			t.Fatalf("first Claim = %v", err)
		}
		if err := bind(p); !errors.Is(err, policy.ErrShared) {
			t.Fatalf("second Claim = %v, want ErrShared", err)
		}
	})
}

func TestConformanceString(t *testing.T) {
	forEach(t, func(t *testing.T, b builtIn) {
		s, ok := b.make().(interface{ String() string })
		if !ok || !strings.HasSuffix(s.String(), ")") {
			t.Fatalf("String() of %s policy: %v", b.name, s)
		}
	})
}

// TestConformanceInvalidArgs builds every policy with each kind of bad
// argument: Validate must name the constructor and the argument, and no
// method may panic.
func TestConformanceInvalidArgs(t *testing.T) {
	m, nan, inf := time.Minute, math.NaN(), math.Inf(1)
	cases := []struct {
		p    policy.Policy
		want string // the error's start: "Constructor.argument", then maybe ": problem"
	}{
		{policy.Consecutive(0), "Consecutive.failures"},
		{policy.Consecutive(-3), "Consecutive.failures"},
		{policy.Window(0, m), "Window.failures"},
		{policy.Window(-1, m), "Window.failures"},
		{policy.Window(1, 0), "Window.over"},
		{policy.Window(1, -m), "Window.over"},
		{policy.Rate(0, 1, m), "Rate.ratio"},
		{policy.Rate(-0.5, 1, m), "Rate.ratio"},
		{policy.Rate(1.01, 1, m), "Rate.ratio"},
		{policy.Rate(nan, 1, m), "Rate.ratio"},
		{policy.Rate(inf, 1, m), "Rate.ratio"},
		{policy.Rate(0.5, 0, m), "Rate.minCalls"},
		{policy.Rate(0.5, -1, m), "Rate.minCalls"},
		{policy.Rate(0.5, 1, 0), "Rate.over"},
		{policy.LastN(0, 1, 10), "LastN.ratio"},
		{policy.LastN(nan, 1, 10), "LastN.ratio"},
		{policy.LastN(0.5, 0, 10), "LastN.minCalls"},
		{policy.LastN(0.5, 11, 10), "LastN.minCalls"},
		{policy.LastN(0.5, 1, 0), "LastN.n"},
		{policy.LastN(0.5, 1, -4), "LastN.n"},
		// Regression: a huge n used to size the ring before validation,
		// panicking or exhausting memory inside the constructor.
		{policy.LastN(0.5, 1, policy.MaxLastN+1), "LastN.n: must be at most MaxLastN"},
		{policy.LastN(0.5, 1, 1<<40), "LastN.n: must be at most MaxLastN"},
		{policy.LastN(0.5, 1, math.MaxInt), "LastN.n: must be at most MaxLastN"},
		{policy.Slow(0, 0.5, 1, m), "Slow.threshold"},
		{policy.Slow(-time.Second, 0.5, 1, m), "Slow.threshold"},
		{policy.Slow(time.Second, 2, 1, m), "Slow.ratio"},
		{policy.Slow(time.Second, nan, 1, m), "Slow.ratio"},
		{policy.Slow(time.Second, 0.5, 0, m), "Slow.minCalls"},
		{policy.Slow(time.Second, 0.5, 1, -1), "Slow.over"},
		// Issue 15: threshold and over swapped.
		{policy.Slow(m, 0.8, 20, time.Second), "Slow.threshold: must be at most over (1s), got 1m0s"},
		{policy.Slow(m+1, 0.8, 20, m), "Slow.threshold: must be at most over"},
		{policy.When(0, func(policy.Counts) bool { return true }), "When.over"},
		{policy.When(m, nil), "When.trip: is nil"},
		{policy.When(m, func(policy.Counts) bool { return true }, policy.SlowerThan(0)), "When.SlowerThan"},
		{policy.When(time.Second, func(policy.Counts) bool { return true }, policy.SlowerThan(m)), "When.SlowerThan: must be at most over"},
		{policy.Any(), "Any.ps"},
		{policy.Any(nil), "Any.ps[0]"},
		{policy.Any(policy.Consecutive(1), policy.Window(0, m)), "Any.ps[1].Window.failures"},
		{policy.All(), "All.ps"},
		{policy.All(policy.Consecutive(1), nil), "All.ps[1]"},
		{policy.All(policy.Any(policy.Rate(2, 1, m))), "All.ps[0].Any.ps[0].Rate.ratio"},
	}
	for _, c := range cases {
		err := check(c.p)
		field, _, _ := strings.Cut(c.want, ":")
		var ae *policy.ArgError
		if !errors.As(err, &ae) || ae.Field != field || !strings.HasPrefix(err.Error(), "policy: "+c.want) {
			t.Errorf("%v: Check = %v, want an *ArgError with Field %q, saying %q", c.p, err, field, c.want)
		} else if ae.Problem() == "" || !strings.HasSuffix(err.Error(), ae.Problem()) {
			t.Errorf("%v: Problem() = %q, not what Error() = %q says", c.p, ae.Problem(), err)
		}
		for _, call := range []policy.Call{{At: t0}, bad, {Failed: true, At: t0}, {At: t0.Add(time.Hour)}} {
			c.p.Record(call.WithDuration(time.Second))
		}
		c.p.Reset()
		_ = needs(c.p)
		_ = bind(c.p)
	}
}

// TestCombinatorsClaimTheirChildren: a child given to two breakers, twice
// to one combinator, or claimed on its own first, is refused.
func TestCombinatorsClaimTheirChildren(t *testing.T) {
	child := func() policy.Policy { return policy.Consecutive(1) }
	shared := child()
	claimed := child()
	if err := bind(claimed); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		first policy.Policy // claimed first, must succeed; may be nil
		then  policy.Policy // must then fail with ErrShared
		msg   string
	}{
		{"shared child", policy.Any(shared, child()), policy.All(child(), shared), "All.ps[1]: already used"},
		{"child twice", nil, policy.Any(child(), child(), policy.Any(claimed)), "Any.ps[2].Any.ps[0]: already used"},
		{"same child twice", nil, func() policy.Policy { c := child(); return policy.All(c, c) }(), "All.ps[1]: already used"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.first != nil {
				if err := bind(c.first); err != nil {
					t.Fatalf("first Claim = %v", err)
				}
			}
			err := bind(c.then)
			if !errors.Is(err, policy.ErrShared) || !strings.HasPrefix(err.Error(), "policy: "+c.msg) {
				t.Fatalf("Claim = %v, want ErrShared naming %q", err, c.msg)
			}
		})
	}
}

func TestNeeds(t *testing.T) {
	m := time.Minute
	both := policy.NeedTime | policy.NeedDuration
	cases := []struct {
		p    policy.Policy
		want policy.Needs
	}{
		{policy.Consecutive(1), 0},
		{policy.LastN(1, 1, 1), 0},
		{policy.Window(1, m), policy.NeedTime},
		{policy.Rate(1, 1, m), policy.NeedTime},
		{policy.Slow(m, 1, 1, m), both},
		{policy.When(m, func(policy.Counts) bool { return false }), policy.NeedTime},
		{policy.When(m, func(policy.Counts) bool { return false }, policy.SlowerThan(time.Second)), both},
		{policy.Any(policy.Consecutive(1), policy.LastN(1, 1, 1)), 0},
		{policy.Any(policy.Consecutive(1), policy.Rate(1, 1, m)), policy.NeedTime},
		{policy.All(policy.Rate(1, 1, m), policy.Any(policy.Slow(m, 1, 1, m))), both},
	}
	for _, c := range cases {
		if got := needs(c.p); got != c.want {
			t.Errorf("needs(%v) = %b, want %b", c.p, got, c.want)
		}
	}
}

func TestString(t *testing.T) {
	m := time.Minute
	cases := []struct {
		p    policy.Policy
		want string
	}{
		{policy.Window(5, m), "window(5, 1m0s)"},
		{policy.Rate(0.25, 20, m), "rate(0.25, 20, 1m0s)"},
		{policy.LastN(0.5, 10, 100), "lastn(0.5, 10, 100)"},
		{policy.Slow(time.Second, 0.8, 20, m), "slow(1s, 0.8, 20, 1m0s)"},
		{policy.Any(policy.Consecutive(5), policy.All(policy.Window(3, m), nil)), "any(consecutive(5), all(window(3, 1m0s), <nil>))"},
		{policy.All(spy{}), "all(policy_test.spy)"},
	}
	for _, c := range cases {
		if got := c.p.(interface{ String() string }).String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
}

// spy is a custom policy that trips when told to and counts what it saw.
type spy struct {
	trip  bool
	calls *int
}

func (s spy) Record(policy.Call) bool {
	if s.calls != nil {
		*s.calls++
	}
	return s.trip
}

func (s spy) Reset() {}
