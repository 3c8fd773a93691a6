package group_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
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

// OnCreate and OnEvict stay balanced under concurrent Gets, evictions and
// trips (which take evicted breakers back): each breaker the group holds at
// the end was passed to OnCreate once more than to OnEvict, each one it
// does not hold as often to both, and never twice in a row to either.
func TestOnCreateAndOnEvictBalance(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	var mu sync.Mutex
	balance := map[*breaker.Breaker[int]]int{}
	note := func(d int) func(string, *breaker.Breaker[int]) {
		return func(_ string, b *breaker.Breaker[int]) {
			mu.Lock()
			balance[b] += d
			if n := balance[b]; n < 0 || n > 1 {
				t.Errorf("breaker %s: %d more creates than evicts", b.Name(), n)
			}
			mu.Unlock()
		}
	}
	g, err := group.New(group.Config[string, int]{
		New:         func(string) breaker.Config[int] { return breaker.Config[int]{Policy: policy.Consecutive(1)} },
		MaxBreakers: 16, IdleAfter: time.Second, Clock: clk,
		OnCreate: note(+1), OnEvict: note(-1),
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var held []*breaker.Breaker[int]
			for i := range 300 {
				b, err := g.Get(fmt.Sprint((i*13 + w) % 40))
				if err != nil {
					continue // full of open circuits for a moment
				}
				held = append(held, b)
				if i%7 == 0 {
					held[len(held)/2].Trip()
				}
				if i%50 == 0 {
					clk.Add(time.Second)
				}
			}
		}()
	}
	wg.Wait()
	holds := map[*breaker.Breaker[int]]bool{}
	for _, b := range g.All() {
		holds[b] = true
	}
	mu.Lock()
	defer mu.Unlock()
	for b, n := range balance {
		if want := map[bool]int{true: 1, false: 0}[holds[b]]; n != want {
			t.Errorf("breaker %s: held %v, creates minus evicts %d", b.Name(), holds[b], n)
		}
	}
	for b := range holds {
		if _, ok := balance[b]; !ok {
			t.Errorf("breaker %s held but never passed to OnCreate", b.Name())
		}
	}
}
