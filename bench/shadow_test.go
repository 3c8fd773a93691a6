package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// BenchmarkShadows measures what shadow candidates cost a call: with none
// a breaker takes its usual paths (BenchmarkExecute's); with some, every
// call is admitted, timed where a candidate needs it, and offered to each
// candidate. shadow-only is a breaker whose own policy rejects nothing,
// with no candidate: its closed calls take the usual path.
//
// The candidates' Rate over 10 s needs the time of a call only to within
// a quarter of a bucket, which they take from a coarse clock; over=500ms
// is too fine for one, and the call reads the clock once as it ends for
// all its candidates.
func BenchmarkShadows(b *testing.B) {
	build := func(b *testing.B, n int, only bool, over time.Duration) *breaker.Breaker[int] {
		cfg := breaker.Config[int]{ShadowOnly: only}
		for i := range n {
			cfg.Shadows = append(cfg.Shadows, breaker.Shadow{Name: fmt.Sprint(i),
				Settings: breaker.Settings{Policy: policy.Rate(0.5, 20, over)}})
		}
		br, err := breaker.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		return br
	}
	for _, n := range []int{0, 1, 3} {
		modes(b, fmt.Sprintf("shadows=%d/state=closed/outcome=success", n), func(b *testing.B, parallel bool) {
			executeOK(b, build(b, n, false, 10*time.Second), parallel)
		})
	}
	modes(b, "shadows=3/over=500ms/state=closed/outcome=success", func(b *testing.B, parallel bool) {
		executeOK(b, build(b, 3, false, 500*time.Millisecond), parallel)
	})
	modes(b, "shadow-only/state=closed/outcome=success", func(b *testing.B, parallel bool) {
		executeOK(b, build(b, 0, true, 0), parallel)
	})
}
