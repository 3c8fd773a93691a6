package fleetsim

import (
	"sync"
	"time"
)

// Clock is the one clock of a run: the breakers, the coordinators and the
// store read it, and the simulation alone moves it. A store that keeps its
// own time (a real server) gets a Clock whose Advance also moves, or waits
// for, the server's time.
type Clock interface {
	Now() time.Time
	// Advance moves the clock on by d.
	Advance(d time.Duration)
}

// VirtualClock is a [Clock] that moves only when told: time in a run costs
// no real time. The zero value is not usable; build one with
// [NewVirtualClock]. Safe for concurrent use.
type VirtualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewVirtualClock returns a clock that reads start until advanced.
func NewVirtualClock(start time.Time) *VirtualClock { return &VirtualClock{now: start} }

// Now returns the clock's time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d; a negative d does nothing.
func (c *VirtualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
