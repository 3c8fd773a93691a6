package lab

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// The tests in this file pin what a new user's first hour with the lab
// found (issue 19): input it accepted silently, and output that misled.

// TestBadTraceInputFirstHour: a trace the lab used to replay into a table
// of n/a or of zeros is an error that names the line, the column or the
// field, and what is wrong.
func TestBadTraceInputFirstHour(t *testing.T) {
	const head = "start,duration,status\n"
	calls := head + "2026-11-30T14:00:00Z,5,200\n2026-11-30T14:00:10Z,5,503\n2026-11-30T14:00:20Z,5,200\n"
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	for _, tc := range []struct {
		name, trace string
		tr          Trace
		want        string
	}{
		{"header only", head, Trace{}, "lab: trace line 1: no calls: the trace has a header and nothing after it"},
		{"header and blank lines", head + "\n\n", Trace{}, "no calls: the trace has a header and nothing after it"},
		{"status 999", head + "2026-11-30T14:00:00Z,5,200\n2026-11-30T14:00:01Z,5,999\n", Trace{}, "lab: trace line 3: outcome: 999 is not an HTTP status code: they run from 100 to 599"},
		{"status 600", head + "2026-11-30T14:00:00Z,5,600\n", Trace{}, "line 2: outcome: 600 is not an HTTP status code"},
		{"status 99", head + "2026-11-30T14:00:00Z,5,99\n", Trace{}, "line 2: outcome: 99 is not an HTTP status code"},
		{"fault after the trace", calls, Trace{FaultStart: time.Hour, FaultEnd: 2 * time.Hour},
			"lab: Trace.FaultStart: the fault, 1h0m0s to 2h0m0s after the first call, is outside the trace, which runs 20.005s from its first call"},
		{"fault before the trace", calls, Trace{FaultStartTime: at("2026-11-30T13:00:00Z"), FaultEndTime: at("2026-11-30T13:59:59Z")},
			"lab: Trace.FaultStartTime: the fault, 2026-11-30T13:00:00Z to 2026-11-30T13:59:59Z, is outside the trace, which runs from 2026-11-30T14:00:00Z to 2026-11-30T14:00:20.005Z"},
		{"fault after, by times", calls, Trace{FaultStartTime: at("2026-11-30T15:00:00Z"), FaultEndTime: at("2026-11-30T16:00:00Z")},
			"is outside the trace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReplayTrace(strings.NewReader(tc.trace), tc.tr, []Candidate{consecutive(3)}, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant one containing %q", err, tc.want)
			}
		})
	}
	// A fault that overlaps the trace only in part is clipped to it.
	rep, err := ReplayTrace(strings.NewReader(calls), Trace{FaultStart: 15 * time.Second, FaultEnd: time.Hour}, []Candidate{consecutive(3)}, Options{})
	if err != nil {
		t.Fatalf("a fault past the end of the trace, begun inside it: %v", err)
	}
	if ph := rep.Scenarios[0].Scenario.Phases; len(ph) != 1 || ph[0].Start != 15*time.Second {
		t.Errorf("phases %+v, want the fault from 15s to the end", ph)
	}
}

// TestTraceReorderShortFile: the reorder check compared a call only with
// those already released, so a two-line trace could step back three
// minutes past a Reorder of one minute, where the same step in a long file
// was refused. Both are now refused, with the same message.
func TestTraceReorderShortFile(t *testing.T) {
	base := time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)
	line := func(at time.Time) string { return at.Format(time.RFC3339Nano) + ",5,200\n" }
	short := "start,duration,status\n" + line(base.Add(3*time.Minute)) + line(base)
	var long strings.Builder
	long.WriteString("start,duration,status\n")
	for i := range 600 {
		long.WriteString(line(base.Add(3*time.Minute + time.Duration(i)*100*time.Millisecond)))
	}
	long.WriteString(line(base.Add(3*time.Minute + 599*100*time.Millisecond - 3*time.Minute)))
	for name, trace := range map[string]string{"2 lines": short, "601 lines": long.String()} {
		_, err := ReplayTrace(strings.NewReader(trace), Trace{Reorder: time.Minute}, []Candidate{consecutive(3)}, Options{})
		if err == nil || !strings.Contains(err.Error(), "is more than 1m0s before a call read earlier") {
			t.Errorf("%s: err = %v, want the step back refused", name, err)
		}
	}
	// A step back within Reorder is fine, in a short file as in a long one.
	ok := "start,duration,status\n" + line(base.Add(time.Minute)) + line(base)
	if _, err := ReplayTrace(strings.NewReader(ok), Trace{Reorder: time.Minute}, []Candidate{consecutive(3)}, Options{}); err != nil {
		t.Errorf("a step back of exactly Reorder: %v", err)
	}
}

