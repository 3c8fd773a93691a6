package lab

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// With Share, each candidate gets a second row where the fleet's breakers
// share one circuit through package fleet: with round-robin over four
// instances, Consecutive(3) trips two of them (the quorum) and the fleet
// opens for all, so fewer calls reach the outage than with four breakers
// alone, and the fleet probes with at most HalfOpenProbes calls at a time
// instead of each instance on its own.
func TestShareByHand(t *testing.T) {
	s := Scenario{
		Name: "hand", Duration: 20 * time.Second, Rate: 40,
		OpenTimeout: time.Second, HalfOpenProbes: 1,
		Phases: []Phase{{Start: 2 * time.Second, End: 8 * time.Second, Errors: Steady(1.0)}},
	}
	opt := Options{Seed: 1, Fleet: 4, Share: true}
	rep, err := RunWith([]Scenario{s}, []Candidate{consecutive(3)}, opt)
	if err != nil {
		t.Fatal(err)
	}
	rs := rep.Scenarios[0].Results
	if len(rs) != 2 || rs[1].Candidate != rs[0].Candidate+SharedSuffix {
		t.Fatalf("rows %+v, want the candidate and its shared row", rs)
	}
	alone, shared := rs[0], rs[1]
	if shared.Trips != 2 {
		t.Errorf("shared: %d trips, want the quorum of 2 (the others adopt the fleet's open)", shared.Trips)
	}
	adopted := 0
	for _, tr := range shared.Transitions {
		if tr.Adopted {
			adopted++
		}
	}
	if adopted == 0 {
		t.Error("shared: no transition adopted from the fleet")
	}
	if shared.FaultSent >= alone.FaultSent || shared.Probes >= alone.Probes {
		t.Errorf("shared sent %d into the fault with %d probes; alone %d with %d: sharing saved nothing",
			shared.FaultSent, shared.Probes, alone.FaultSent, alone.Probes)
	}
	if shared.TimeToClose == Never {
		t.Error("shared: the fleet never closed")
	}
	// Quorum 1: the first instance that trips opens the fleet for all.
	one, err := RunWith([]Scenario{s}, []Candidate{consecutive(3)}, Options{Seed: 1, Fleet: 4, Share: true, Quorum: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r := one.Scenarios[0].Results[1]; r.Trips != 1 || r.FaultSent >= shared.FaultSent {
		t.Errorf("quorum 1: %d trips and %d calls into the fault, want 1 trip and fewer than quorum 2's %d", r.Trips, r.FaultSent, shared.FaultSent)
	}
	// Deterministic: the same seed, the same table, bit for bit.
	again, err := RunWith([]Scenario{s}, []Candidate{consecutive(3)}, opt)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	_ = rep.WriteJSON(&a)
	_ = again.WriteJSON(&b)
	if a.String() != b.String() {
		t.Error("two runs with the same seed differ")
	}
	var tb bytes.Buffer
	_ = rep.WriteTable(&tb)
	if !strings.Contains(tb.String(), "share one circuit through package fleet") {
		t.Errorf("the table does not say what the shared rows are:\n%s", tb.String())
	}
}

func TestShareOptions(t *testing.T) {
	s := Scenario{Name: "hand", Duration: time.Second, Rate: 10}
	for _, o := range []Options{{Share: true}, {Fleet: 1, Share: true}, {Fleet: 3, Share: true, Quorum: 4}, {Fleet: 3, Quorum: -1}} {
		if _, err := RunWith([]Scenario{s}, []Candidate{consecutive(3)}, o); err == nil {
			t.Errorf("%+v ran", o)
		}
	}
	if _, err := RunWith([]Scenario{s}, []Candidate{consecutive(3)}, Options{Fleet: 3, Share: true, Quorum: 3}); err != nil {
		t.Error(err)
	}
}
