package policy_test

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// TestWindowLosesNoFailureAtRealDates is issue 10's first fault, through
// the public API: with policy.Window(1, 500*time.Millisecond) at today's
// date, a failure at the end of one bucket, recorded while other
// goroutines record successes at the start of the next, was counted as a
// call but lost as a failure when the head moved between the two bumps
// (an empty slot's lap tag 0 passed for a newer lap than the head's): its
// own Record answered false, and Window(1, …) never tripped. Each round
// races one failure against the roll, in a fresh policy and after a Reset;
// the failure's Record must trip, at every epoch.
func TestWindowLosesNoFailureAtRealDates(t *testing.T) {
	const over = 500 * time.Millisecond
	width := over / 16
	rounds := 2000
	if testing.Short() || raceEnabled {
		rounds = 200
	}
	epochs.Run(t, epochs.For(width), func(t *testing.T, start time.Time) {
		// The last nanosecond of start's bucket, and the first of the next.
		r := start.Round(0).Sub(epochs.Unix0) % width
		if r < 0 {
			r += width // a floor, before 1970 too
		}
		end := start.Add(width - 1 - r)
		next := end.Add(1)
		// Two goroutines record successes at next into whichever policy
		// is current, all the time, so that one of them moves the head
		// on at some point of each round's failure.
		var cur atomic.Pointer[policy.WindowPolicy]
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if p := cur.Load(); p != nil {
						p.Record(policy.Call{At: next})
					}
				}
			}()
		}
		defer func() { close(stop); wg.Wait() }()
		for round := range rounds {
			p := policy.Window(1, over)
			if round%2 == 1 {
				p.Record(policy.Call{Failed: true, At: start})
				p.Reset()
			}
			p.Record(policy.Call{At: end}) // the head is end's bucket
			cur.Store(p)
			if !p.Record(policy.Call{Failed: true, At: end}) {
				t.Fatalf("round %d: the failure's own Record did not trip Window(1, %v)", round, over)
			}
			if !p.Record(policy.Call{Failed: true, At: next}) {
				t.Fatalf("round %d: a later failure did not trip Window(1, %v)", round, over)
			}
		}
	})
}

// monoEpochs are the epochs whose times can carry a monotonic reading, as
// Clock needs: Go keeps one for wall times up to 2157.
func monoEpochs(width time.Duration) []epochs.Epoch {
	var es []epochs.Epoch
	for _, e := range epochs.For(width) {
		if _, ok := epochs.Mono(e.At); ok {
			es = append(es, e)
		}
	}
	return es
}

// TestWindowIgnoresAWallClockStepBack is issue 10's third fault: the time
// windows placed calls by UnixNano, which drops the monotonic reading, so
// after the wall clock stepped back an hour (NTP, a virtual machine
// resumed) every later call fell into the newest bucket, and
// Window(3, time.Minute) tripped on failures 20 minutes apart. The real
// clock's times carry a monotonic reading; placed by it, the failures are
// as far apart as they really are.
func TestWindowIgnoresAWallClockStepBack(t *testing.T) {
	epochs.Run(t, monoEpochs(time.Minute/16), func(t *testing.T, start time.Time) {
		c := epochs.NewClock(start)
		p := policy.Window(3, time.Minute)
		if p.Record(policy.Call{Failed: true, At: c.Now()}) {
			t.Fatal("tripped on the first failure")
		}
		c.Add(20 * time.Minute)
		c.StepWall(-time.Hour)
		if p.Record(policy.Call{Failed: true, At: c.Now()}) {
			t.Fatal("tripped on the second failure, 20 minutes after the first")
		}
		c.Add(20 * time.Minute)
		if p.Record(policy.Call{Failed: true, At: c.Now()}) {
			t.Fatal("tripped on failures 20 minutes apart after a one-hour step back of the wall clock")
		}
		// Still a window: three failures within a minute trip it.
		p.Record(policy.Call{Failed: true, At: c.Now()})
		if !p.Record(policy.Call{Failed: true, At: c.Now()}) {
			t.Fatal("three failures in a minute did not trip after the step")
		}
	})
}

// TestWindowKeepsItsCallsOverAWallClockStepForward: the same fault the
// other way round. A step forward of the wall clock emptied every window:
// failures a few seconds apart, on either side of the step, never added
// up. Rate and Slow share the window, and are checked here too.
func TestWindowKeepsItsCallsOverAWallClockStepForward(t *testing.T) {
	epochs.Run(t, monoEpochs(time.Minute/16), func(t *testing.T, start time.Time) {
		c := epochs.NewClock(start)
		w := policy.Window(3, time.Minute)
		r := policy.Rate(1, 3, time.Minute)
		s := policy.Slow(time.Second, 1, 3, time.Minute)
		bad := func() policy.Call { return policy.Call{Failed: true, At: c.Now()}.WithDuration(2 * time.Second) }
		for range 2 {
			for _, p := range []policy.Policy{w, r, s} {
				if p.Record(bad()) {
					t.Fatalf("%v tripped before its third bad call", p)
				}
			}
			c.Add(5 * time.Second)
		}
		c.StepWall(time.Hour)
		for _, p := range []policy.Policy{w, r, s} {
			if !p.Record(bad()) {
				t.Fatalf("%v did not trip on its third bad call in 10s, across a one-hour step forward of the wall clock", p)
			}
		}
	})
}

// TestHugeWindowsDoNotOverflow: window lengths come from users, and
// over = math.MaxInt64 (292 years) must neither panic nor lose what it
// holds, at any epoch: two failures a day apart trip Window(2, …), and a
// Rate or When over as long a window counts both.
func TestHugeWindowsDoNotOverflow(t *testing.T) {
	const huge = time.Duration(math.MaxInt64)
	epochs.Run(t, epochs.For(huge/16), func(t *testing.T, start time.Time) {
		for _, p := range []policy.Policy{
			policy.Window(2, huge),
			policy.Rate(1, 2, huge),
			policy.When(huge, func(c policy.Counts) bool { return c.Failures >= 2 }),
			policy.Slow(huge/2, 1, 2, huge),
		} {
			if _, err := policy.Bind(p); err != nil {
				t.Fatalf("%v: %v", p, err)
			}
			bad := func(at time.Time) policy.Call { return policy.Call{Failed: true, At: at}.WithDuration(huge) }
			if p.Record(bad(start)) {
				t.Fatalf("%v tripped on its first failure", p)
			}
			if !p.Record(bad(start.Add(epochs.Day - 1))) {
				t.Fatalf("%v did not trip on a second failure a day later", p)
			}
		}
	})
}
