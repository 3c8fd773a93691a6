package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// TestGroupHooks: the breakers a group builds are shared key by key; one
// key's fleet outage opens that key's breaker on another instance only.
func TestGroupHooks(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	e.cfg.Quorum = 1
	newGroup := func(instance string) (*group.Group[string, int], *fleet.Coordinator) {
		cfg := e.cfg
		cfg.Instance, cfg.Store = instance, e.store
		co, err := fleet.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = co.Close() })
		onCreate, onEvict := fleet.GroupHooks[string, int](co)
		g, err := group.New(group.Config[string, int]{
			New: func(string) breaker.Config[int] {
				return breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: 30 * time.Second, Clock: e.clk}
			},
			OnCreate: onCreate, OnEvict: onEvict, Clock: e.clk,
		})
		if err != nil {
			t.Fatal(err)
		}
		return g, co
	}
	ga, coA := newGroup("a")
	gb, coB := newGroup("b")
	ctx := context.Background()
	for _, k := range []string{"x", "y"} {
		if _, err := gb.Get(k); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = ga.Execute(ctx, "x", func(context.Context) (int, error) { return 0, errDown })
	fleet.Drain(coA)
	if err := coB.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	bx, _ := gb.Get("x")
	by, _ := gb.Get("y")
	if bx.State() != breaker.Open || by.State() != breaker.Closed {
		t.Fatalf("b's breakers: x %v, y %v; want x open with the fleet, y closed", bx.State(), by.State())
	}
}
