package main

import (
	"strings"
	"testing"
)

// A breaker's spec line with shadows, given to -policies, runs the live
// spec and each shadow side by side, on a trace as on the scenarios.
func TestPoliciesFlagShadows(t *testing.T) {
	code, out, errOut := runLab(t, "-trace", "testdata/calls.csv", "-policies", "consecutive(5)@open=30s shadow rate(0.3,20,10s)@open=10s shadow lastn(0.5,10,20)")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"consecutive(5)@open=30s ", "rate(0.3,20,10s)@open=10s ", "lastn(0.5,10,20) "} {
		if !strings.Contains(out, want) {
			t.Errorf("no row %q in\n%s", want, out)
		}
	}
}
