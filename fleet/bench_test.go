package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
)

// hotBreaker returns a breaker on the real clock, open (for an hour) or
// closed, with a coordinator attached when shared.
func hotBreaker(tb testing.TB, open, shared bool) *breaker.Breaker[int] {
	tb.Helper()
	b, err := breaker.New(breaker.Config[int]{Name: "dep", OpenTimeout: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	if shared {
		co, err := fleet.New(fleet.Config{Store: fleet.NewMemory(nil), Instance: "bench"})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = co.Close() })
		if _, err := co.Attach(b); err != nil {
			tb.Fatal(err)
		}
		fleet.Drain(co)
	}
	if open {
		b.Trip()
	}
	return b
}

func ok(context.Context) (int, error) { return 1, nil }

// BenchmarkExecute compares the hot paths of a breaker with a coordinator
// attached and without: a closed success and an open rejection. The
// coordinator is on neither path, so the two should not differ.
func BenchmarkExecute(b *testing.B) {
	ctx := context.Background()
	for _, state := range []string{"closed", "open"} {
		for _, shared := range []bool{false, true} {
			name := "state=" + state + "/fleet=" + map[bool]string{false: "off", true: "on"}[shared]
			b.Run(name, func(b *testing.B) {
				br := hotBreaker(b, state == "open", shared)
				b.ReportAllocs()
				for b.Loop() {
					_, _ = br.Execute(ctx, ok)
				}
			})
			b.Run(name+"/parallel", func(b *testing.B) {
				br := hotBreaker(b, state == "open", shared)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						_, _ = br.Execute(ctx, ok)
					}
				})
			})
		}
	}
}

// TestHotPathAllocatesNothing: with a coordinator attached, a closed
// success and an open rejection allocate nothing.
func TestHotPathAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	for _, open := range []bool{false, true} {
		br := hotBreaker(t, open, true)
		_, _ = br.Execute(ctx, ok) // the rejection error is built once per period
		if n := testing.AllocsPerRun(1000, func() { _, _ = br.Execute(ctx, ok) }); n != 0 {
			t.Errorf("open=%v: %v allocations per call with a coordinator attached", open, n)
		}
	}
}
