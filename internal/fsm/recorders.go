package fsm

import (
	"runtime"
	"sync/atomic"

	"github.com/tripwire-go/tripwire/internal/stripe"
)

// recorders counts the calls inside Machine.Record, by the parity of the
// generation they were admitted in, so that close can wait until no result
// of the last closed generation can still reach the policy. Counting by
// parity is enough: close waits for the parity of the last closed
// generation while no word of that generation (or a later closed one) can
// pass Record's check, and each close finishes its wait before the next
// begins, so a count of that parity only holds calls that will fail their
// check at once, or that passed it under the generation being waited for.
//
// The counts are sharded over cache lines by the caller's stack (see
// package internal/stripe), as the breaker's call counters are, so that
// concurrent calls on different cores do not write one line. A Record costs two atomic adds on a line of
// its own core; the breaker keeps them off its fastest path (a success with
// the default policy and no streak to end).
type recorders struct {
	shards [recShards]recShard
	pick   stripe.Picker
}

type recShard struct {
	n [2]atomic.Int64
	_ [64 - 2*8]byte
}

const recShards = 8

// enter registers a call of generation gen and returns the count to
// decrement when it leaves.
func (r *recorders) enter(gen uint64) *atomic.Int64 {
	n := &r.shards[r.pick.Pick(recShards-1)].n[gen&1]
	// A compare-and-swap rather than an Add, which costs the same: its
	// failure tells the picker that another goroutine writes this shard.
	for {
		old := n.Load()
		if n.CompareAndSwap(old, old+1) {
			return n
		}
		r.pick.Contended()
	}
}

// drain waits until no call of gen's parity is inside Record. Such calls
// are running a policy's Record, which is short: drain yields rather than
// sleeps.
func (r *recorders) drain(gen uint64) {
	for {
		var sum int64
		for i := range r.shards {
			sum += r.shards[i].n[gen&1].Load()
		}
		if sum == 0 {
			return
		}
		runtime.Gosched()
	}
}
