// Package stripe picks the stripe of a striped counter that the calling
// goroutine writes: the breaker's call counters, the Record fence of its
// state machine and the time windows' call counts are each split over
// cache lines, as Java's LongAdder splits its cells, so that calls on
// different cores do not write one line.
//
// Go gives no cheap way to know the core or the goroutine, so a goroutine
// is told apart by its stack address: it keeps its stripe while its stack
// stays put, and goroutines spread over the stripes. Two busy goroutines
// can still land on one stripe by bad luck, and would then share it for
// as long as they run. A writer that loses a race for its stripe (its
// compare-and-swap failed) says so with Contended, and now and then that
// changes the salt mixed into every pick: every goroutine moves to
// another stripe, and two that collided part with the odds that any two
// do. Any stripe is correct; the choice only spreads the writes.
package stripe

import (
	"math/rand/v2"
	"sync/atomic"
	"unsafe"
)

// Picker picks stripes. The zero value is ready to use; it is safe for
// concurrent use and must not be copied after first use.
type Picker struct {
	salt atomic.Uint64
}

// fib is 2^64 divided by the golden ratio, made odd: the multiplier of a
// Fibonacci hash, and of the pick while the salt is zero.
const fib = 0x9E3779B97F4A7C15

// Pick returns the calling goroutine's stripe among mask+1 of them (mask is
// a power of two less one).
func (p *Picker) Pick(mask uintptr) uintptr {
	var onStack byte
	// Stacks are at least 2 KiB apart: the bits above that tell them
	// apart.
	return pick(uint64(uintptr(unsafe.Pointer(&onStack))>>11), p.salt.Load(), mask)
}

// pick hashes x, a stack address in units of 2 KiB, to a stripe: by a
// multiplication, whose bits from 32 up mix every bit of x below them, by
// an odd multiplier that the salt picks. The salt must change the
// multiplier, not the address: two goroutines whose stacks are d apart
// get hashes (x+d)·m - x·m = d·m apart, which a salt added to x left as it
// was, so that a pair that collided (one pair of stacks in eight) collided
// under every salt, and re-salting never parted them: the cause of the
// runs at twice the time of BenchmarkPolicyRecordParallel.
func pick(x, salt uint64, mask uintptr) uintptr {
	return uintptr(x*((salt^fib)|1)>>32) & mask
}

// Contended reports that a compare-and-swap on a stripe failed. One
// report in 64, drawn at random, moves every goroutine to another stripe:
// often enough that two goroutines stuck on one stripe part within a few
// hundred lost races, seldom enough that on a machine with more busy
// goroutines than stripes, where races are never rare, the salt is
// written once per 64 of them. It is for the path of a lost race only:
// the draw costs more than a pick.
func (p *Picker) Contended() {
	if r := rand.Uint64(); r&63 == 0 {
		// A new multiplier, at random: two goroutines that shared a
		// stripe share the next one with the odds that any two do.
		p.salt.Store(r)
	}
}
