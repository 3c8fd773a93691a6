package bench

import (
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
)

// BenchmarkMetrics measures what Config.CountCalls costs on the hot paths,
// with metrics=off as the baseline beside each metrics=on, and what a
// snapshot costs. Its execute loops are BenchmarkExecute's.
func BenchmarkMetrics(b *testing.B) {
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
		modes(b, "op=execute/state=closed/outcome=success/"+name, func(b *testing.B, parallel bool) {
			executeOK(b, newB(b), parallel)
		})
		modes(b, "op=execute/state=open/"+name, func(b *testing.B, parallel bool) {
			executeRejected(b, newB(b), parallel)
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
