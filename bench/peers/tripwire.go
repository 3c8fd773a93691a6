package peers

import (
	"context"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// Tripwire is tripwire's breaker with the zero Config: Consecutive(5),
// 60 s open, 3 probes, which is the common configuration exactly. For
// RateClosedSuccess its policy is policy.Rate(RateRatio, RateMinCalls,
// RateWindow) instead, for RateCountedClosedSuccess the same with
// CountCalls, and for WindowClosedSuccess policy.Window(Failures,
// RateWindow).
type Tripwire struct {
	b *breaker.Breaker[int]
}

// NewTripwire returns a closed Tripwire for sc. It panics if New refuses
// the configuration, which would be a bug in tripwire.
func NewTripwire(sc Scenario) *Tripwire {
	var cfg breaker.Config[int]
	switch sc {
	case RateClosedSuccess:
		cfg.Policy = policy.Rate(RateRatio, RateMinCalls, RateWindow)
	case RateCountedClosedSuccess:
		cfg.Policy = policy.Rate(RateRatio, RateMinCalls, RateWindow)
		cfg.CountCalls = true
	case WindowClosedSuccess:
		cfg.Policy = policy.Window(Failures, RateWindow)
	}
	b, err := breaker.New(cfg)
	if err != nil {
		panic(err)
	}
	return &Tripwire{b: b}
}

// Run calls t through Execute.
func (a *Tripwire) Run(ctx context.Context, t *Target) (int, error) {
	return a.b.Execute(ctx, t.Ctx)
}

// Trip opens the circuit with Breaker.Trip.
func (a *Tripwire) Trip() error {
	a.b.Trip()
	return nil
}

// Closed reports whether the breaker is closed.
func (a *Tripwire) Closed() bool { return a.b.State() == breaker.Closed }
