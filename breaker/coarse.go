package breaker

import (
	"sync/atomic"
	"time"
)

// coarseClock tells the time to within every, for a policy that asked for
// no more (policy.Binding.NeedTimeWithin: the time windows place a call in
// a bucket, and need its time to a quarter of one). It reads its clock at
// the first call after each period of every and gives that reading to
// every call until the period ends, which a timer flags: a closed call of
// a time-window policy then reads no clock, where reading it was most of
// what the policy cost (BenchmarkPolicyExecute). A reading is at most
// every old, and as much again as the timer runs late on a loaded
// machine.
//
// Only a breaker on the real clock has one: a Clock of the user's (a
// mock in a test, the lab's virtual clock) is read on every call, so that
// a test sees every call at the time it set. Like the open period's timer,
// its timer is armed only while calls come, runs no user code, and leaves
// no goroutine behind once it has fired.
//
// A breaker takes one only for a tolerance of minCoarse or more, so that
// a busy breaker's timer fires at most 100 times a second: a large group
// of busy breakers would otherwise spend a core on timers.
type coarseClock struct {
	clock Clock
	every time.Duration
	// now is the reading calls share, or nil once the period that it
	// began has ended. armed is set from the reading that fills now until
	// the timer that ends its period has fired, so that one caller at a
	// time arms the timer.
	now   atomic.Pointer[time.Time]
	armed atomic.Bool
	timer *time.Timer
}

// minCoarse is the least tolerance a breaker reads a coarse clock for: a
// Window or Rate over 640 ms or more.
const minCoarse = 10 * time.Millisecond

func newCoarseClock(clock Clock, every time.Duration) *coarseClock {
	c := &coarseClock{clock: clock, every: every}
	// Made now, stopped, and only Reset later, by the caller that armed
	// it: never assigned while it could fire.
	c.timer = time.AfterFunc(time.Hour, c.expire)
	c.timer.Stop()
	return c
}

// Now returns the reading of the current period, or reads the clock and,
// if no other caller is doing so, begins a period with the reading. A
// new period allocates its reading: one allocation per period, none per
// call.
func (c *coarseClock) Now() time.Time {
	if p := c.now.Load(); p != nil {
		return *p
	}
	t := c.clock.Now()
	if c.armed.CompareAndSwap(false, true) {
		c.now.Store(&t)
		c.timer.Reset(c.every)
	}
	return t
}

// expire ends the period: the next call reads the clock.
func (c *coarseClock) expire() {
	c.now.Store(nil)
	c.armed.Store(false)
}
