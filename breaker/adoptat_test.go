package breaker_test

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
)

// TestAdoptAtYieldsToALaterWord: a decision taken on a read of the circuit
// (Metrics.Generation) applies only while nothing changed it since; an
// operator's action in between stands, and the stale decision changes and
// reports nothing. At the generation read, every kind applies as Adopt's.
func TestAdoptAtYieldsToALaterWord(t *testing.T) {
	kinds := []breaker.Adoption{
		{Kind: breaker.AdoptOpen, For: time.Minute},
		{Kind: breaker.AdoptClose},
		{Kind: breaker.AdoptForceOpen},
		{Kind: breaker.AdoptDisable},
		{Kind: breaker.AdoptClearMode},
	}
	operators := map[string]func(b *breaker.Breaker[int]){
		"Disable":   (*breaker.Breaker[int]).Disable,
		"ForceOpen": (*breaker.Breaker[int]).ForceOpen,
		"Reset":     (*breaker.Breaker[int]).Reset,
		"Trip":      (*breaker.Breaker[int]).Trip,
	}
	// start puts the circuit where each kind would change something.
	start := map[breaker.AdoptionKind]func(b *breaker.Breaker[int]){
		breaker.AdoptOpen:      func(*breaker.Breaker[int]) {},
		breaker.AdoptClose:     (*breaker.Breaker[int]).Trip,
		breaker.AdoptForceOpen: func(*breaker.Breaker[int]) {},
		breaker.AdoptDisable:   func(*breaker.Breaker[int]) {},
		breaker.AdoptClearMode: (*breaker.Breaker[int]).ForceOpen,
	}
	for _, a := range kinds {
		for name, op := range operators {
			t.Run(a.Kind.String()+"/after "+name, func(t *testing.T) {
				var n int
				b, err := breaker.New(breaker.Config[int]{
					Clock:        epochs.Mock(epochs.Today),
					OnTransition: func(breaker.Transition) { n++ },
				})
				if err != nil {
					t.Fatal(err)
				}
				start[a.Kind](b)
				read := b.Metrics()
				op(b)
				after, seen := b.Metrics(), n
				if after.Generation == read.Generation {
					return // the action changed nothing (Trip of an open circuit)
				}
				applied := b.AdoptAt(read.Generation, a)
				m := b.Metrics()
				if applied || m.State != after.State || m.Mode != after.Mode || m.Generation != after.Generation || n != seen {
					t.Fatalf("stale %v: applied %v, circuit %v/%v gen %d, was %v/%v gen %d, %d transitions more",
						a.Kind, applied, m.State, m.Mode, m.Generation, after.State, after.Mode, after.Generation, n-seen)
				}
			})
		}
		t.Run(a.Kind.String()+"/current", func(t *testing.T) {
			b, err := breaker.New(breaker.Config[int]{Clock: epochs.Mock(epochs.Today)})
			if err != nil {
				t.Fatal(err)
			}
			start[a.Kind](b)
			read := b.Metrics()
			if !b.AdoptAt(read.Generation, a) {
				t.Fatalf("%v at the current generation %d was refused", a.Kind, read.Generation)
			}
			if m := b.Metrics(); m.Generation == read.Generation {
				t.Fatalf("%v applied changed nothing (%v/%v)", a.Kind, m.State, m.Mode)
			}
		})
	}
}
