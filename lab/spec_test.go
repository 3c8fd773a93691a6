package lab

import (
	"errors"

	"github.com/tripwire-go/tripwire/breaker"
	"strings"
	"testing"
	"time"
)

// Specs read as the Go constructors do, and name each candidate by its
// text; settings after '@' reach the candidate.
func TestParseCandidates(t *testing.T) {
	cs, err := ParseCandidates("consecutive(10), rate(0.3,20,10s),any(consecutive(5),slow(1s,0.5,20,10s))@open=30s,probes=1,backoff=5m,backoff-factor=3,lastn(0.25, 20, 100),all(window(3,1s),rate(0.5,10,1m)),rate@probe-timeout=2s", DefaultCandidates())
	if err != nil {
		t.Fatal(err)
	}
	var names, specs []string
	for _, c := range cs {
		names = append(names, c.Name)
		specs = append(specs, c.Spec())
	}
	wantNames := []string{"consecutive(10)", "rate(0.3,20,10s)", "any(consecutive(5),slow(1s,0.5,20,10s))@open=30s,probes=1,backoff=5m,backoff-factor=3",
		"lastn(0.25,20,100)", "all(window(3,1s),rate(0.5,10,1m))", "rate@probe-timeout=2s"}
	// Spec writes the canonical form of package spec: the same for a
	// candidate named by its spec or by a default's name.
	wantSpecs := []string{"consecutive(10)", "rate(0.3,20,10s)", "any(consecutive(5),slow(1s,0.5,20,10s))@open=30s,probes=1,backoff=5m,backoff-factor=3",
		"lastn(0.25,20,100)", "all(window(3,1s),rate(0.5,10,1m))", "rate(0.25,20,10s)@probe-timeout=2s"}
	if strings.Join(names, " ") != strings.Join(wantNames, " ") {
		t.Errorf("names\n%q\nwant\n%q", names, wantNames)
	}
	if strings.Join(specs, " ") != strings.Join(wantSpecs, " ") {
		t.Errorf("specs\n%q\nwant\n%q", specs, wantSpecs)
	}
	c := cs[2]
	if c.OpenTimeout != 30*time.Second || c.HalfOpenProbes != 1 || c.Backoff == nil || c.Backoff.Max != 5*time.Minute || c.Backoff.Factor != 3 {
		t.Errorf("settings %+v", c)
	}
	more, err := ParseCandidates("consecutive(5)@probes=1,close-after=3,probe-timeout=off", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := more[0]; m.HalfOpenProbes != 1 || m.CloseAfter != 3 || m.ProbeTimeout != breaker.NoProbeTimeout ||
		m.Spec() != "consecutive(5)@probes=1,close-after=3,probe-timeout=off" {
		t.Errorf("got %+v, spec %s", m, m.Spec())
	}
	if a, b := c.New(), c.New(); a == b {
		t.Error("New returned the same policy twice")
	}
}

// Every parse error points at the offending character and says what is
// wrong, plainly.
func TestParseCandidatesErrors(t *testing.T) {
	for _, tc := range []struct {
		spec, caret, field, problem string
	}{
		{"rate(1.5,20,10s)", "     ^", "Rate.ratio", "must be a fraction in (0, 1], got 1.5"},
		{"consecutive(0)", "            ^", "Consecutive.failures", "must be at least 1, got 0"},
		{"consecutive(2.5)", "            ^", "Consecutive.failures", `"2.5" is not a whole number`},
		{"window(5,10)", "         ^", "Window.over", `"10" needs a unit`},
		{"window(5)", "        ^", "Window.over", "missing"},
		{"rate(0.5,10,1s,4)", "              ^", "", "rate takes 3 arguments"},
		{"consecutive(5),magic(3)", "               ^", "", `unknown policy "magic"`},
		{"consecutive(5) rate", "               ^", "", "expected ','"},
		{"consecutive(5),", "               ^", "", "at the end"},
		{"any(consecutive(5) slow(1s,0.5,20,10s))", "                   ^", "", "expected ',' or ')' in any(...), opened at column 4"},
		{"consecutive(5)@open=-3s", "                    ^", "@open", "must be positive"},
		{"consecutive(5)@probes=0", "                      ^", "@probes", "must be between 1 and"},
		{"consecutive(5)@colour=red", "               ^", "@colour", "unknown setting"},
		{"consecutive(5)@open=10s,backoff=5s", "                                ^", "@backoff", "at least OpenTimeout"},
		{"consecutive(5)@backoff-factor=3", "              ^", "@backoff", "need backoff=MAX"},
		{"lastn(0.5,200,100)", "          ^", "LastN.minCalls", "must be at most n (100), got 200"},
		{"rate@open=10s,backoff=5s", "                      ^", "@backoff", "at least OpenTimeout"},
		{"consecutive(5),consecutive(5)", "               ^", "", "listed twice"},
		{"consecutive", "           ^", "", "needs its arguments in parentheses"},
		{"consecutive(5), @open=30s", "                ^", "", "a candidate needs a policy"},
		{"consecutive(5)@close-after=0", "                           ^", "@close-after", "must be between 1 and 65535, got 0"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := ParseCandidates(tc.spec, DefaultCandidates()[2:3])
			var se *SpecError
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("err = %v, want a *SpecError", err)
			}
			if got := strings.Split(se.Caret(), "\n")[1]; got != tc.caret {
				t.Errorf("caret\n%s\n%s\nwant\n%s", tc.spec, got, tc.caret)
			}
			if se.Field != tc.field || !strings.Contains(se.Problem(), tc.problem) {
				t.Errorf("Field %q Problem %q, want %q and %q", se.Field, se.Problem(), tc.field, tc.problem)
			}
		})
	}
}

// A named candidate's settings are checked with those its name adds: a
// backoff shorter than the candidate's own open timeout is refused there,
// not when the run builds the breaker.
func TestParseCandidatesNamedSettings(t *testing.T) {
	named := []Candidate{{Name: "patient", New: DefaultCandidates()[0].New, OpenTimeout: 10 * time.Second, HalfOpenProbes: 2}}
	cs, err := ParseCandidates("patient@probes=1,backoff=1m", named)
	if err != nil {
		t.Fatal(err)
	}
	if c := cs[0]; c.OpenTimeout != 10*time.Second || c.HalfOpenProbes != 1 || c.Backoff.Max != time.Minute ||
		c.Spec() != "consecutive(5)@open=10s,probes=1,backoff=1m" || named[0].HalfOpenProbes != 2 {
		t.Errorf("got %+v, spec %s", c, c.Spec())
	}
	_, err = ParseCandidates("consecutive(3),patient@backoff=5s", named)
	var se *SpecError
	if !errors.As(err, &se) || se.Column() != 16 || se.Field != "@backoff" || !strings.Contains(se.Problem(), "at least OpenTimeout (open=10s)") {
		t.Errorf("err = %v", err)
	}
}
