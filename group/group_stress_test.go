package group_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
)

// Trips through held references race with sweeps: once everything stops,
// every key whose breaker was seen open has an open breaker in the group.
func TestEvictionRacingTripsForgetsNoOpenCircuit(t *testing.T) {
	g, clk, _ := newGroup(t, epochs.Today, 0, time.Second)
	const workers, keys, rounds = 4, 64, 150
	handed := make([][]*breaker.Breaker[int], workers)
	for r := range rounds {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := mustGet(t, g, fmt.Sprint((r*37+w*11)%keys))
				handed[w] = append(handed[w], b)
				if n := len(handed[w]); n > 8 && r%2 == 0 {
					handed[w][n-8].Trip() // held a while: evicted, or about to be
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			clk.Add(time.Second)
			mustGet(t, g, fmt.Sprint("sweep-", r)) // ends a period: a sweep
		}()
		wg.Wait()
	}

	held := map[string]*breaker.Breaker[int]{}
	for k, b := range g.All() {
		held[k] = b
	}
	for _, bs := range handed {
		for _, b := range bs {
			k := b.Name()
			if b.State() == breaker.Open && (held[k] == nil || held[k].State() != breaker.Open) {
				t.Fatalf("key %s: a breaker handed out is open, the group holds %v", k, held[k])
			}
		}
	}
}
