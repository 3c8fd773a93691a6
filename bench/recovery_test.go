package bench

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// BenchmarkRecovery measures a closed call of a breaker configured for
// recovery, with no ramp in progress and nothing to shed: a ramp-up or a
// retry-after costs such a call nothing (option=ramp and
// option=retry-after against option=none), and a throttle costs it what
// its policy does, a clock read and one Shed under its lock.
func BenchmarkRecovery(b *testing.B) {
	for _, o := range []struct {
		name string
		cfg  breaker.Config[int]
	}{
		{"none", breaker.Config[int]{}},
		{"ramp", breaker.Config[int]{RampUp: 30 * time.Second}},
		{"retry-after", breaker.Config[int]{MaxRetryAfter: time.Minute}},
		{"throttle", breaker.Config[int]{Policy: policy.Any(policy.Throttle(2, 10*time.Second), policy.Consecutive(20))}},
	} {
		modes(b, "option="+o.name+"/state=closed/outcome=success", func(b *testing.B, parallel bool) {
			cfg := o.cfg
			if cfg.Policy != nil {
				cfg.Policy = policy.Any(policy.Throttle(2, 10*time.Second), policy.Consecutive(20))
			}
			br, err := breaker.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			executeOK(b, br, parallel)
		})
	}
}
