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
func BenchmarkShadows(b *testing.B) {
	build := func(b *testing.B, n int, only bool) *breaker.Breaker[int] {
		cfg := breaker.Config[int]{ShadowOnly: only}
		for i := range n {
			cfg.Shadows = append(cfg.Shadows, breaker.Shadow{Name: fmt.Sprint(i),
				Settings: breaker.Settings{Policy: policy.Rate(0.5, 20, 10*time.Second)}})
		}
		br, err := breaker.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		return br
	}
	for _, n := range []int{0, 1, 3} {
		modes(b, fmt.Sprintf("shadows=%d/state=closed/outcome=success", n), func(b *testing.B, parallel bool) {
			executeOK(b, build(b, n, false), parallel)
		})
	}
	modes(b, "shadow-only/state=closed/outcome=success", func(b *testing.B, parallel bool) {
		executeOK(b, build(b, 0, true), parallel)
	})
}
