package lab

import (
	"testing"
	"time"
)

// A fleet shares the traffic among instances, each with its own breaker:
// with calls every 100 ms failing from 2 s to 5 s, round-robin over two
// instances, each sees a failure every 200 ms, so Consecutive(3) trips
// each one at its third failure (2.4 s and 2.5 s), and each probes alone
// once its own second is up. The circuit counts as open from the first
// trip and as closed once both have closed.
func TestFleetByHand(t *testing.T) {
	s := Scenario{
		Name: "hand", Duration: 10 * time.Second, Rate: 10,
		OpenTimeout: time.Second, HalfOpenProbes: 1,
		Phases: []Phase{{Start: 2 * time.Second, End: 5 * time.Second, Errors: Steady(1.0)}},
	}
	one, err := RunWith([]Scenario{s}, []Candidate{consecutive(3)}, Options{Seed: 1, Fleet: 1})
	if err != nil {
		t.Fatal(err)
	}
	two, err := RunWith([]Scenario{s}, []Candidate{consecutive(3)}, Options{Seed: 1, Fleet: 2})
	if err != nil {
		t.Fatal(err)
	}
	a, b := one.Scenarios[0].Results[0], two.Scenarios[0].Results[0]
	if b.Trips != 2 || b.TimeToTrip != 400*ms || a.TimeToTrip != 200*ms {
		t.Errorf("fleet of 2: %d trips, first after %v (one breaker: %v)", b.Trips, b.TimeToTrip, a.TimeToTrip)
	}
	// Each instance admits its three failures, then one probe a second:
	// more calls into the outage, and about twice the probes.
	if b.FaultSent <= a.FaultSent || b.Probes < 2*a.Probes-1 {
		t.Errorf("fleet of 2 sent %d into the fault with %d probes; one breaker %d with %d", b.FaultSent, b.Probes, a.FaultSent, a.Probes)
	}
	for _, tr := range b.Transitions {
		if tr.Instance != 0 && tr.Instance != 1 {
			t.Fatalf("transition of instance %d", tr.Instance)
		}
	}
	last := b.Transitions[len(b.Transitions)-1]
	if want := last.At - 5*time.Second; b.TimeToClose != want {
		t.Errorf("closed %v after the fault, want %v: when the last instance closed", b.TimeToClose, want)
	}
	// Random routing is drawn from the seed: the same seed, the same run.
	r1, err := RunWith([]Scenario{s}, []Candidate{consecutive(3)}, Options{Seed: 1, Fleet: 3, Route: RandomRoute})
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := RunWith([]Scenario{s}, []Candidate{consecutive(3)}, Options{Seed: 1, Fleet: 3, Route: RandomRoute})
	if x, y := r1.Scenarios[0].Results[0], r2.Scenarios[0].Results[0]; x.FaultSent != y.FaultSent || len(x.Transitions) != len(y.Transitions) {
		t.Error("random routing is not deterministic")
	}
	if _, err := RunWith([]Scenario{s}, []Candidate{consecutive(3)}, Options{Fleet: MaxFleet + 1}); err == nil {
		t.Error("a fleet above MaxFleet ran")
	}
}