// TestTimeToCloseNeverOpened: a row whose circuit never opened showed
// time_to_close 0s, the best time there is; it is n/a.
func TestTimeToCloseNeverOpened(t *testing.T) {
	s := Scenario{Name: "slowish", Duration: 10 * time.Second, Rate: 10, OpenTimeout: time.Second,
		Phases: []Phase{{Start: 2 * time.Second, End: 5 * time.Second, Errors: Steady(1.0)}}}
	never := Candidate{Name: "never", New: func() policy.Policy { return policy.Consecutive(1000) }}
	rep, err := Run([]Scenario{s}, []Candidate{never, consecutive(3)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Scenarios[0].Results[0]; r.Trips != 0 || r.TimeToTrip != Never || r.TimeToClose != NotApplicable {
		t.Errorf("never opened: trips %d, time_to_trip %v, time_to_close %v; want 0, never, n/a", r.Trips, r.TimeToTrip, r.TimeToClose)
	}
	if r := rep.Scenarios[0].Results[1]; r.TimeToClose < 0 {
		t.Errorf("opened and closed: time_to_close %v, want a time", r.TimeToClose)
	}
	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if row := "slowish never never 30 30 0 n/a 0 0 0"; !strings.Contains(strings.Join(strings.Fields(table.String()), " "), row) {
		t.Errorf("the table does not show n/a for the row that never opened:\n%s", table.String())
	}
}

// TestTraceTableSaysOpenPeriod: a trace's table did not say that its
// breakers stay open for the breaker's default 60s, where the built-in
// scenarios use 10s; only the HTML page did. It does, unless every
// candidate sets its own.
func TestTraceTableSaysOpenPeriod(t *testing.T) {
	table := func(cs ...Candidate) string {
		rep, err := ReplayTrace(strings.NewReader(handTrace(false)), Trace{}, cs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := rep.WriteTable(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	const want = "trace trace: a candidate that sets no open period stays open for 1m, the breaker's default (the built-in scenarios use 10s)"
	if got := table(consecutive(3)); !strings.HasPrefix(got, want) {
		t.Errorf("table:\n%s\nwant it to start %q", got, want)
	}
	own := consecutive(3)
	own.OpenTimeout = 10 * time.Second
	if got := table(own); strings.Contains(got, "open period") {
		t.Errorf("every candidate sets its own open period, yet:\n%s", got)
	}
}

// TestTuneWinnerIncludesBaseline: -tune named as winner the best setting
// searched, with a note at the bottom admitting that a default candidate
// scored better. The winner is now the best of everything scored.
func TestTuneWinnerIncludesBaseline(t *testing.T) {
	s := Scenario{Name: "hand", Duration: 10 * time.Second, Rate: 10, OpenTimeout: time.Second, HalfOpenProbes: 1,
		Phases: []Phase{{Start: 2 * time.Second, End: 5 * time.Second, Errors: Steady(1.0)}}}
	// Any is no family of the search; its consecutive(2) child beats every
	// setting of the window family searched alone.
	anyOf := Candidate{Name: "any", New: func() policy.Policy {
		return policy.Any(policy.Consecutive(2), policy.Slow(time.Second, 0.5, 20, 10*time.Second))
	}}
	rep, err := Tune(Input{Scenarios: []Scenario{s}}, Tuning{Families: []string{"window"}, Baseline: []Candidate{anyOf}, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	best := rep.Families[0].Best
	if rep.Baseline[0].Cost >= best.Cost {
		t.Fatalf("the test needs a baseline that beats the search: any costs %v, the best window %v", rep.Baseline[0].Cost, best.Cost)
	}
	if rep.Winner.Candidate.Name != "any" || !rep.WinnerIsBaseline {
		t.Errorf("winner %q (baseline %v), want any", rep.Winner.Candidate.Name, rep.WinnerIsBaseline)
	}
	var out strings.Builder
	if err := rep.Write(&out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.Contains(s, "note:") ||
		!strings.Contains(s, "winner: any (cost ") ||
		!strings.Contains(s, "Policy:         policy.Any(policy.Consecutive(2), policy.Slow(time.Second, 0.5, 20, 10*time.Second)),") ||
		!strings.Contains(s, "\n  any(consecutive(2),slow(1s,0.5,20,10s))@open=1s,probes=1\n") {
		t.Errorf("report:\n%s", s)
	}
}

// TestGoPolicy: the Go form of a candidate's policy, for a winner that
// the search did not write.
func TestGoPolicy(t *testing.T) {
	for _, tc := range []struct {
		p    policy.Policy
		want string
	}{
		{policy.Rate(0.25, 20, 10*time.Second), "policy.Rate(0.25, 20, 10 * time.Second)"},
		{policy.All(policy.LastN(0.5, 5, 100), policy.Window(3, 1500*time.Millisecond)), "policy.All(policy.LastN(0.5, 5, 100), policy.Window(3, 1500 * time.Millisecond))"},
	} {
		got, ok := goPolicy(Candidate{New: func() policy.Policy { return tc.p }})
		if !ok || got != tc.want {
			t.Errorf("goPolicy(%v) = %q, %v; want %q", tc.p, got, ok, tc.want)
		}
	}
	if _, ok := goPolicy(Candidate{New: func() policy.Policy { return nameless{} }}); ok {
		t.Error("a policy without a String method has a Go form")
	}
}

type nameless struct{}

func (nameless) Record(policy.Call) bool { return false }
func (nameless) Reset()                  {}

// TestBackoffRandOutOfRange: a Backoff.Rand that returns 5 or NaN was
// clamped by the breaker without a word; the lab reports it.
func TestBackoffRandOutOfRange(t *testing.T) {
	s := Scenario{Name: "hand", Duration: 10 * time.Second, Rate: 10, OpenTimeout: time.Second, HalfOpenProbes: 1,
		Phases: []Phase{{Start: 2 * time.Second, End: 5 * time.Second, Errors: Steady(1.0)}}}
	for _, u := range []float64{5, math.NaN(), -0.5, 1} {
		c := consecutive(3)
		c.Backoff = &breaker.Backoff{Max: 4 * time.Second, Jitter: 0.5, Rand: func() float64 { return u }}
		_, err := Run([]Scenario{s}, []Candidate{c}, 1)
		want := fmt.Sprintf(`lab: candidate "consecutive": Backoff.Rand returned %v, outside [0, 1)`, u)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `(scenario "hand")`) {
			t.Errorf("Rand returning %v: err = %v, want %q", u, err, want)
		}
	}
	c := consecutive(3)
	c.Backoff = &breaker.Backoff{Max: 4 * time.Second, Jitter: 0.5, Rand: func() float64 { return 0.999 }}
	if _, err := Run([]Scenario{s}, []Candidate{c}, 1); err != nil {
		t.Errorf("Rand in range: %v", err)
	}
}

// TestBackoffBelowOpenNamesSettings: a backoff shorter than the open
// period was reported with the breaker's field names, Backoff.Max and
// OpenTimeout; it names the lab's settings and where the open period came
// from.
func TestBackoffBelowOpenNamesSettings(t *testing.T) {
	s := Scenario{Name: "hand", Duration: 10 * time.Second, Rate: 10, OpenTimeout: 10 * time.Second}
	for _, tc := range []struct {
		open time.Duration
		s    Scenario
		want string
	}{
		{0, s, "backoff, the longest open period (5s), is shorter than the first open period (10s, the scenario's open_timeout)"},
		{20 * time.Second, s, "(20s, its open setting)"},
		{0, Scenario{Name: "hand", Duration: 10 * time.Second, Rate: 10}, "(1m0s, the breaker's default)"},
	} {
		c := consecutive(3)
		c.OpenTimeout = tc.open
		c.Backoff = &breaker.Backoff{Max: 5 * time.Second}
		_, err := Run([]Scenario{tc.s}, []Candidate{c}, 1)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "Backoff.Max") {
			t.Errorf("open %v: err = %v, want %q", tc.open, err, tc.want)
		}
	}
}

// TestParseObjectiveAllZero: weights that are all 0 fell back to the
// defaults without a word (Tune takes the zero Objective for them).
func TestParseObjectiveAllZero(t *testing.T) {
	_, err := ParseObjective("sent=0,lost=0,false-trip=0,close=0")
	var re *RangeError
	if !errors.As(err, &re) || re.Field != "weights" || !strings.Contains(re.Problem(), "every weight is 0") {
		t.Errorf("err = %v, want a RangeError for weights saying every weight is 0", err)
	}
	if _, err := ParseObjective("sent=0,lost=0,false-trip=0,close=0.001"); err != nil {
		t.Errorf("one weight above 0: %v", err)
	}
}

// TestScenarioNumberOutOfRange: "rate": 1e400 said "expected a number,
// got a JSON number".
func TestScenarioNumberOutOfRange(t *testing.T) {
	for in, want := range map[string]string{
		`{"name": "x", "duration": "1m", "rate": 1e400}`:                        `rate: 1e400 is too large: expected a number of at most 1.8e+308`,
		`{"name": "x", "duration": "1m", "rate": -1e400}`:                       `rate: -1e400 is too small`,
		`{"name": "x", "duration": "1m", "rate": 10, "half_open_probes": 1e30}`: `half_open_probes: 1e30 is too large: expected a whole number`,
		`{"name": "x", "duration": "1m", "rate": 10, "half_open_probes": 1.5}`:  `half_open_probes: 1.5 is not a whole number`,
	} {
		_, err := ParseScenarios(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "got a JSON number") {
			t.Errorf("%s: err = %v, want %q", in, err, want)
		}
	}
}
