package group_test

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// stallingPolicy asks to trip at every failure, once let go: its Record
// tells entered that it runs, and waits for release.
type stallingPolicy struct {
	entered, release chan struct{}
}

func (p *stallingPolicy) Record(c policy.Call) bool {
	if !c.Failed {
		return false
	}
	p.entered <- struct{}{}
	<-p.release
	return true
}

func (p *stallingPolicy) Reset() {}

func stalledGroup(t *testing.T) (*group.Group[string, int], *stallingPolicy) {
	t.Helper()
	p := &stallingPolicy{entered: make(chan struct{}), release: make(chan struct{})}
	g, err := group.New(group.Config[string, int]{
		New: func(key string) breaker.Config[int] {
			if key == "a" {
				return breaker.Config[int]{Policy: p}
			}
			return breaker.Config[int]{}
		},
		Clock:        epochs.Mock(epochs.Today),
		MaxOpenShare: 0.5,
	})
	if err != nil {
		t.Fatal(err)
	}
	mustGet(t, g, "b")
	return g, p
}

// A trip the cap let through, racing with a Disable that mutes the circuit
// before the trip lands, never opens it: the place it took must come back,
// or the cap counts an open key that is not there, for as long as the key
// stays disabled.
func TestCapPlaceOfATripLostToDisableComesBack(t *testing.T) {
	g, p := stalledGroup(t)
	b := mustGet(t, g, "a")
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDown })
	}()
	<-p.entered // Record passed its check: the trip will be asked for
	b.Disable() // delivered before the trip takes its place
	close(p.release)
	<-done
	if st := b.State(); st != breaker.Closed {
		t.Fatalf("a is %v", st)
	}
	if open, _ := g.OpenLimit(); open != 0 {
		t.Fatalf("the cap counts %d keys open; none is", open)
	}
}

// The same with a Reset: it waits for the Record, then resets the policy
// of a closed circuit, and the place comes back then.
func TestCapPlaceOfATripLostToResetComesBack(t *testing.T) {
	g, p := stalledGroup(t)
	b := mustGet(t, g, "a")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDown })
	}()
	<-p.entered
	go func() {
		defer wg.Done()
		b.Reset() // fences the word, then waits for the Record
	}()
	// Let the Reset fence the circuit first: nothing outside tells when
	// it has, so give it turns, and check what either order must give.
	for range 100 {
		runtime.Gosched()
	}
	close(p.release)
	wg.Wait()
	open, _ := g.OpenLimit()
	keys, actual := countOpen(g)
	if open != actual {
		t.Fatalf("the cap counts %d keys open, the breakers say %d of %d", open, actual, keys)
	}
}
