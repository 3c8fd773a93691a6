package breaker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// TestReconfigureCountsEverySuccessOnce: a closed success under Window or
// Rate records without the Record fence (see internal/fastrec), and a
// Reconfigure seals the old policy's window so that a success on its way
// into it either counts before its successor takes the counts over, or
// goes to the successor: never both, never neither. Calls on several
// goroutines and Reconfigures between Windows and Rates, all longer than
// the test, under -race: the last policy's window holds every call made.
func TestReconfigureCountsEverySuccessOnce(t *testing.T) {
	for _, clock := range []string{"manual", "real"} {
		t.Run("clock="+clock, func(t *testing.T) {
			var clk breaker.Clock
			if clock == "manual" {
				clk = newManualClock(clockStart{name: "today", at: epochs.Today})
			}
			policies := []func() policy.Policy{
				func() policy.Policy { return policy.Window(1<<30, time.Hour) },
				func() policy.Policy { return policy.Rate(0.99, 1<<30, 2*time.Hour) },
				func() policy.Policy { return policy.Rate(0.99, 1<<30, time.Hour) },
			}
			first := policies[0]()
			b, err := breaker.New(breaker.Config[int]{Policy: first, Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			var (
				wg      sync.WaitGroup
				made    atomic.Int64
				stop    atomic.Bool
				current = first // written by the reconfiguring goroutine, read once it is done
			)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range *reconfigureCalls / 4 {
						if _, err := b.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil }); err != nil {
							t.Error(err)
							return
						}
						made.Add(1)
					}
				}()
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := 1; !stop.Load(); i++ {
					p := policies[i%len(policies)]()
					if err := b.Reconfigure(breaker.Settings{Policy: p}, "", ""); err != nil {
						t.Errorf("Reconfigure: %v", err)
						return
					}
					current = p
				}
			}()
			wg.Wait()
			stop.Store(true)
			<-done
			now := time.Now()
			if clk != nil {
				now = clk.Now()
			}
			var calls int64
			switch p := current.(type) {
			case *policy.WindowPolicy:
				calls = p.Explain(now).Calls
			case *policy.RatePolicy:
				calls = p.Explain(now).Calls
			}
			if calls != made.Load() {
				t.Errorf("the policy holds %d calls, %d were made", calls, made.Load())
			}
		})
	}
}
