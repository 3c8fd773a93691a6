package bench

import (
	"context"
	"errors"
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
// and load on a counter alone on its cache line.
var floor struct {
	_ [64]byte
	n atomic.Int64
	_ [56]byte
}

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
}

func newBreaker(b *testing.B) *breaker.Breaker[int] {
	br, err := breaker.New(breaker.Config[int]{})
	if err != nil {
		b.Fatal(err)
	}
	return br
}

// The loops below are written out rather than shared through a closure:
// an extra indirect call per iteration would be charged to the breaker,
// while the floor above pays for none.

func BenchmarkExecute(b *testing.B) {
	ctx := context.Background()
	b.Run("state=closed/outcome=success/mode=serial", func(b *testing.B) {
		br := newBreaker(b)
		b.ReportAllocs()
		for b.Loop() {
			br.Execute(ctx, ok)
		}
	})
	b.Run("state=closed/outcome=success/mode=parallel", func(b *testing.B) {
		br := newBreaker(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				br.Execute(ctx, ok)
			}
		})
	})
	// One call in ten fails: even two goroutines cannot string five
	// failures together, so the default Consecutive(5) never trips, and the
	// failures pay for the policy's shared writes.
	b.Run("state=closed/outcome=failure/mode=serial", func(b *testing.B) {
		br := newBreaker(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i++; i%10 == 0 {
				br.Execute(ctx, fail)
			} else {
				br.Execute(ctx, ok)
			}
		}
	})
	b.Run("state=closed/outcome=failure/mode=parallel", func(b *testing.B) {
		br := newBreaker(b)
		b.ReportAllocs()
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
	})
	b.Run("state=open/mode=serial", func(b *testing.B) {
		br := newBreaker(b)
		br.Trip()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := br.Execute(ctx, ok); err == nil {
				b.Fatal("an open breaker ran a call")
			}
		}
	})
	b.Run("state=open/mode=parallel", func(b *testing.B) {
		br := newBreaker(b)
		br.Trip()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := br.Execute(ctx, ok); err == nil {
					panic("an open breaker ran a call")
				}
			}
		})
	})
}
