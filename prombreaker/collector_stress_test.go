package prombreaker_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/prombreaker"
)

// Scrapes run while breakers are added, groups grow and circuits change,
// some names colliding: every scrape succeeds.
func TestScrapeDuringChanges(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := mustCollector(t, prombreaker.Opts{})
	reg.MustRegister(c)
	g, err := group.New(group.Config[int, int]{
		New:         func(int) breaker.Config[int] { return breaker.Config[int]{CountCalls: true} },
		MaxBreakers: 32,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.AddGroup(g)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				// Names 0..49 collide with the group's keys now and then.
				c.Add(newBreaker(t, breaker.Config[int]{Name: fmt.Sprint(w*1000 + i%60)}))
				b, err := g.Get(i % 50)
				if err == nil && i%3 == 0 {
					b.Trip()
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := reg.Gather(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
