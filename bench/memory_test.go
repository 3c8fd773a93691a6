package bench

import (
	"strconv"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/policy"
)

// configs are the breakers whose memory BenchmarkNew and
// BenchmarkGroupNewKey report: the default, counting calls, and the
// windowed policies with and without counting.
var configs = []struct {
	name string
	make func() breaker.Config[int]
}{
	{"default", func() breaker.Config[int] { return breaker.Config[int]{} }},
	{"countcalls", func() breaker.Config[int] { return breaker.Config[int]{CountCalls: true} }},
	{"rate", func() breaker.Config[int] {
		return breaker.Config[int]{Policy: policy.Rate(0.5, 20, 10*time.Second)}
	}},
	{"rate+countcalls", func() breaker.Config[int] {
		return breaker.Config[int]{Policy: policy.Rate(0.5, 20, 10*time.Second), CountCalls: true}
	}},
	{"window", func() breaker.Config[int] {
		return breaker.Config[int]{Policy: policy.Window(5, 10*time.Second)}
	}},
	{"lastn", func() breaker.Config[int] {
		return breaker.Config[int]{Policy: policy.LastN(0.5, 20, 100)}
	}},
}

// BenchmarkNew reports, as B/op, the memory of one breaker of each
// configuration, its policy included: the striped counters grow with
// GOMAXPROCS up to their bound, so run it with -cpu=1,2,4,8 to see
// them do so.
func BenchmarkNew(b *testing.B) {
	for _, c := range configs {
		b.Run("config="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := breaker.New(c.make()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGroupNewKey reports, as B/op, the memory a group takes for
// each new key: the key's breaker and the group's own entry for it
// (keys are made before the loop, so they are not counted).
func BenchmarkGroupNewKey(b *testing.B) {
	for _, c := range configs {
		b.Run("config="+c.name, func(b *testing.B) {
			keys := make([]string, group.DefaultMaxBreakers)
			for i := range keys {
				keys[i] = "host-" + strconv.Itoa(i)
			}
			var g *group.Group[string, int]
			fresh := func() {
				var err error
				g, err = group.New(group.Config[string, int]{New: func(string) breaker.Config[int] { return c.make() }})
				if err != nil {
					b.Fatal(err)
				}
			}
			fresh()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == len(keys) {
					// A full group would evict: start another, outside
					// the timing.
					b.StopTimer()
					fresh()
					i = 0
					b.StartTimer()
				}
				if _, err := g.Get(keys[i]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
