package lab

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// handTrace is TestRunOutageByHand's scenario as a trace: a call every
// 100 ms for 10 s, taking no time, failing from 2 s to 5 s. Each line
// writes its start, duration and outcome in a different accepted form,
// and neighbouring lines are swapped, as an access log written at the end
// of each call would have them.
func handTrace(withFaultColumn bool) string {
	base := time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)
	var b strings.Builder
	b.WriteString("status,latency,host,start")
	if withFaultColumn {
		b.WriteString(",fault")
	}
	b.WriteString("\n")
	lines := make([]string, 100)
	for i := range lines {
		at := base.Add(time.Duration(i) * 100 * time.Millisecond)
		failed := i >= 20 && i < 50
		var start, dur, outcome string
		switch i % 4 {
		case 0:
			start = at.Format(time.RFC3339Nano)
		case 1:
			start = fmt.Sprintf("%d.%03d", at.Unix(), at.Nanosecond()/1e6)
		case 2:
			start = fmt.Sprint(at.UnixMilli())
		case 3:
			start = fmt.Sprint(at.UnixNano())
		}
		if i%2 == 0 {
			dur = "0"
		} else {
			dur = "0s"
		}
		switch {
		case failed && i%3 == 0:
			outcome = "error"
		case failed && i%3 == 1:
			outcome = "503"
		case failed:
			outcome = "429"
		case i%3 == 0:
			outcome = "ok"
		case i%3 == 1:
			outcome = "200"
		default:
			outcome = "404" // a client error is the dependency's success
		}
		lines[i] = outcome + "," + dur + ",api-1," + start
		if withFaultColumn {
			lines[i] += fmt.Sprintf(",%t", failed)
		}
	}
	for i := 1; i+1 < len(lines); i += 7 {
		lines[i], lines[i+1] = lines[i+1], lines[i]
	}
	b.WriteString(strings.Join(lines, "\n") + "\n")
	return b.String()
}

