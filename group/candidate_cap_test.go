package group_test

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// A key's shadow candidate that opens rejects nothing: it must not take a
// place under the cap, which would keep a key that really trips closed.
func TestCapIgnoresShadowCandidates(t *testing.T) {
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{
				Policy: policy.Consecutive(2), OpenTimeout: time.Minute,
				Shadows: []breaker.Shadow{{Name: "quick", Settings: breaker.Settings{Policy: policy.Consecutive(1)}}},
			}
		},
		MaxOpenShare: 0.5,
		Clock:        epochs.Mock(epochs.Today),
	})
	if err != nil {
		t.Fatal(err)
	}
	mustGet(t, g, "h0")
	mustGet(t, g, "h1")
	fail(g, "h0") // h0's candidate opens; h0 stays closed
	fail(g, "h1")
	fail(g, "h1") // h1 trips: the one key the cap lets open
	b, _ := g.Get("h1")
	if b.State() != breaker.Open {
		t.Fatalf("h1 is %v, want open: the cap counted h0's shadow candidate as open (kept closed: %v)", b.State(), g.KeptClosed())
	}
}
