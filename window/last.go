package window

import (
	"math/bits"
	"sync/atomic"
)

// Last keeps the outcomes of the last n calls: a count-based sliding window
// (resilience4j's COUNT_BASED).
//
// Use it when the question is "how many of the last 100 calls failed?"
// rather than "how many in the last minute?": its verdict does not depend on
// the traffic rate, so a quiet service is judged on as many calls as a busy
// one, however long they took to arrive.
//
// It is a ring of n slots with one bit per slot for a failure and one for a
// slow call. Record claims the next slot with one atomic add and writes its
// two bits only where they change, so a stream of fast successes over a
// healthy ring only reads the bitsets. Sum counts the set bits, a word of 64
// slots at a time, so it costs two loads per 64 slots and nothing else:
// there are no running totals that a concurrent Reset could leave out of
// step with the bits.
//
// Record, Sum and Reset are safe for concurrent use, lock-free and do not
// allocate. Under concurrency a slot claimed by a Record that has not
// written yet still shows its previous outcome, and when the ring laps a
// slow writer, whichever of two writers of one slot writes last wins; the
// counts always match the bits. A Record concurrent with Reset may or may
// not be forgotten.
//
// Build one with [NewLast]; the zero value is not usable. A Last must not be
// copied after first use.
type Last struct {
	n   uint64
	pos atomic.Uint64 // calls recorded since the last Reset; the next slot is pos mod n
	// failures and slow hold one bit per slot: slot i is bit i%64 of
	// word i/64. Bits at or past n are never set.
	failures, slow []atomic.Uint64
}

// NewLast returns an empty window over the last n calls. An n below 1 is
// taken as 1; policies validate their arguments before they get here.
func NewLast(n int) *Last {
	n = max(n, 1)
	words := (n + 63) / 64
	return &Last{
		n:        uint64(n),
		failures: make([]atomic.Uint64, words),
		slow:     make([]atomic.Uint64, words),
	}
}

// Len returns n, the number of calls the window holds once it is full.
func (w *Last) Len() int { return int(w.n) }

// Record counts one call, with its marks (failed, slow: see [Marks]). It
// does not allocate and takes no lock.
func (w *Last) Record(m Marks) {
	i := (w.pos.Add(1) - 1) % w.n
	word, bit := i/64, uint64(1)<<(i%64)
	set(&w.failures[word], bit, m&Failed != 0)
	set(&w.slow[word], bit, m&Slow != 0)
}

// RecordSum counts one call, with its marks, and returns the counts Sum
// would then return, the call included: what a policy that judges the
// last n calls does on every call.
//
// A plain success into a full ring of plain successes changes nothing
// that can be seen: it pushes out a call just like it, and which slot the
// next call of another kind then takes does not matter, since every slot
// holds the same. RecordSum then writes nothing, not even the position
// that every other Record moves on: on a healthy dependency, calls on
// many cores read the ring and write no line, where Record bounces the
// position's line between them. It does not allocate and takes no lock.
// Under a concurrent Reset it may return counts from before the Reset.
func (w *Last) RecordSum(m Marks) Counts {
	if m == 0 && w.pos.Load() >= w.n && w.clean() {
		return Counts{Calls: int64(w.n)}
	}
	w.Record(m)
	return w.Sum()
}

// clean reports whether no slot holds a failure or a slow call.
func (w *Last) clean() bool {
	for i := range w.failures {
		if w.failures[i].Load() != 0 || w.slow[i].Load() != 0 {
			return false
		}
	}
	return true
}

// Sum returns the counts over the last n calls, or over every call since the
// last Reset while there have been fewer.
func (w *Last) Sum() Counts {
	calls := min(w.pos.Load(), w.n)
	c := Counts{Calls: int64(calls)}
	// Only the slots filled since the last Reset count: a bit left by a
	// Record that raced the Reset stays invisible until its slot is
	// written again.
	for i := uint64(0); i*64 < calls; i++ {
		mask := ^uint64(0)
		if rest := calls - i*64; rest < 64 {
			mask = 1<<rest - 1
		}
		c.Failures += int64(bits.OnesCount64(w.failures[i].Load() & mask))
		c.Slow += int64(bits.OnesCount64(w.slow[i].Load() & mask))
	}
	return c
}

// Reset forgets every call recorded.
func (w *Last) Reset() {
	w.pos.Store(0)
	for i := range w.failures {
		w.failures[i].Store(0)
		w.slow[i].Store(0)
	}
}

// set makes bit of word equal to on. It reads first, so that writing a
// success over a success (the common case) is a load, not a write that
// would bounce the cache line between cores. Or and And are single atomic
// operations, so two writers of one slot cannot corrupt the other 63 bits.
func set(word *atomic.Uint64, bit uint64, on bool) {
	if (word.Load()&bit != 0) == on {
		return
	}
	if on {
		word.Or(bit)
	} else {
		word.And(^bit)
	}
}
