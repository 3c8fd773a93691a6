package group_test

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// The group reads a breaker's state, then evicts it, while calls through
// held references go on: a circuit that opened in between (or just after)
// was forgotten, and the next Get of its key built a closed breaker that
// sent calls to the failing dependency again. Now the group takes the open
// breaker back.
func TestBreakerThatOpensAroundEvictionIsKept(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		g, clk, _ := newGroup(t, start, 0, time.Minute)
		held := mustGet(t, g, "a") // a caller keeps it, as the Group doc allows
		clk.Add(time.Minute)
		mustGet(t, g, "b") // first period ends; a was used in it
		clk.Add(time.Minute)
		mustGet(t, g, "c") // a idle for a period, closed: evicted
		if slices.Contains(keys(g), "a") {
			t.Fatalf("keys %v: a should have been evicted", keys(g))
		}
		held.Trip() // the held breaker opens after the group looked
		if got := mustGet(t, g, "a"); got != held || got.State() != breaker.Open {
			t.Fatalf("Get(a) = a %v breaker, the held one: %v; want the open one back", got.State(), got == held)
		}

		// A newer, closed breaker of the key gives way to the open one.
		clk.Add(time.Minute)
		mustGet(t, g, "d")
		clk.Add(time.Minute)
		mustGet(t, g, "e") // b, c and d go; a is open
		heldB := mustGet(t, g, "b")
		clk.Add(time.Minute)
		mustGet(t, g, "f")
		clk.Add(time.Minute)
		mustGet(t, g, "g") // heldB evicted
		newer := mustGet(t, g, "b")
		if newer == heldB {
			t.Fatal("b was not evicted")
		}
		heldB.Trip()
		if got := mustGet(t, g, "b"); got != heldB {
			t.Fatal("the open evicted breaker did not replace the newer closed one")
		}
	})
}

// ErrFull's doc said "every breaker is open" while the group also refused
// to evict half-open circuits with probes in flight. Those are kept on
// purpose (evicting one would send every call to a dependency still being
// probed), so the doc and the error now say so, and a half-open circuit
// with no probe in flight is evicted.
func TestErrFullWhenEveryBreakerIsOpenOrProbing(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		g, clk, _ := newGroup(t, start, 2, time.Minute)
		open := mustGet(t, g, "open")
		open.Trip()
		probing := mustGet(t, g, "probing")
		probing.Trip()
		clk.Add(time.Hour) // both half-open
		open.Trip()        // open again
		p, err := probing.Allow()
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.Get("new")
		if !errors.Is(err, group.ErrFull) || !strings.Contains(err.Error(), "open or probing") {
			t.Fatalf("Get on a group of an open and a probing circuit: %v, want ErrFull saying so", err)
		}
		p.Done(0, errDown) // the probe fails: open again
		clk.Add(time.Hour) // half-open, no probe in flight: evictable
		mustGet(t, g, "new")
		if ks := keys(g); slices.Contains(ks, "probing") && slices.Contains(ks, "open") {
			t.Fatalf("keys %v: a half-open circuit with no probe in flight should make room", ks)
		}
	})
}

// OnCreate sees every breaker the group keeps, OnEvict every one it
// forgets, in order, so that a coordinator can attach and detach.
func TestOnCreateAndOnEvict(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	var mu sync.Mutex
	var log []string
	note := func(what string) func(string, *breaker.Breaker[int]) {
		return func(k string, b *breaker.Breaker[int]) {
			if b.Name() != k {
				t.Errorf("%s(%q) with breaker %q", what, k, b.Name())
			}
			mu.Lock()
			log = append(log, what+" "+k)
			mu.Unlock()
		}
	}
	g, err := group.New(group.Config[string, int]{
		New:       func(string) breaker.Config[int] { return breaker.Config[int]{Policy: policy.Consecutive(1)} },
		IdleAfter: time.Minute,
		Clock:     clk,
		OnCreate:  note("create"),
		OnEvict:   note("evict"),
	})
	if err != nil {
		t.Fatal(err)
	}
	a := mustGet(t, g, "a")
	mustGet(t, g, "a")
	clk.Add(time.Minute)
	mustGet(t, g, "b")
	clk.Add(time.Minute)
	mustGet(t, g, "c") // evicts a
	a.Trip()           // taken back
	want := []string{"create a", "create b", "evict a", "create c", "create a"}
	if !slices.Equal(log, want) {
		t.Fatalf("calls %q, want %q", log, want)
	}
}

