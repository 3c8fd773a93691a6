package console_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/console"
)

// BenchmarkExecute measures a service's calls with no console and with a
// console over a thousand circuits that fifty open pages stream from, at
// the default interval. The calls should not tell the difference: the
// console reads each circuit's Metrics once per interval, whatever the
// number of pages, and nothing of it is on the call's path.
func BenchmarkExecute(b *testing.B) {
	for _, pages := range []int{0, 50} {
		name := "console=none"
		if pages > 0 {
			name = "console=1000circuits,50pages"
		}
		b.Run(name, func(b *testing.B) {
			reg := new(breaker.Registry)
			var hot *breaker.Breaker[int]
			for i := range 1000 {
				cb, err := breaker.New(breaker.Config[int]{Name: "c" + strconv.Itoa(i), CountCalls: true})
				if err != nil {
					b.Fatal(err)
				}
				if err := reg.Add(cb); err != nil {
					b.Fatal(err)
				}
				if i == 0 {
					hot = cb
				}
			}
			if pages > 0 {
				stop := streams(b, reg, pages)
				defer stop()
			}
			ctx := context.Background()
			ok := func(context.Context) (int, error) { return 1, nil }
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, _ = hot.Execute(ctx, ok)
				}
			})
		})
	}
}

// streams opens n streams of a console over reg, and waits until each has
// had its first counts.
func streams(b *testing.B, reg *breaker.Registry, n int) (stop func()) {
	c, err := console.New(reg, console.Options{})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(c)
	ctx, cancel := context.WithCancel(context.Background())
	var wg, ready sync.WaitGroup
	for range n {
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/events", nil)
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				ready.Done()
				return
			}
			defer r.Body.Close()
			sc := bufio.NewScanner(r.Body)
			sc.Buffer(nil, 4<<20)
			first := true
			for sc.Scan() {
				if first && sc.Text() == "event: counts" {
					first = false
					ready.Done()
				}
			}
			if first {
				ready.Done()
			}
		}()
	}
	ready.Wait()
	return func() {
		cancel()
		c.Close()
		wg.Wait()
		srv.Close()
	}
}
