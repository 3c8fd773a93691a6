package policy_test

import (
	"fmt"
	"time"

	"github.com/tripwire-go/tripwire/policy"
)

// noon is the fixed start of every example's clock. Policies never read a
// clock: the breaker fills Call.At, and here the examples do.
var noon = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// feed records each call and prints the verdict.
func feed(p policy.Policy, calls ...policy.Call) {
	for _, c := range calls {
		outcome := "ok"
		if c.Failed {
			outcome = "failed"
		}
		if c.HasDuration() && c.Duration() != 0 {
			outcome += " in " + c.Duration().String()
		}
		fmt.Printf("%v: %s, trip=%v\n", c.At.Sub(noon), outcome, p.Record(c))
	}
}

// at returns a call that finished d after noon.
func at(d time.Duration, failed bool) policy.Call {
	return policy.Call{At: noon.Add(d), Failed: failed}
}

// Three failures in a row; a success starts the count again.
func ExampleConsecutive() {
	p := policy.Consecutive(3)
	feed(p, at(0, true), at(0, true), at(0, false), at(0, true), at(0, true), at(0, true))
	// Output:
	// 0s: failed, trip=false
	// 0s: failed, trip=false
	// 0s: ok, trip=false
	// 0s: failed, trip=false
	// 0s: failed, trip=false
	// 0s: failed, trip=true
}

// Three failures within a minute trip it, whatever came between; failures
// further apart do not.
func ExampleWindow() {
	p := policy.Window(3, time.Minute)
	fmt.Println(p)
	feed(p,
		at(0, true), at(40*time.Second, true), at(80*time.Second, true), // never 3 within a minute
		at(90*time.Second, false), at(95*time.Second, true), // 40s, 80s, 95s
	)
	// Output:
	// window(3, 1m0s)
	// 0s: failed, trip=false
	// 40s: failed, trip=false
	// 1m20s: failed, trip=false
	// 1m30s: ok, trip=false
	// 1m35s: failed, trip=true
}

// Half of at least four calls in the last minute: the last call, a success,
// trips it, because the early successes have left the window.
func ExampleRate() {
	p := policy.Rate(0.5, 4, time.Minute)
	fmt.Println(p)
	feed(p,
		at(0, false), at(0, false), at(0, false),
		at(30*time.Second, true), at(30*time.Second, true), // 2 of 5
		at(70*time.Second, false), // the first three left: 2 of 3, too few calls
		at(75*time.Second, false), // 2 of 4
	)
	// Output:
	// rate(0.5, 4, 1m0s)
	// 0s: ok, trip=false
	// 0s: ok, trip=false
	// 0s: ok, trip=false
	// 30s: failed, trip=false
	// 30s: failed, trip=false
	// 1m10s: ok, trip=false
	// 1m15s: ok, trip=true
}

// Of the last 4 calls, three failed: however long ago they came.
func ExampleLastN() {
	p := policy.LastN(0.75, 4, 4)
	fmt.Println(p)
	feed(p, at(0, true), at(0, true), at(0, false), at(time.Hour, true), at(time.Hour, false), at(2*time.Hour, true))
	// Output:
	// lastn(0.75, 4, 4)
	// 0s: failed, trip=false
	// 0s: failed, trip=false
	// 0s: ok, trip=false
	// 1h0m0s: failed, trip=true
	// 1h0m0s: ok, trip=false
	// 2h0m0s: failed, trip=false
}

// Calls longer than 100ms are slow, failed or not; half of at least four
// in a minute trips it.
func ExampleSlow() {
	p := policy.Slow(100*time.Millisecond, 0.5, 4, time.Minute)
	terms, _ := policy.Check(p)
	fmt.Println(p, "needs time and duration:", terms.Needs == policy.NeedTime|policy.NeedDuration)
	took := func(d time.Duration, failed bool) policy.Call {
		return policy.Call{At: noon, Failed: failed}.WithDuration(d)
	}
	feed(p, took(20*time.Millisecond, false), took(100*time.Millisecond, false), took(300*time.Millisecond, true), took(2*time.Second, false))
	// Output:
	// slow(100ms, 0.5, 4, 1m0s) needs time and duration: true
	// 0s: ok in 20ms, trip=false
	// 0s: ok in 100ms, trip=false
	// 0s: failed in 300ms, trip=false
	// 0s: ok in 2s, trip=true
}

// A hard outage trips it at once through Consecutive; a partial one, where
// successes keep breaking the streak, through Rate.
func ExampleAny() {
	p := policy.Any(policy.Consecutive(3), policy.Rate(0.5, 6, time.Minute))
	fmt.Println(p)
	feed(p, at(0, true), at(0, false), at(0, true), at(0, false), at(0, true), at(0, true))
	p.Reset()
	fmt.Println("reset")
	feed(p, at(time.Hour, true), at(time.Hour, true), at(time.Hour, true))
	// Output:
	// any(consecutive(3), rate(0.5, 6, 1m0s))
	// 0s: failed, trip=false
	// 0s: ok, trip=false
	// 0s: failed, trip=false
	// 0s: ok, trip=false
	// 0s: failed, trip=false
	// 0s: failed, trip=true
	// reset
	// 1h0m0s: failed, trip=false
	// 1h0m0s: failed, trip=false
	// 1h0m0s: failed, trip=true
}

// A high rate alone is not enough: there must also be 4 failures in the
// minute. Verdicts are combined call by call.
func ExampleAll() {
	p := policy.All(policy.Rate(0.5, 2, time.Minute), policy.Window(4, time.Minute))
	fmt.Println(p)
	feed(p, at(0, true), at(0, true), at(0, false), at(0, true), at(0, false), at(0, true))
	// Output:
	// all(rate(0.5, 2, 1m0s), window(4, 1m0s))
	// 0s: failed, trip=false
	// 0s: failed, trip=false
	// 0s: ok, trip=false
	// 0s: failed, trip=false
	// 0s: ok, trip=false
	// 0s: failed, trip=true
}

// When takes a predicate over the counts of a trailing window and the
// current streaks: here, five failures in ten seconds, provided they are
// at least half of the calls, or three slow calls in a row of successes.
// A sony/gobreaker ReadyToTrip ports in one line the same way.
func ExampleWhen() {
	p := policy.When(10*time.Second, func(c policy.Counts) bool {
		return c.Failures >= 5 && c.Failures*2 >= c.Calls || c.Slow >= 3 && c.ConsecutiveSuccesses >= 3
	}, policy.SlowerThan(time.Second))
	call := func(after time.Duration, failed bool, took time.Duration) policy.Call {
		return policy.Call{At: noon.Add(after), Failed: failed}.WithDuration(took)
	}
	for i := range 5 {
		fmt.Println("failure", i+1, "trip:", p.Record(call(time.Duration(i)*time.Second, true, 0)))
	}
	p.Reset()
	for i := range 3 {
		fmt.Println("slow success", i+1, "trip:", p.Record(call(time.Duration(i)*time.Second, false, 2*time.Second)))
	}
	// Output:
	// failure 1 trip: false
	// failure 2 trip: false
	// failure 3 trip: false
	// failure 4 trip: false
	// failure 5 trip: true
	// slow success 1 trip: false
	// slow success 2 trip: false
	// slow success 3 trip: true
}
