package breaker

import (
	"sync"
	"sync/atomic"

	"github.com/tripwire-go/tripwire/internal/fsm"
	"github.com/tripwire-go/tripwire/policy"
)

// Permit is the right to make one call, granted by [Breaker.Allow]. Use the
// two-step form when the call does not fit in a function: a stream, a
// callback API, a call whose result arrives elsewhere.
//
// Report the call exactly once, with Done, or give the permit back with
// Release. The first of them on any copy of the permit counts; every later
// Done or Release, on any copy and from any goroutine, does nothing, and so
// do both on the zero Permit. A permit reported after the circuit has moved
// on (tripped, closed, been reset) changes nothing but freeing its own
// half-open probe slot, which is gone already.
//
// A permit is a small value; copy it freely. It is safe for concurrent
// use.
type Permit[T any] struct {
	b *Breaker[T]
	// tok and seq make the first report the only one: a report counts
	// when it moves tok from seq to seq+1. A reported permit's token goes
	// back to the pool, and the next permit that takes it starts from
	// seq+1, so a stale copy's report can never match it again.
	tok *token
	seq uint64
	// w is the word of a permit granted on Allow's shortcut, whose
	// ticket is that word alone; inToken for any other, whose ticket is
	// the token's. Carrying it here spares Allow the stores to the token
	// and Done the load from it, and the permit stays in registers.
	w fsm.Word
}

// inToken is Permit.w of a permit whose ticket is in its token: a word
// with a state no circuit is in.
const inToken = fsm.Word(3)

// token is the shared part of a permit and its copies. Keeping the ticket
// here rather than in the Permit keeps a Permit at four words, which Go
// passes in registers: a larger one went through memory, and copying it
// cost more than the token does.
type token struct {
	seq atomic.Uint64
	// t is written by Allow before the permit exists and read by the one
	// report that moved seq on, before the token goes back to the pool;
	// only for a permit whose w is inToken.
	t ticket
}

// tokens recycles the tokens of reported permits, so that Allow allocates
// nothing in the steady state. A token of a permit that is never reported
// is not recycled; the garbage collector takes it with the permit.
var tokens = sync.Pool{New: func() any { return new(token) }}

// Allow asks whether a call may be made now. When it may, it returns a
// permit to report the call's result with; when not, an error wrapping
// ErrOpen, as Execute's rejections do.
//
// A permit must be reported (Done) or given back (Release). Until then it
// holds what it was granted: while the circuit is half-open, one of its
// few probe slots, which an unreported permit keeps until the circuit
// leaves half-open or Config.ProbeTimeout reclaims the slots, rejecting
// other calls all along; while closed, nothing but its call's place in
// the policy's count, which is then never counted. To ask "would a call be
// let through now?" without making one, call Release on the permit at
// once. On a nil or zero Breaker (one not built by New) Allow panics,
// saying so.
func (b *Breaker[T]) Allow() (Permit[T], error) {
	if b == nil || b.core == nil {
		misuse(b == nil, b != nil, false, "Allow")
	}
	// Execute's shortcuts: a plain closed word needs no admission, and an
	// open one may have its rejection at hand.
	w := b.load()
	if w.Plain() && !b.gated.Load() {
		tok := tokens.Get().(*token)
		return Permit[T]{b: b, tok: tok, seq: tok.seq.Load(), w: w}, nil
	}
	if err := b.fastRejection(w); err != nil {
		return Permit[T]{}, err
	}
	if err := b.countedRejection(w); err != nil {
		b.rejected()
		return Permit[T]{}, err
	}
	t, err := b.enter(w)
	if err != nil {
		return Permit[T]{}, err
	}
	tok := tokens.Get().(*token)
	tok.t = t
	return Permit[T]{b: b, tok: tok, seq: tok.seq.Load(), w: inToken}, nil
}

// claim reports whether this is the first report of the permit. The
// caller then reads what it needs of the token and recycles it (release)
// before anything else: the next Allow may take it from then on.
func (p Permit[T]) claim() bool {
	return p.tok != nil && p.tok.seq.CompareAndSwap(p.seq, p.seq+1)
}

// ticket returns the ticket of a claimed permit. It clears the token's
// record of the calls observers watch, so that a pooled token holds no
// record another call may be given next.
func (p Permit[T]) ticket() ticket {
	if p.w == inToken {
		t := p.tok.t
		p.tok.t.obs = nil
		return t
	}
	return ticket{w: p.w}
}

// release returns the token of a claimed permit to the pool.
func (p Permit[T]) release() { tokens.Put(p.tok) }

// Done reports the result of the permitted call. It is classified like a
// result of Execute, except that a canceled context is not Ignored: Done
// does not know the caller's context, so with Classify nil every non-nil
// err is a Failure. A caller that gave up should Release the permit
// instead. If Classify panics, the call counts as a failure and the panic
// goes on up.
func (p Permit[T]) Done(result T, err error) {
	if !p.claim() {
		return
	}
	b := p.b
	if w := p.w; err == nil && b.classify == nil && w.Plain() && b.needs.Load()&(uint32(policy.NeedDuration)|needObserved) == 0 {
		// Execute's shortcut for a plain success of a closed circuit,
		// under the same conditions (a permit whose ticket is in its
		// token has no plain word).
		p.release()
		b.count(Success)
		if c := b.consecutive.Load(); c != nil && c.Streak() == 0 && b.load() == w {
			return
		}
		b.succeeded(w)
		return
	}
	t := p.ticket()
	p.release()
	finished := false
	defer func() {
		if !finished {
			p.b.finish(t, Failure)
		}
	}()
	o := Success
	switch {
	case p.b.classify != nil:
		o = p.b.classify(result, err)
	case err != nil:
		o = Failure
	}
	if o != Success && o != Ignored {
		p.b.noteFailure(err)
	}
	finished = true
	p.b.done(t, o, err)
}

// Release gives the permit back without a result: the call counts as
// Ignored, as a canceled call of Execute does, and its half-open probe
// slot, if it holds one, is free again. Use it when the call was not made
// after all, or when its caller gave up. It is to Allow what
// rate.Reservation.Cancel is to rate.Limiter.Reserve.
func (p Permit[T]) Release() {
	if !p.claim() {
		return
	}
	if w := p.w; w != inToken {
		// Not through ticket: a ticket built in one of two ways is
		// built in memory, and read back in wider loads than it was
		// written with, a stalled store forward that cost a third of
		// Allow and Release.
		p.release()
		p.b.finish(ticket{w: w}, Ignored)
		return
	}
	t := p.ticket()
	p.release()
	p.b.finish(t, Ignored)
}
