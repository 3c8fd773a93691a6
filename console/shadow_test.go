package console_test

import (
	"encoding/json"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// A shadow-only circuit is marked and ranks below real open ones; a
// circuit's candidates are listed with what they did.
func TestShadowsInTheAPI(t *testing.T) {
	k := newKit(t, nil)
	trial, err := breaker.New(breaker.Config[int]{
		Name: "trial", ShadowOnly: true, Policy: policy.Consecutive(1),
		Shadows: []breaker.Shadow{{Name: "quick", Settings: breaker.Settings{Policy: policy.Consecutive(1), Text: "consecutive(1)"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.reg.Add(trial); err != nil {
		t.Fatal(err)
	}
	fail(trial)
	fail(trial)
	fail(k.db)
	fail(k.db) // trips: a real open
	var l struct {
		Circuits []struct {
			Name        string
			State       string
			ShadowOnly  bool   `json:"shadow_only"`
			WouldReject uint64 `json:"would_reject"`
			Last        *struct{ Shadow bool }
			Shadows     []struct {
				Name, Settings, State string
				Trips                 uint64
			}
		}
	}
	if err := json.Unmarshal([]byte(k.get(t, "/debug/tripwire/api/circuits")), &l); err != nil {
		t.Fatal(err)
	}
	if len(l.Circuits) != 3 || l.Circuits[0].Name != "db" {
		t.Fatalf("circuits = %+v, want db, really open, first", l.Circuits)
	}
	for _, c := range l.Circuits {
		if c.Name != "trial" {
			if c.ShadowOnly || c.Shadows != nil {
				t.Errorf("%s: %+v, marked shadow", c.Name, c)
			}
			continue
		}
		if !c.ShadowOnly || c.WouldReject != 1 || c.State != "open" || c.Last == nil || !c.Last.Shadow {
			t.Errorf("trial: %+v, want shadow-only, open, would reject 1, last transition marked shadow", c)
		}
		if len(c.Shadows) != 1 || c.Shadows[0].Name != "quick" || c.Shadows[0].State != "open" || c.Shadows[0].Trips != 1 || c.Shadows[0].Settings != "consecutive(1)" {
			t.Errorf("trial's candidates: %+v", c.Shadows)
		}
	}
}
