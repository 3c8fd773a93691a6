package bench

import (
	"context"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
)

// BenchmarkMetrics measures what Config.CountCalls costs on the hot paths,
// with metrics=off as the baseline beside each metrics=on, and what a
// snapshot costs. As in BenchmarkExecute, the loops are written out.
func BenchmarkMetrics(b *testing.B) {
	ctx := context.Background()
	for _, on := range []bool{false, true} {
		name := "metrics=off"
		if on {
			name = "metrics=on"
		}
		newB := func(b *testing.B) *breaker.Breaker[int] {
			br, err := breaker.New(breaker.Config[int]{CountCalls: on})
			if err != nil {
				b.Fatal(err)
			}
			return br
		}
		b.Run("op=execute/state=closed/outcome=success/"+name+"/mode=serial", func(b *testing.B) {
			br := newB(b)
			b.ReportAllocs()
			for b.Loop() {
				br.Execute(ctx, ok)
			}
		})
		b.Run("op=execute/state=closed/outcome=success/"+name+"/mode=parallel", func(b *testing.B) {
			br := newB(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					br.Execute(ctx, ok)
				}
			})
		})
		b.Run("op=execute/state=open/"+name+"/mode=serial", func(b *testing.B) {
			br := newB(b)
			br.Trip()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := br.Execute(ctx, ok); err == nil {
					b.Fatal("an open breaker ran a call")
				}
			}
		})
		b.Run("op=execute/state=open/"+name+"/mode=parallel", func(b *testing.B) {
			br := newB(b)
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
		b.Run("op=snapshot/"+name+"/mode=serial", func(b *testing.B) {
			br := newB(b)
			b.ReportAllocs()
			for b.Loop() {
				br.Metrics()
			}
		})
		b.Run("op=snapshot/"+name+"/mode=parallel", func(b *testing.B) {
			br := newB(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					br.Metrics()
				}
			})
		})
	}
}
