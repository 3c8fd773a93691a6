package bench

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
)

var errBoom = errors.New("boom")

// The functions under test are called through these variables, as a
// breaker calls them, so that no baseline gets them inlined.
var (
	ok   = func(context.Context) (int, error) { return 1, nil }
	fail = func(context.Context) (int, error) { return 0, errBoom }
)

// floor is what a breaker is measured against: the call plus one atomic add
// and load on a counter alone on its cache line. lines are three such
// counters, for the three locked instructions of a serial closed call
// under Rate or Window (the Record fence's two and the window's count).
var floor struct {
	_     [64]byte
	n     atomic.Int64
	_     [56]byte
	lines [3]struct {
		n atomic.Int64
		_ [56]byte
	}
}

// floorToken is what Allow and Done must do beyond Execute's work: take a
// token from a sync.Pool, move it on with a compare-and-swap (the first
// report of a permit is the only one) and put it back.
type floorToken struct{ seq atomic.Uint64 }

var floorTokens = sync.Pool{New: func() any { return new(floorToken) }}

func BenchmarkFloor(b *testing.B) {
	ctx := context.Background()
	b.Run("mode=direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ok(ctx)
		}
	})
	b.Run("mode=serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ok(ctx)
			floor.n.Add(1)
			floor.n.Load()
		}
	})
	b.Run("mode=parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ok(ctx)
				floor.n.Add(1)
				floor.n.Load()
			}
		})
	})
	// The floor of a serial closed call under Rate or Window: three
	// locked instructions, on lines no other core writes.
	b.Run("mode=three-adds", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ok(ctx)
			floor.lines[0].n.Add(1)
			floor.lines[1].n.Add(1)
			floor.lines[2].n.Add(-1)
		}
	})
	// The floor of Allow and Done beyond Execute: the token's pool and
	// compare-and-swap, without the call.
	b.Run("mode=token", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t := floorTokens.Get().(*floorToken)
			s := t.seq.Load()
			t.seq.CompareAndSwap(s, s+1)
			floorTokens.Put(t)
		}
	})
}

func newBreaker(b *testing.B) *breaker.Breaker[int] {
	br, err := breaker.New(breaker.Config[int]{})
	if err != nil {
		b.Fatal(err)
	}
	return br
}

// The loops below call Execute directly in the loop body, never through a
// closure: an extra indirect call per iteration would be charged to the
// breaker, while the floor above pays for none.

// executeOK measures br.Execute(ctx, ok), serially or under RunParallel.
func executeOK(b *testing.B, br *breaker.Breaker[int], parallel bool) {
	ctx := context.Background()
	b.ReportAllocs()
	if !parallel {
		for b.Loop() {
			br.Execute(ctx, ok)
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			br.Execute(ctx, ok)
		}
	})
}

// executeOneInTen is executeOK with every tenth call failing. Even two
// goroutines cannot string five failures together, so the default
// Consecutive(5) never trips, and the failures pay for the policy's shared
// writes.
func executeOneInTen(b *testing.B, br *breaker.Breaker[int], parallel bool) {
	ctx := context.Background()
	b.ReportAllocs()
	if !parallel {
		i := 0
		for b.Loop() {
			if i++; i%10 == 0 {
				br.Execute(ctx, fail)
			} else {
				br.Execute(ctx, ok)
			}
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if i++; i%10 == 0 {
				br.Execute(ctx, fail)
			} else {
				br.Execute(ctx, ok)
			}
		}
	})
}

// executeRejected trips br and measures rejected calls, serially or under
// RunParallel; a call that runs fails the benchmark.
func executeRejected(b *testing.B, br *breaker.Breaker[int], parallel bool) {
	ctx := context.Background()
	br.Trip()
	b.ReportAllocs()
	if !parallel {
		for b.Loop() {
			if _, err := br.Execute(ctx, ok); err == nil {
				b.Fatal("an open breaker ran a call")
			}
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := br.Execute(ctx, ok); err == nil {
				panic("an open breaker ran a call")
			}
		}
	})
}

// modes runs body once per mode, with the mode's name appended to name.
func modes(b *testing.B, name string, body func(b *testing.B, parallel bool)) {
	b.Run(name+"/mode=serial", func(b *testing.B) { body(b, false) })
	b.Run(name+"/mode=parallel", func(b *testing.B) { body(b, true) })
}

func BenchmarkExecute(b *testing.B) {
	modes(b, "state=closed/outcome=success", func(b *testing.B, parallel bool) {
		executeOK(b, newBreaker(b), parallel)
	})
	modes(b, "state=closed/outcome=failure", func(b *testing.B, parallel bool) {
		executeOneInTen(b, newBreaker(b), parallel)
	})
	modes(b, "state=open", func(b *testing.B, parallel bool) {
		executeRejected(b, newBreaker(b), parallel)
	})
}

// BenchmarkView measures Execute through a view (breaker.View) of another
// result type's circuit, in BenchmarkExecute's scenarios: a view is a
// Breaker of its own type on a shared circuit, and costs what Execute does.
func BenchmarkView(b *testing.B) {
	view := func(b *testing.B) *breaker.Breaker[int] {
		base, err := breaker.New(breaker.Config[string]{})
		if err != nil {
			b.Fatal(err)
		}
		return breaker.View[int](base, nil)
	}
	modes(b, "state=closed/outcome=success", func(b *testing.B, parallel bool) {
		executeOK(b, view(b), parallel)
	})
	modes(b, "state=closed/outcome=failure", func(b *testing.B, parallel bool) {
		executeOneInTen(b, view(b), parallel)
	})
	modes(b, "state=open", func(b *testing.B, parallel bool) {
		executeRejected(b, view(b), parallel)
	})
}

// BenchmarkAllow measures the two-step form, beside BenchmarkExecute. It
// costs what Execute does plus a compare-and-swap, which makes a permit's
// second report a no-op even from another goroutine, and a sync.Pool Get
// and Put for the token the swap works on (which is why it allocates
// nothing). In a profile of the serial closed success, the swap is about
// 40% of the time and the pool about 25%: Execute's work is the rest.
func BenchmarkAllow(b *testing.B) {
	modes(b, "state=closed/outcome=success", func(b *testing.B, parallel bool) {
		br := newBreaker(b)
		b.ReportAllocs()
		if !parallel {
			for b.Loop() {
				p, _ := br.Allow()
				p.Done(1, nil)
			}
			return
		}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				p, _ := br.Allow()
				p.Done(1, nil)
			}
		})
	})
	modes(b, "state=closed/outcome=released", func(b *testing.B, parallel bool) {
		br := newBreaker(b)
		b.ReportAllocs()
		if !parallel {
			for b.Loop() {
				p, _ := br.Allow()
				p.Release()
			}
			return
		}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				p, _ := br.Allow()
				p.Release()
			}
		})
	})
}