// TestPanicInLastCallbackStopsDelivery: when OnCreate or OnEvict panicked
// on the last queued event, the group's delivering flag stayed set, and no
// callback ever ran again: fleet.GroupHooks stopped attaching breakers (a
// duplicate Prometheus registration in an OnCreate is enough).
func TestPanicInLastCallbackStopsDelivery(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	var created, evicted []string
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] { return breaker.Config[int]{Policy: policy.Consecutive(1)} },
		OnCreate: func(k string, _ *breaker.Breaker[int]) {
			created = append(created, k)
			if k == "boom" {
				panic("OnCreate of boom")
			}
		},
		OnEvict: func(k string, _ *breaker.Breaker[int]) {
			evicted = append(evicted, k)
			if k == "a" {
				panic("OnEvict of a")
			}
		},
		IdleAfter: time.Minute,
		Clock:     clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	getPanics := func(key string, want any) *breaker.Breaker[int] {
		t.Helper()
		var b *breaker.Breaker[int]
		v := func() (v any) {
			defer func() { v = recover() }()
			b, _ = g.Get(key)
			return nil
		}()
		if v != want {
			t.Fatalf("Get(%q) panicked with %v, want %v", key, v, want)
		}
		return b
	}
	getPanics("boom", "OnCreate of boom") // the last event panics
	if b := mustGet(t, g, "boom"); b == nil {
		t.Fatal("no breaker for boom")
	}
	mustGet(t, g, "a")
	if want := []string{"boom", "a"}; !slices.Equal(created, want) {
		t.Fatalf("OnCreate calls %q after a panic on the last event, want %q", created, want)
	}
	clk.Add(time.Minute)
	mustGet(t, g, "b") // ends the first period; nothing idle yet
	clk.Add(time.Minute)
	getPanics("c", "OnEvict of a") // evicts boom and a, then creates c
	mustGet(t, g, "d")
	slices.Sort(evicted)
	if want := []string{"boom", "a", "b", "c", "d"}; !slices.Equal(created, want) || !slices.Equal(evicted, []string{"a", "boom"}) {
		t.Fatalf("after a panic in OnEvict: OnCreate calls %q, want %q; OnEvict calls %q", created, want, evicted)
	}
}

// TestGetReturnsBeforeOnCreate: a Get that found another goroutine running
// a callback queued the OnCreate of its new breaker and returned at once,
// against the doc of OnCreate; with fleet.GroupHooks the breaker was used,
// and could trip, before it was attached. A Get of a key whose OnCreate had
// not run yet returned its breaker at once too. Now both wait for it.
func TestGetReturnsBeforeOnCreate(t *testing.T) {
	var (
		mu      sync.Mutex
		created = map[string]bool{}
	)
	inSlow, release := make(chan struct{}), make(chan struct{})
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] { return breaker.Config[int]{Policy: policy.Consecutive(1)} },
		OnCreate: func(k string, _ *breaker.Breaker[int]) {
			if k == "slow" {
				close(inSlow)
				<-release
			}
			mu.Lock()
			created[k] = true
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	wasCreated := func(k string) bool {
		mu.Lock()
		defer mu.Unlock()
		return created[k]
	}
	go g.Get("slow") // delivers, and waits in OnCreate
	<-inSlow
	type got struct {
		key     string
		created bool
	}
	results := make(chan got, 2)
	for _, k := range []string{"fast", "slow"} {
		go func() {
			if _, err := g.Get(k); err != nil {
				t.Errorf("Get(%q): %v", k, err)
			}
			results <- got{k, wasCreated(k)}
		}()
	}
	// Let both Gets get as far as they go before OnCreate of slow returns:
	// "fast" is in the group, and they have had time to return.
	for g.Len() < 2 {
		runtime.Gosched()
	}
	for range 1000 {
		runtime.Gosched()
	}
	close(release)
	for range 2 {
		if r := <-results; !r.created {
			t.Errorf("Get(%q) returned before OnCreate of its breaker ran", r.key)
		}
	}
}

// A Get made from inside OnCreate, on the goroutine delivering, cannot
// wait for the delivery it is part of: it returns, and the OnCreate of its
// breaker runs right after the current one, before the outer Get returns.
func TestGetFromInsideOnCreate(t *testing.T) {
	var g *group.Group[string, int]
	var log []string
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] { return breaker.Config[int]{Policy: policy.Consecutive(1)} },
		OnCreate: func(k string, _ *breaker.Breaker[int]) {
			log = append(log, "create "+k)
			if k == "outer" {
				mustGet(t, g, "inner")
				mustGet(t, g, "outer")
				log = append(log, "got inner")
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mustGet(t, g, "outer")
	if want := []string{"create outer", "got inner", "create inner"}; !slices.Equal(log, want) {
		t.Fatalf("calls %q, want %q", log, want)
	}
}
