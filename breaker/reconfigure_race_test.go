package breaker_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// TestConcurrentReconfigureRacesOnEvidenceNote: three goroutines each
// calling Reconfigure 20 times, with ReconfigureShadows, Reset, Trip and
// calls mixed in, under -race. A Reconfigure's note (the old and new
// settings) was written while the machine made the change, and another
// goroutine's delivery, crediting its own transition to the note of a
// Reconfigure begun at the same generation, read it meanwhile: a data
// race, and an Old/New that were not its own. Each reconfiguration's
// evidence must say the settings it moved from and to.
func TestConcurrentReconfigureRacesOnEvidenceNote(t *testing.T) {
	clk := newManualClock(clockStart{name: "today", at: epochs.Today})
	var (
		mu    sync.Mutex
		trans []breaker.Transition
	)
	b, err := breaker.New(breaker.Config[int]{
		Clock: clk,
		OnTransition: func(tr breaker.Transition) {
			mu.Lock()
			trans = append(trans, tr)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				err := b.Reconfigure(breaker.Settings{Policy: policy.Consecutive(3 + g)}, "op", "tune")
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			sh := []breaker.Shadow{{Name: "c", Settings: breaker.Settings{Policy: policy.Consecutive(2 + i%2)}}}
			if err := b.ReconfigureShadows(sh, "op", "try"); err != nil {
				t.Error(err)
				return
			}
			if i%2 == 0 {
				b.Trip()
			} else {
				b.Reset()
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, nil })
		}
	}()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, tr := range trans {
		if tr.Cause != breaker.CauseReconfigure || tr.Shadow {
			continue
		}
		n++
		e := tr.Evidence
		if e == nil || e.Action != "reconfigure" || e.Who != "op" || e.Why != "tune" {
			t.Fatalf("reconfiguration %d: evidence %+v", tr.Generation, e)
		}
		if !strings.HasPrefix(e.New, "consecutive(") || !strings.HasPrefix(e.Old, "consecutive(") {
			t.Errorf("reconfiguration %d: Old %q, New %q: not the settings it moved between", tr.Generation, e.Old, e.New)
		}
	}
	if n != 60 {
		t.Errorf("%d reconfigurations delivered, want 60", n)
	}
}
