package fleet

// Drain waits until the hand-offs queued before it are done.
func Drain(co *Coordinator) {
	if co.cfg.Driven {
		return // its hand-offs wait for Step
	}
	done := make(chan struct{})
	select {
	case co.work <- job{kind: jobBarrier, done: done}:
	case <-co.ctx.Done():
		return
	}
	select {
	case <-done:
	case <-co.ctx.Done():
	}
}
