package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// A shadow-only breaker's opens reject nothing: the coordinator sends none
// to the fleet, so no other instance rejects for them.
func TestShadowOnlyOpensStayLocal(t *testing.T) {
	each(t, func(t *testing.T, e *fleetEnv) {
		b, co, _ := e.attachDriven("a", nil, breaker.Config[int]{
			Name: "dep", Policy: policy.Consecutive(1), OpenTimeout: 30 * time.Second, ShadowOnly: true,
		})
		co.Step()
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errDown })
		if b.State() != breaker.Open {
			t.Fatalf("the shadow-only breaker is %v, want open (as decided)", b.State())
		}
		co.Step()
		if s := co.Stats(); s.TripsSent != 0 {
			t.Fatalf("a shadow-only breaker's open reached the fleet: %+v", s)
		}
	})
}
