package peers

import (
	"context"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// Tripwire is tripwire's breaker with the zero Config: Consecutive(5),
// 60 s open, 3 probes, which is the common configuration exactly. For
// RateClosedSuccess its policy is policy.Rate(RateRatio, RateMinCalls,
// RateWindow) instead.
type Tripwire struct {
	b *breaker.Breaker[int]
}

// ratePolicy builds the policy of RateClosedSuccess. It is nil unless the
// package is built with the ratepolicy tag (see tripwire_rate.go), which
// needs a tripwire that has policy.Rate.
var ratePolicy func() policy.Policy

// HasRate reports whether this build measures tripwire's Rate policy.
func HasRate() bool { return ratePolicy != nil }

// NewTripwire returns a closed Tripwire for sc. It panics if New refuses
// the configuration, which would be a bug in tripwire, or if sc is
// RateClosedSuccess in a build without the ratepolicy tag.
func NewTripwire(sc Scenario) *Tripwire {
	var cfg breaker.Config[int]
	if sc == RateClosedSuccess {
		if ratePolicy == nil {
			panic("peers: tripwire's Rate scenario needs the ratepolicy build tag")
		}
		cfg.Policy = ratePolicy()
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
