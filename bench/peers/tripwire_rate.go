//go:build ratepolicy

package peers

import "github.com/tripwire-go/tripwire/policy"

// This file needs policy.Rate, which lands on main with the policy family.
// run.sh and ci.sh pass -tags ratepolicy as soon as the main module has it;
// once it is there for good, the tag can go.

func init() {
	ratePolicy = func() policy.Policy {
		return policy.Rate(RateRatio, RateMinCalls, RateWindow)
	}
}
