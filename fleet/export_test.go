package fleet

import "runtime"

// Drain waits until the hand-offs queued before it are done.
func Drain(co *Coordinator) {
	if co.cfg.Driven {
		return // its hand-offs wait for Step
	}
	done := make(chan struct{})
	co.enqueue(job{kind: jobBarrier, done: done})
	select {
	case <-done:
	case <-co.ctx.Done():
	}
	Settle(co)
}

// Settle waits until no goroutine is applying records: a record submitted
// while another goroutine applies is applied by that one, right after.
func Settle(co *Coordinator) {
	for {
		co.applier.mu.Lock()
		idle := !co.applier.draining && len(co.applier.queue) == 0
		co.applier.mu.Unlock()
		if idle {
			return
		}
		runtime.Gosched()
	}
}

// SetAfterStateRead sets a hook that the applier runs once, between its
// read of a breaker's state and the adoption it decides on that read.
func SetAfterStateRead(co *Coordinator, f func()) {
	co.afterStateRead = func() {
		co.afterStateRead = nil
		f()
	}
}
