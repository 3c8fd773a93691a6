package bench

import (
	"context"
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

// BenchmarkGroupExecuteComparing measures a successful call through a group
// of 100 keys with the group's options that compare keys: none, outlier
// detection (which turns on CountCalls, and costs Get one atomic load with
// real time), a cap on open keys (which wraps each key's policy, so that a
// success goes through Record as with any policy but the default), and
// both.
func BenchmarkGroupExecuteComparing(b *testing.B) {
	for _, opt := range []struct {
		name string
		set  func(*group.Config[string, int])
	}{
		{"none", func(*group.Config[string, int]) {}},
		{"detect", func(c *group.Config[string, int]) {
			c.Outliers = &group.Outliers{SuccessRate: &group.SuccessRateTest{}}
		}},
		{"cap", func(c *group.Config[string, int]) { c.MaxOpenShare = 0.5 }},
		{"detect+cap", func(c *group.Config[string, int]) {
			c.Outliers = &group.Outliers{SuccessRate: &group.SuccessRateTest{}}
			c.MaxOpenShare = 0.5
		}},
	} {
		newG := func(b *testing.B) (*group.Group[string, int], []string) {
			cfg := group.Config[string, int]{New: func(string) breaker.Config[int] { return breaker.Config[int]{} }}
			opt.set(&cfg)
			g, err := group.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			keys := make([]string, 100)
			for i := range keys {
				keys[i] = "host-" + strconv.Itoa(i)
				if _, err := g.Get(keys[i]); err != nil {
					b.Fatal(err)
				}
			}
			for range g.All() {
			}
			return g, keys
		}
		ok := func(context.Context) (int, error) { return 1, nil }
		b.Run("options="+opt.name+"/mode=serial", func(b *testing.B) {
			g, ks := newG(b)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				g.Execute(ctx, ks[i%len(ks)], ok)
				i++
			}
		})
		b.Run("options="+opt.name+"/mode=parallel", func(b *testing.B) {
			g, ks := newG(b)
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					g.Execute(ctx, ks[i%len(ks)], ok)
					i++
				}
			})
		})
	}
}
