package window

import "time"

// recordOn is Record into the stripe st, for tests that choose the stripe
// a call counts into.
func (w *Time) recordOn(st *callStripe, now time.Time, m Marks) {
	w.count(st, w.nanos(now), m&Failed != 0, m&Slow != 0)
}

// RecordOn is Record as a goroutine whose stack picks stripe i (modulo
// the number of stripes) would make it: the model tests record into every
// stripe from one goroutine.
func (w *Time) RecordOn(i int, now time.Time, m Marks) {
	w.recordOn(&w.stripes[uintptr(i)&w.smask], now, m)
}

// RecordBoundsOn is RecordBounds as a goroutine whose stack picks stripe
// i would call it.
func (w *Time) RecordBoundsOn(i int, now time.Time, m Marks) Counts {
	return w.recordBounds(&w.stripes[uintptr(i)&w.smask], now, m)
}

// Stripes returns the number of stripes of w.
func (w *Time) Stripes() int { return len(w.stripes) }