// A trace replays its calls exactly: the by-hand outage, read from a
// trace, gives the scenario's figures and transitions, whether the fault is
// marked by offsets, by times or by a column.
func TestReplayTraceMatchesScenario(t *testing.T) {
	s := Scenario{
		Name: "hand", Duration: 10 * time.Second, Rate: 10,
		OpenTimeout: time.Second, HalfOpenProbes: 1,
		Phases: []Phase{{Start: 2 * time.Second, End: 5 * time.Second, Errors: Steady(1.0)}},
	}
	rep, err := Run([]Scenario{s}, []Candidate{consecutive(3)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := rep.Scenarios[0].Results[0]
	base := time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		tr     Trace
		column bool
	}{
		"offsets": {Trace{FaultStart: 2 * time.Second, FaultEnd: 5 * time.Second}, false},
		"times":   {Trace{FaultStartTime: base.Add(2 * time.Second), FaultEndTime: base.Add(5 * time.Second)}, false},
		"column":  {Trace{}, true},
	} {
		t.Run(name, func(t *testing.T) {
			tc.tr.OpenTimeout, tc.tr.HalfOpenProbes = time.Second, 1
			rep, err := ReplayTrace(strings.NewReader(handTrace(tc.column)), tc.tr, []Candidate{consecutive(3)}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := rep.Scenarios[0].Results[0]
			if name == "column" {
				// The fault spans the first to the end of the last marked
				// call, so it ends at 4.9 s, not 5 s: the close comes
				// 100 ms later.
				if got.TimeToClose != want.TimeToClose+100*ms {
					t.Errorf("TimeToClose %v, want %v", got.TimeToClose, want.TimeToClose+100*ms)
				}
				got.TimeToClose = want.TimeToClose
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
	// An end column gives the same calls: the start is the end less the
	// duration.
	var ends strings.Builder
	ends.WriteString("end,duration_s,status\n")
	for i := range 100 {
		at := base.Add(time.Duration(i) * 100 * time.Millisecond)
		status := 200
		if i >= 20 && i < 50 {
			status = 503
		}
		fmt.Fprintf(&ends, "%s,0.25,%d\n", at.Add(250*time.Millisecond).Format(time.RFC3339Nano), status)
	}
	rep, err = ReplayTrace(strings.NewReader(ends.String()), Trace{FaultStart: 2 * time.Second, FaultEnd: 5 * time.Second,
		OpenTimeout: time.Second, HalfOpenProbes: 1}, []Candidate{consecutive(3)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Scenarios[0].Results[0]; got.TimeToTrip != 450*ms || got.Calls != 100 || rep.Scenarios[0].Scenario.Duration != 10*time.Second+150*ms {
		t.Errorf("end column: trip %v, %d calls, span %v", got.TimeToTrip, got.Calls, rep.Scenarios[0].Scenario.Duration)
	}
	// Its JSON says it is a trace, and gives the fault without a phase's
	// errors and latency, which are the trace's own.
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if out := strings.Join(strings.Fields(js.String()), ""); !strings.Contains(out, `"source":"trace"`) ||
		!strings.Contains(out, `"phases":[{"name":"fault","start":"2s","end":"5s"}]`) {
		t.Errorf("JSON of a trace:\n%s", out)
	}
	// Without a fault marked, the timing figures do not apply.
	rep, err = ReplayTrace(strings.NewReader(handTrace(false)), Trace{}, []Candidate{consecutive(3)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Scenarios[0].Results[0]; r.TimeToTrip != NotApplicable || r.TimeToClose != NotApplicable || r.FaultSent != 0 || r.Trips != 1 {
		t.Errorf("no fault: %+v", r)
	}
}

// FindFault finds the by-hand outage's seconds: 2 s to 5 s, where every
// call fails.
func TestFindFault(t *testing.T) {
	start, end, found, err := FindFault(strings.NewReader(handTrace(false)), Trace{}, 0.5)
	if err != nil || !found || start != 2*time.Second || end != 5*time.Second {
		t.Errorf("got %v to %v (%v, %v), want 2s to 5s", start, end, found, err)
	}
	if _, _, found, err := FindFault(strings.NewReader(handTrace(false)), Trace{}, 1e-9); err != nil || !found {
		t.Errorf("a tiny share: %v, %v", found, err)
	}
	if _, _, _, err := FindFault(strings.NewReader(""), Trace{}, 1.5); err == nil || !strings.Contains(err.Error(), "share: must be a fraction in (0, 1], got 1.5") {
		t.Errorf("share 1.5: %v", err)
	}
	calm := "start,duration,status\n" + strings.Repeat("1796047200,5,200\n", 20)
	if _, _, found, err := FindFault(strings.NewReader(calm), Trace{}, 0.5); err != nil || found {
		t.Errorf("a calm trace: %v, %v", found, err)
	}
}

// Bad traces are errors naming the line and the column.
func TestReplayTraceErrors(t *testing.T) {
	for _, tc := range []struct {
		name, trace string
		tr          Trace
		want        string
	}{
		{"empty", "", Trace{}, "line 1: the trace is empty"},
		{"start and end", "start,end,duration,status\n", Trace{}, "line 1: end: give start or end, not both"},
		{"no outcome column", "start,duration\n1,2\n", Trace{}, `line 1: the header "start,duration" has no column outcome`},
		{"two start columns", "start,time,duration,status\n", Trace{}, "line 1: time: a second column"},
		{"bad time", "start,duration,status\n1764511331,5,200\nyesterday,5,200\n", Trace{}, `line 3: start: "yesterday" is not RFC 3339`},
		{"bad duration", "start,duration,status\n1764511331,fast,200\n", Trace{}, `line 2: duration: "fast" is not a duration`},
		{"negative duration", "start,duration,status\n1764511331,-5,200\n", Trace{}, "line 2: duration: -5 is out of range"},
		{"bad outcome", "start,duration,status\n1764511331,5,maybe\n", Trace{}, `line 2: outcome: "maybe" is neither ok/error nor an HTTP status code`},
		{"short line", "start,duration,status\n1764511331,5\n", Trace{}, "line 2: 2 fields, fewer than the header names"},
		{"bad fault", "start,duration,status,fault\n1764511331,5,200,perhaps\n", Trace{}, `line 2: fault: "perhaps" is not true/false`},
		{"out of order", "start,duration,status\n1764511400,5,200\n1764511402,5,200\n1764511331,5,200\n", Trace{Reorder: time.Second}, "line 4: start: 2025-11-30T14:02:11Z is more than 1s before a call read earlier"},
		{"fault twice", "start,duration,status,fault\n", Trace{FaultStart: 1, FaultEnd: 2}, "mark the fault one way"},
		{"fault backwards", "start,duration,status\n", Trace{FaultStart: 2, FaultEnd: 1}, "Trace.FaultEnd: the fault must not end"},
		{"bad probes", "start,duration,status\n", Trace{HalfOpenProbes: -1}, "Trace.HalfOpenProbes: HalfOpenProbes must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReplayTrace(strings.NewReader(tc.trace), tc.tr, []Candidate{consecutive(3)}, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant one containing %q", err, tc.want)
			}
			var te *TraceError
			if errors.As(err, &te) && !errors.Is(err, ErrInvalidTrace) {
				t.Error("a TraceError that does not wrap ErrInvalidTrace")
			}
		})
	}
}
