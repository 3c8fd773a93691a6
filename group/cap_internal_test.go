package group

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// A key's policy is reset with no lock of the breaker held, and a Trip may
// land meanwhile (the last action wins: the Trip stands). The group read
// the state before the Trip, and the Trip's transition took the key a
// place; the group then gave that place back, as for a trip that never
// opened the key: the key stayed open without a place, and another opened
// beyond the cap.
func TestCapPlaceOfAKeyTrippedDuringItsPolicyResetIsKept(t *testing.T) {
	g, err := New(Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Minute}
		},
		MaxOpenShare: 0.5,
		Clock:        epochs.Mock(epochs.Today),
	})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := g.Get("a")
	b, _ := g.Get("b")
	g.cap.afterStateRead = func() {
		g.cap.afterStateRead = nil
		a.Trip()
	}
	a.Reset() // a closed circuit's Reset resets its policy; a Trip lands meanwhile
	if st := a.State(); st != breaker.Open {
		t.Fatalf("a is %v, want open (the Trip came last)", st)
	}
	b.Trip()
	if sa, sb := a.State(), b.State(); sa != breaker.Closed && sb != breaker.Closed {
		t.Fatalf("a is %v and b is %v: both open, the cap allows one", sa, sb)
	}
	if open, _ := g.OpenLimit(); open != 1 {
		t.Fatalf("the cap counts %d keys open, the breakers 1", open)
	}
}

// stallingPolicy asks to trip at every failure, once let go: its Record
// tells entered that it runs, and waits for release.
type stallingPolicy struct{ entered, release chan struct{} }

func (p *stallingPolicy) Record(c policy.Call) bool {
	if !c.Failed {
		return false
	}
	p.entered <- struct{}{}
	<-p.release
	return true
}

func (p *stallingPolicy) Reset() {}

// The same race where a policy trip the cap let through finds the circuit
// disabled and gives its place back: a Trip that lands between its look
// and the give (it ends the Disable and opens the key) kept no place.
func TestCapPlaceOfAKeyTrippedAfterADisabledTripIsKept(t *testing.T) {
	p := &stallingPolicy{entered: make(chan struct{}), release: make(chan struct{})}
	g, err := New(Config[string, int]{
		New: func(key string) breaker.Config[int] {
			if key == "a" {
				return breaker.Config[int]{Policy: p}
			}
			return breaker.Config[int]{}
		},
		MaxOpenShare: 0.5,
		Clock:        epochs.Mock(epochs.Today),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := g.Get("b")
	a, _ := g.Get("a")
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("down") })
	}()
	<-p.entered // the trip will be asked for
	a.Disable()
	g.cap.afterStateRead = func() {
		g.cap.afterStateRead = nil
		a.Trip()
	}
	close(p.release)
	<-done
	if st := a.State(); st != breaker.Open {
		t.Fatalf("a is %v, want open (the Trip came last)", st)
	}
	b.Trip()
	if sa, sb := a.State(), b.State(); sa != breaker.Closed && sb != breaker.Closed {
		t.Fatalf("a is %v and b is %v: both open, the cap allows one", sa, sb)
	}
}

// The group checked that evicting an idle key would leave no more keys
// open than the cap of one key fewer allows, then counted the key out in a
// second step: a trip of another key that took a place in between (its
// policy asks the cap with no lock of the group's held) was let through
// by the limit of one key more, and the eviction then lowered the limit
// below the places held.
func TestCapEvictionRacesATripBetweenCheckAndCountOut(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	g, err := New(Config[string, int]{
		New: func(k string) breaker.Config[int] {
			// The n keys end periods: shadow-only, they are no keys of
			// the cap, so the cap's count is of a, b, c and d alone.
			return breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Hour, ShadowOnly: strings.HasPrefix(k, "n")}
		},
		IdleAfter:    time.Minute,
		MaxOpenShare: 0.5,
		Clock:        clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func(k string) *breaker.Breaker[int] {
		b, err := g.Get(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		get(k)
	}
	get("a").Trip() // 1 place of 2 (half of 4 keys)
	g.mu.Lock()
	c := g.all["c"]
	g.mu.Unlock()
	clk.Add(time.Minute)
	get("n1") // a new key ends the period
	// b stays idle.
	for _, k := range []string{"a", "c", "d"} {
		get(k)
	}
	g.cap.beforeEvict = func() {
		g.cap.beforeEvict = nil
		// c's policy trips now and asks the cap, as allowTrip does, with
		// no lock of the group's held: 2 places of 2.
		g.cap.mu.Lock()
		g.cap.takeLocked(&c.mark)
		g.cap.mu.Unlock()
	}
	clk.Add(time.Minute)
	get("n2") // ends the period: b may be evicted, if the cap of 3 keys allows
	if open, limit := g.OpenLimit(); open > limit {
		t.Fatalf("the cap holds %d places, its limit is %d", open, limit)
	}
}
