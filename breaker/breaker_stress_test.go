package breaker_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// TestStress is the always-on short form of TestSoak: 16 goroutines for
// about a second in all, under each policy kind with a frozen clock (so that
// the half-open limit and the open deadline are checked), then with the
// real clock and a 100µs open timeout, so that the timer that ends each open
// period fires thousands of times. Meant for go test -race; see contention
// for what it checks.
func TestStress(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	runs := len(policyKinds) + 1
	budget := time.Second / time.Duration(runs)
	for i := range runs {
		cfg := contentionConfig{workers: 16, probes: 2, classify: i%2 == 1, count: i != 1, frozen: true, seed: uint64(i)}
		if i < len(policyKinds) {
			cfg.kind = policyKinds[i]
		} else {
			cfg.kind, cfg.frozen = policyKinds[len(policyKinds)-1], false
		}
		t.Run(fmt.Sprintf("policy=%s/frozen=%v/count=%v", cfg.kind.name, cfg.frozen, cfg.count), func(t *testing.T) {
			rep := runContention(t, cfg, time.Now().Add(budget))
			t.Log(&rep)
		})
	}
	if left := settledGoroutines(goroutines); left > goroutines {
		t.Errorf("%d goroutines left behind", left-goroutines)
	}
}
