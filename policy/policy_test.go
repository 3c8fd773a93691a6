package policy_test

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// step is one call of a scripted sequence and the verdict it must get.
type step struct {
	at     time.Duration // since the run's start
	failed bool
	took   time.Duration
	trip   bool
}

// Shorthands for scripts: a failure, a success, and a success that took d.
func fail(at time.Duration, trip bool) step { return step{at: at, failed: true, trip: trip} }
func ok(at time.Duration, trip bool) step   { return step{at: at, trip: trip} }
func took(at, d time.Duration, trip bool) step {
	return step{at: at, took: d, trip: trip}
}

// run records the steps in order, into a fresh policy from each epoch of
// internal/epochs, and checks each verdict.
func run(t *testing.T, make func() policy.Policy, steps []step) {
	t.Helper()
	epochs.Run(t, epochs.All(), func(t *testing.T, t0 time.Time) {
		t.Helper()
		p := make()
		for i, s := range steps {
			c := policy.Call{Failed: s.failed, At: t0.Add(s.at)}.WithDuration(s.took)
			if got := p.Record(c); got != s.trip {
				t.Fatalf("step %d (%+v): Record = %v, want %v", i, s, got, s.trip)
			}
		}
	})
}

// The scripts keep clear of the window's edge: a call counts for at least
// 15/16 of the window (56.25s of a minute) and never for a whole one.
const s = time.Second

func TestWindowCountsFailuresWithinTheWindow(t *testing.T) {
	run(t, func() policy.Policy { return policy.Window(3, time.Minute) }, []step{
		fail(0, false),
		ok(10*s, false),
		fail(30*s, false),
		ok(40*s, false),
		fail(50*s, true),  // three within a minute, successes or not
		ok(55*s, true),    // still three: the verdict holds on a success
		ok(65*s, false),   // the first failure has left the window
		fail(95*s, false), // and the second
		fail(100*s, true),
	})
}

func TestRateTripsOnASuccessOnceOldSuccessesLeave(t *testing.T) {
	run(t, func() policy.Policy { return policy.Rate(0.5, 4, time.Minute) }, []step{
		ok(0, false),
		ok(0, false),
		ok(0, false),
		ok(0, false),
		fail(30*s, false), // 1 of 5
		fail(30*s, false), // 2 of 6
		fail(30*s, false), // 3 of 7
		ok(62*s, true),    // the four successes left: 3 of 4
	})
}

func TestRateWaitsForMinCalls(t *testing.T) {
	run(t, func() policy.Policy { return policy.Rate(0.3, 4, time.Minute) }, []step{
		fail(0, false),
		fail(s, false),
		fail(2*s, false),
		ok(3*s, true), // 3 of 4: enough calls at last
	})
	run(t, func() policy.Policy { return policy.Rate(0.3, 10, time.Minute) }, []step{
		fail(0, false), ok(0, false), ok(0, false), ok(0, false), ok(0, false),
		ok(0, false), ok(0, false), ok(0, false), fail(0, false),
		fail(0, true), // 3 of 10 reaches 0.3: no rounding in the way
	})
}

func TestSlowCountsCallsAboveTheThreshold(t *testing.T) {
	run(t, func() policy.Policy { return policy.Slow(time.Second, 0.5, 4, time.Minute) }, []step{
		took(0, time.Second, false), // at the threshold is not slow
		took(0, time.Second+1, false),
		{at: 0, failed: true, took: 3 * s, trip: false}, // a slow failure is slow
		took(0, 0, true),                                // 2 of 4
		took(50*s, time.Millisecond, false),             // 2 of 5
		took(52*s, 2*s, true),                           // 3 of 6
		took(62*s, time.Millisecond, false),             // the first four left: 1 of 3, too few
	})
}

func TestLastNJudgesTheLastNCalls(t *testing.T) {
	run(t, func() policy.Policy { return policy.LastN(0.75, 4, 4) }, []step{
		fail(0, false),
		fail(0, false),
		ok(0, false), // 2 of 3: too few calls
		ok(0, false), // 2 of 4
		fail(0, false),
		fail(0, false),
		fail(time.Hour, true), // S F F F, however much later
		ok(time.Hour, true),   // F F F S
		ok(time.Hour, false),  // F F S S
	})
}

// TestAllCombinesVerdictsCallByCall: the Consecutive child tripped on the
// second call, but All must not remember that once its streak ended.
func TestAllCombinesVerdictsCallByCall(t *testing.T) {
	run(t, func() policy.Policy { return policy.All(policy.Consecutive(2), policy.LastN(0.5, 4, 4)) }, []step{
		fail(0, false), // streak 1; 1 of 1, too few
		fail(0, false), // streak 2: Consecutive trips; 2 of 2, too few
		ok(0, false),   // streak over; 2 of 3
		ok(0, false),   // 2 of 4: LastN trips, Consecutive does not
		fail(0, false), // streak 1; 2 of 4
		fail(0, true),  // streak 2 and 2 of 4: both at once
	})
}

func TestAnyTripsWhenOneDoes(t *testing.T) {
	run(t, func() policy.Policy { return policy.Any(policy.Consecutive(3), policy.Window(4, time.Minute)) }, []step{
		fail(0, false),
		ok(0, false),
		fail(0, false),
		fail(0, false),
		fail(0, true), // Window: 4 within a minute; the streak is 3 too
		ok(2*time.Minute, false),
		fail(2*time.Minute, false),
		fail(2*time.Minute, false),
		fail(2*time.Minute, true), // Consecutive alone
	})
}

// TestCombinatorsGiveEveryCallToEveryChild: a child that has tripped, or
// one that holds All back, does not stop the others from counting.
func TestCombinatorsGiveEveryCallToEveryChild(t *testing.T) {
	var a, b, c, d int
	anyOf := policy.Any(spy{true, &a}, spy{false, &b})
	allOf := policy.All(spy{false, &c}, spy{true, &d})
	for range 5 {
		anyOf.Record(bad)
		allOf.Record(bad)
	}
	if a != 5 || b != 5 || c != 5 || d != 5 {
		t.Fatalf("children saw %d, %d, %d, %d calls, want 5 each", a, b, c, d)
	}
}
