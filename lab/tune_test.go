package lab

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/spec"
)

// A search gives the same report whatever the number of workers, its
// front holds only settings that no other setting of the family beats on
// every figure, and its best is the cheapest.
func TestTuneDeterministicAndPareto(t *testing.T) {
	// healthy, outage and brownout at a twenty-fifth of their traffic:
	// small enough for the race detector to watch the workers.
	ss := Builtin()[:3]
	for i := range ss {
		ss[i].Rate /= 25
	}
	in := Input{Scenarios: ss}
	var outs []string
	var reps []*TuneReport
	for _, workers := range []int{1, 3} {
		rep, err := Tune(in, Tuning{Families: []string{"consecutive", "window"}, Workers: workers,
			Baseline: DefaultCandidates()[:1], Options: Options{Seed: 1}})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := rep.Write(&b); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b.String())
		reps = append(reps, rep)
	}
	if outs[0] != outs[1] {
		t.Fatalf("1 worker:\n%s\n3 workers:\n%s", outs[0], outs[1])
	}
	rep := reps[0]
	if len(rep.Families) != 2 || rep.Families[0].Searched != len(grid("consecutive", 0)) {
		t.Fatalf("families %+v", rep.Families)
	}
	// Recompute every score of the window family and check the front.
	all, err := Tune(in, Tuning{Families: []string{"window"}, Options: Options{Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	fr := all.Families[0]
	for _, f := range fr.Front {
		if f.Cost < fr.Best.Cost {
			t.Errorf("front member %s is cheaper than the best %s", f.Candidate.Name, fr.Best.Candidate.Name)
		}
		for _, g := range fr.Front {
			if g.dominates(&f) {
				t.Errorf("front member %s is dominated by %s", f.Candidate.Name, g.Candidate.Name)
			}
		}
	}
	if fr.Front[0].Cost != fr.Best.Cost {
		t.Errorf("the front's cheapest (%v) is not the best (%v)", fr.Front[0].Cost, fr.Best.Cost)
	}
	// The baseline, Consecutive(5), is scored as the grid's consecutive(5).
	var grid5 Score
	for _, f := range rep.Families[0].Front {
		if f.Candidate.Name == "consecutive(5)" {
			grid5 = f
		}
	}
	if b := rep.Baseline[0]; grid5.Candidate.Name != "" && (b.Cost != grid5.Cost || b.FaultSent != grid5.FaultSent) {
		t.Errorf("baseline %+v, grid %+v", b, grid5)
	}
	if code := rep.GoCode(); !strings.Contains(code, "var cfg = breaker.Config[T]{\n\tPolicy:") || !strings.Contains(code, "OpenTimeout:    10 * time.Second,") {
		t.Errorf("Go code:\n%s", code)
	}
	checkWinnerSpec(t, rep, outs[0])
}

// checkWinnerSpec: the winner's spec is its policy with the settings the
// search ran with, printed in the report, and reads back, through package
// spec, to the same configuration as the Go code: one spelling.
func checkWinnerSpec(t *testing.T, rep *TuneReport, out string) {
	t.Helper()
	s := rep.Spec
	if s.Policy.String() != rep.Winner.Candidate.Name && !rep.WinnerIsBaseline {
		t.Errorf("spec %s, winner %s", s, rep.Winner.Candidate.Name)
	}
	if s.Policy.GoCode() != rep.Winner.GoCode || s.OpenTimeout != 10*time.Second || s.HalfOpenProbes != 3 {
		t.Errorf("spec %s, Go policy %s", s, rep.Winner.GoCode)
	}
	back, err := spec.Parse(s.String())
	if err != nil || !back.Equal(s) {
		t.Errorf("spec %s reads back as %s, %v", s, back, err)
	}
	if !strings.Contains(out, "as a spec (a -policies candidate, a flag or a config value):\n\n  "+s.String()+"\n\nas Go:") {
		t.Errorf("the report does not print the spec %s:\n%s", s, out)
	}
}

// The objective's weights read from the flag's form; bad ones say why.
func TestParseObjective(t *testing.T) {
	o, err := ParseObjective("lost=2, close=0")
	if err != nil || o != (Objective{Sent: 1, Lost: 2, FalseTrip: 100, Close: 0}) {
		t.Errorf("got %+v, %v", o, err)
	}
	if back, err := ParseObjective(DefaultObjective.String()); err != nil || back != DefaultObjective {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	for in, want := range map[string]string{
		"sent=-1":    "weights.sent: must be a number from 0 to 1e12",
		"speed=3":    `unknown weight "speed"`,
		"sent":       `"sent" is not key=value`,
		"lost=NaN":   "weights.lost: must be a number",
		"close=1e99": "weights.close: must be a number from 0 to 1e12",
	} {
		if _, err := ParseObjective(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}
