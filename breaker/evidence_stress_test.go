package breaker_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// Failing calls, operators' actions, adoptions and readers of the history
// all at once (run under -race): every transition delivered has evidence,
// the history stays bounded and in generation order, and each manual
// transition names the action of its kind.
func TestEvidenceUnderConcurrency(t *testing.T) {
	var mu sync.Mutex
	var bad []string
	b, err := breaker.New(breaker.Config[int]{
		Policy: policy.Any(policy.Consecutive(3), policy.LastN(0.5, 4, 8)), OpenTimeout: 1, // probes at once
		OnTransition: func(tr breaker.Transition) {
			e := tr.Evidence
			switch {
			case e == nil:
				bad = append(bad, "no evidence")
			case tr.Cause == breaker.CausePolicy && e.Account == nil:
				bad = append(bad, "a trip without an account")
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				_, _ = b.Execute(context.Background(), func(context.Context) (int, error) {
					if (i+g)%3 == 0 {
						return 0, nil
					}
					return 0, boom
				})
			}
		}()
	}
	kinds := []breaker.ActionKind{breaker.ActTrip, breaker.ActTripFor, breaker.ActForceOpen, breaker.ActDisable, breaker.ActReset}
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				_ = b.Act(breaker.Action{Kind: kinds[(i+g)%len(kinds)], Who: "op", Why: "stress"})
				b.Adopt(breaker.Adoption{Kind: breaker.AdoptClose, Who: "fleet"})
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 500 {
			h := b.Transitions()
			if len(h) > breaker.MaxTransitions {
				mu.Lock()
				bad = append(bad, "history over its bound")
				mu.Unlock()
			}
			for i := 1; i < len(h); i++ {
				if h[i].Generation <= h[i-1].Generation {
					mu.Lock()
					bad = append(bad, "history out of order")
					mu.Unlock()
				}
			}
			_ = b.Metrics()
		}
	}()
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d problems, first: %s", len(bad), bad[0])
	}
	for _, tr := range b.Transitions() {
		if tr.Cause == breaker.CauseManual && tr.Evidence.Action == "" {
			t.Errorf("a manual transition (gen %d) names no action", tr.Generation)
		}
	}
}
