package group

import (
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
	g.cap.afterResetRead = func() {
		g.cap.afterResetRead = nil
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
