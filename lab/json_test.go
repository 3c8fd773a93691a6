package lab

import (
	"errors"
	"strings"
	"testing"
)

// A scenario error has the shared shape: errors.As finds a *ScenarioError
// whose Scenario, Index and Field say where the problem is, and whose
// Problem says what it is, without the field's name.
func TestScenarioErrorShape(t *testing.T) {
	const ok = `"duration": "1m", "rate": 10`
	for _, tc := range []struct {
		name, input   string
		scenario      string
		index         int
		field, prefix string
	}{
		{"unknown phase field", `{"name": "x", ` + ok + `, "phases": [{"start": "1s", "end": "2s"}, {"start": "3s", "end": "4s", "fault": true}]}`,
			"x", 0, "phases[1].fault", "unknown field"},
		{"phase type", `[{"name": "x", ` + ok + `}, {"name": "y", ` + ok + `, "phases": [{"start": 3, "end": "4s"}]}]`,
			"y", 2, "phases[0].start", "expected a string"},
		{"named, top-level type", `[{"name": "y", "duration": "1m", "rate": "fast"}]`,
			"y", 1, "", "rate: expected a number"},
		{"validation in an array", `[{"name": "x", ` + ok + `}, {"name": "z", ` + ok + `, "errors": 2}]`,
			"z", 2, "errors", "must be a fraction"},
		{"no name", `[{` + ok + `}]`, "", 1, "name", "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenarios(strings.NewReader(tc.input))
			var se *ScenarioError
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalidScenario) {
				t.Fatalf("err = %v, want a *ScenarioError wrapping ErrInvalidScenario", err)
			}
			if se.Scenario != tc.scenario || se.Index != tc.index || se.Field != tc.field || !strings.HasPrefix(se.Problem(), tc.prefix) {
				t.Errorf("got Scenario %q Index %d Field %q Problem %q; want %q %d %q %q...",
					se.Scenario, se.Index, se.Field, se.Problem(), tc.scenario, tc.index, tc.field, tc.prefix)
			}
			if !strings.HasPrefix(err.Error(), "lab: scenario ") || !strings.HasSuffix(err.Error(), se.Problem()) {
				t.Errorf("Error() = %q", err)
			}
		})
	}
}
