package bench

import (
	"strconv"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
)

// BenchmarkGroupGet measures Group.Get of keys that exist: the path every
// call through a group takes.
func BenchmarkGroupGet(b *testing.B) {
	for _, n := range []int{1, 1000} {
		newG := func(b *testing.B) (*group.Group[string, int], []string) {
			g, err := group.New(group.Config[string, int]{
				New: func(string) breaker.Config[int] { return breaker.Config[int]{} },
			})
			if err != nil {
				b.Fatal(err)
			}
			keys := make([]string, n)
			for i := range keys {
				keys[i] = "host-" + strconv.Itoa(i)
				if _, err := g.Get(keys[i]); err != nil {
					b.Fatal(err)
				}
			}
			// Get reads a snapshot that lags behind new keys until enough
			// Gets have missed it; All brings it up to date, so that every
			// Get measured below takes the lock-free path.
			for range g.All() {
			}
			return g, keys
		}
		keys := "keys=" + strconv.Itoa(n)
		b.Run(keys+"/mode=serial", func(b *testing.B) {
			g, ks := newG(b)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				g.Get(ks[i%len(ks)])
				i++
			}
		})
		b.Run(keys+"/mode=parallel", func(b *testing.B) {
			g, ks := newG(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					g.Get(ks[i%len(ks)])
					i++
				}
			})
		})
	}
}
