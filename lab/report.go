package lab

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// Never is the value of a timing figure for something that did not happen
// within the scenario: a circuit that did not trip during the fault, or did
// not close again before the scenario ended. Outputs write it "never".
const Never time.Duration = -1

// NotApplicable is the value of both timing figures in a scenario without
// a fault, where there is nothing to trip on or recover from, and of
// TimeToClose for a circuit that never opened. Outputs write it "n/a".
const NotApplicable time.Duration = -2

// Report is the outcome of a run: one [ScenarioReport] per scenario, in
// the order given. It is plain data: its writers only read it, so they may
// run concurrently, but not alongside a change to it. The zero Report
// writes outputs with headers and no rows.
type Report struct {
	// Seed is the seed the traffic was drawn with.
	Seed uint64
	// Fleet is the number of instances that shared the traffic, each with
	// its own breaker (0 in the zero Report, meaning one), and Route how
	// they shared it.
	Fleet int
	Route Route
	// Share is Options.Share: each candidate has a second row, where the
	// fleet's breakers share one circuit.
	Share bool
	// Scenarios holds the results, scenario by scenario.
	Scenarios []ScenarioReport
}

// ScenarioReport holds what each candidate did in one scenario.
type ScenarioReport struct {
	// Scenario is the scenario as it was run. For a replayed trace it is
	// built from the trace: its name, its span as Duration, and the fault
	// as one phase.
	Scenario Scenario
	// Results holds one result per candidate, in the order given.
	Results []Result
	// load is the traffic the dependency would have seen with no breaker,
	// in time bins, for the timeline.
	load loadBins
	// traced tells a replayed trace from a scenario.
	traced bool
	// scenarioOpen tells that some candidate set no open period of its
	// own, and took the scenario's.
	scenarioOpen bool
	// fleet is the number of instances that shared the traffic.
	fleet int
}

// Result is what one candidate did in one scenario. Each figure has one
// name, the same in Go, in the table, in CSV and in JSON (there in
// snake_case: FaultSent is fault_sent). The package documentation defines
// each figure; the ones whose names start with Fault count calls that
// arrived during the fault, the others count the whole run.
type Result struct {
	// Candidate is the candidate's name; Spec describes it, with its
	// thresholds and the breaker settings it sets.
	Candidate, Spec string
	// Calls is the number of calls that arrived; each was either sent to
	// the dependency or rejected. Failed is the number of calls sent that
	// the dependency failed: the errors callers saw.
	Calls, Sent, Rejected, Failed int
	// FaultSent is the number of calls sent that arrived during the fault,
	// and FaultFailed how many of them failed.
	FaultSent, FaultFailed int
	// HealthyLost is the number of rejected calls that the dependency
	// would have served well: that arrived outside the fault, or that
	// would have succeeded no slower than Scenario.SlowCall.
	HealthyLost int
	// Probes is the number of calls sent while the circuit was half-open.
	Probes int
	// Trips is the number of times the policy opened the closed circuit;
	// Reopens the number of times a failed probe opened the half-open
	// one. FalseTrips is the number of trips before the fault began (every
	// trip, in a scenario without a fault).
	Trips, Reopens, FalseTrips int
	// TimeToTrip is how long after the fault began the circuit was first
	// open: Never if not during the fault, NotApplicable without a fault.
	TimeToTrip time.Duration
	// TimeToClose is how long after the fault ended the circuit was closed
	// again (0 if it was closed when the fault ended, having opened): Never
	// if not before the scenario ended, NotApplicable without a fault or
	// when the circuit never opened.
	TimeToClose time.Duration
	// Transitions lists every state change, in order.
	Transitions []Transition
}

// Transition is one change of a circuit's state.
type Transition struct {
	// At is when it happened, since the scenario began.
	At time.Duration
	// Instance is the fleet instance whose breaker changed, from 0.
	Instance int
	// From and To are the states before and after.
	From, To breaker.State
	// Adopted tells a change the instance adopted from the fleet's shared
	// circuit (Options.Share) from one its own breaker made.
	Adopted bool
}

// Columns of the table, CSV and JSON, with what each counts: the table's
// key, and the package documentation's list.
var figureKey = []struct{ name, means string }{
	{"time_to_trip", "time from the start of the fault to the first moment the circuit was open"},
	{"fault_sent", "calls let through to the dependency that arrived during the fault (probes included)"},
	{"fault_failed", "of those, the calls that failed"},
	{"healthy_lost", "calls rejected that arrived outside the fault or would have succeeded (and not been slow); whole run"},
	{"time_to_close", "time from the end of the fault until the circuit was closed again"},
	{"probes", "calls let through while half-open; whole run"},
	{"trips", "times the policy opened the closed circuit; whole run"},
	{"reopens", "times a failed probe opened the half-open circuit; whole run"},
}

const tableNote = `  times: "never" = it did not happen before the end; "n/a" = the scenario has no fault
  (time_to_close: or the circuit never opened)
`

// WriteTable writes the report as an aligned text table, one row per
// scenario and candidate, followed by the candidates' specs and a key to
// the columns.
func (r *Report) WriteTable(w io.Writer) error {
	var buf bytes.Buffer
	if r.Fleet > 1 {
		fmt.Fprintf(&buf, "fleet: %d instances, each with its own breaker, traffic shared %s\n", r.Fleet, r.Route)
		if r.Share {
			fmt.Fprintf(&buf, "rows %q: the instances' breakers share one circuit through package fleet\n", "..."+SharedSuffix)
		}
		buf.WriteString("\n")
	}
	for i := range r.Scenarios {
		if line := traceSettingsLine(&r.Scenarios[i]); line != "" {
			buf.WriteString(line + "\n\n")
		}
	}
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	header := []string{"scenario", "candidate"}
	for _, k := range figureKey {
		header = append(header, k.name)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	blank := strings.Repeat("\t", len(header)-1)
	for i, sr := range r.Scenarios {
		if i > 0 {
			// A row of empty cells keeps the columns of all scenarios
			// aligned as one block; its padding is trimmed below.
			fmt.Fprintln(tw, blank)
		}
		for j, res := range sr.Results {
			name := ""
			if j == 0 {
				name = sr.Scenario.Name
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%d\t%d\t%d\n", name, res.Candidate,
				tableDuration(res.TimeToTrip), res.FaultSent, res.FaultFailed, res.HealthyLost,
				tableDuration(res.TimeToClose), res.Probes, res.Trips, res.Reopens)
		}
	}
	if len(r.Scenarios) > 0 {
		fmt.Fprintln(tw, blank)
		fmt.Fprintln(tw, "candidates:")
		for _, res := range r.Scenarios[0].Results {
			fmt.Fprintf(tw, "  %s\t%s\n", res.Candidate, res.Spec)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	buf.WriteString("\ncolumns:\n")
	kw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	for _, k := range figureKey {
		fmt.Fprintf(kw, "  %s\t%s\n", k.name, k.means)
	}
	kw.Flush()
	buf.WriteString(tableNote)
	for line := range strings.Lines(buf.String()) {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// traceSettingsLine says, for a trace, how long the breakers of the
// candidates that set no open period of their own stay open, or returns
// "". A trace has no settings of its own: they are the breaker's default
// (60s), where the built-in scenarios use 10s, and a row's figures can
// differ by that alone.
func traceSettingsLine(sr *ScenarioReport) string {
	if !sr.traced || !sr.scenarioOpen {
		return ""
	}
	s := &sr.Scenario
	whose := "the breaker's default"
	if s.OpenTimeout != 0 {
		whose = "the trace's setting"
	}
	return fmt.Sprintf("trace %s: a candidate that sets no open period stays open for %s, %s (the built-in scenarios use %s): set one with -open, or open= in a spec",
		s.Name, shortDuration(s.openTimeout()), whose, shortDuration(Builtin()[0].OpenTimeout))
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

func tableDuration(d time.Duration) string {
	switch d {
	case Never:
		return "never"
	case NotApplicable:
		return "n/a"
	}
	return d.Round(time.Millisecond).String()
}

// seconds writes a duration as seconds, exactly, or "never" or "n/a".
func seconds(d time.Duration) string {
	if d < 0 {
		return tableDuration(d)
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// csvHeader names the CSV columns and the JSON fields of a result.
var csvHeader = []string{"scenario", "candidate", "spec", "calls", "sent", "rejected", "failed",
	"fault_sent", "fault_failed", "healthy_lost", "probes", "trips", "reopens", "false_trips",
	"time_to_trip_s", "time_to_close_s"}

// WriteCSV writes the report as CSV with a header row, one row per
// scenario and candidate. Times are in seconds (the "_s" of their names),
// or "never" or "n/a".
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	for _, sr := range r.Scenarios {
		for _, res := range sr.Results {
			cw.Write([]string{sr.Scenario.Name, res.Candidate, res.Spec,
				strconv.Itoa(res.Calls), strconv.Itoa(res.Sent), strconv.Itoa(res.Rejected),
				strconv.Itoa(res.Failed), strconv.Itoa(res.FaultSent), strconv.Itoa(res.FaultFailed),
				strconv.Itoa(res.HealthyLost), strconv.Itoa(res.Probes), strconv.Itoa(res.Trips),
				strconv.Itoa(res.Reopens), strconv.Itoa(res.FalseTrips),
				seconds(res.TimeToTrip), seconds(res.TimeToClose)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// The JSON form of a report. Scenarios are written in the input format, so
// a report's scenario can be run again as it is.
type (
	reportJSON struct {
		Seed      uint64               `json:"seed"`
		Fleet     int                  `json:"fleet"`
		Route     string               `json:"route"`
		Scenarios []scenarioReportJSON `json:"scenarios"`
	}
	scenarioReportJSON struct {
		Source   string       `json:"source"`
		Scenario scenarioOut  `json:"scenario"`
		Results  []resultJSON `json:"results"`
	}
	scenarioOut struct {
		Name           string     `json:"name"`
		Description    string     `json:"description,omitempty"`
		Duration       string     `json:"duration"`
		Rate           float64    `json:"rate"`
		Jitter         float64    `json:"jitter"`
		Errors         float64    `json:"errors"`
		Latency        string     `json:"latency"`
		SlowCall       string     `json:"slow_call,omitempty"`
		OpenTimeout    string     `json:"open_timeout,omitempty"`
		HalfOpenProbes int        `json:"half_open_probes,omitempty"`
		Phases         []phaseOut `json:"phases,omitempty"`
	}
	phaseOut struct {
		Name    string `json:"name,omitempty"`
		Start   string `json:"start"`
		End     string `json:"end"`
		Errors  any    `json:"errors,omitempty"`
		Latency any    `json:"latency,omitempty"`
	}
	resultJSON struct {
		Candidate   string           `json:"candidate"`
		Spec        string           `json:"spec"`
		Calls       int              `json:"calls"`
		Sent        int              `json:"sent"`
		Rejected    int              `json:"rejected"`
		Failed      int              `json:"failed"`
		FaultSent   int              `json:"fault_sent"`
		FaultFailed int              `json:"fault_failed"`
		HealthyLost int              `json:"healthy_lost"`
		Probes      int              `json:"probes"`
		Trips       int              `json:"trips"`
		Reopens     int              `json:"reopens"`
		FalseTrips  int              `json:"false_trips"`
		TimeToTrip  any              `json:"time_to_trip_s"`
		TimeToClose any              `json:"time_to_close_s"`
		Transitions []transitionJSON `json:"transitions"`
	}
	transitionJSON struct {
		At       float64 `json:"at_s"`
		Instance int     `json:"instance"`
		From     string  `json:"from"`
		To       string  `json:"to"`
		Adopted  bool    `json:"adopted,omitempty"`
	}
)

// WriteJSON writes the report as indented JSON: the seed, the fleet, and
// for each scenario its definition (in the input format) and every
// candidate's figures and transitions. Times are in seconds, or the
// strings "never" and "n/a".
func (r *Report) WriteJSON(w io.Writer) error {
	out := reportJSON{Seed: r.Seed, Fleet: max(r.Fleet, 1), Route: r.Route.String(), Scenarios: []scenarioReportJSON{}}
	for _, sr := range r.Scenarios {
		sj := scenarioReportJSON{Source: "scenario", Scenario: scenarioToJSON(&sr.Scenario), Results: []resultJSON{}}
		if sr.traced {
			// A trace's calls are in its file: the scenario only records
			// its span, its settings and the fault, whose errors and
			// latency are the trace's, not a phase's.
			sj.Source = "trace"
			for i := range sj.Scenario.Phases {
				sj.Scenario.Phases[i].Errors, sj.Scenario.Phases[i].Latency = nil, nil
			}
		}
		for _, res := range sr.Results {
			rj := resultJSON{
				Candidate: res.Candidate, Spec: res.Spec, Calls: res.Calls, Sent: res.Sent,
				Rejected: res.Rejected, Failed: res.Failed, FaultSent: res.FaultSent,
				FaultFailed: res.FaultFailed, HealthyLost: res.HealthyLost, Probes: res.Probes,
				Trips: res.Trips, Reopens: res.Reopens, FalseTrips: res.FalseTrips,
				TimeToTrip: jsonSeconds(res.TimeToTrip), TimeToClose: jsonSeconds(res.TimeToClose),
				Transitions: []transitionJSON{},
			}
			for _, t := range res.Transitions {
				rj.Transitions = append(rj.Transitions, transitionJSON{At: t.At.Seconds(), Instance: t.Instance, From: t.From.String(), To: t.To.String(), Adopted: t.Adopted})
			}
			sj.Results = append(sj.Results, rj)
		}
		out.Scenarios = append(out.Scenarios, sj)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// jsonSeconds is a duration in seconds, or "never" or "n/a".
func jsonSeconds(d time.Duration) any {
	if d < 0 {
		return tableDuration(d)
	}
	return d.Seconds()
}

func scenarioToJSON(s *Scenario) scenarioOut {
	out := scenarioOut{
		Name: s.Name, Description: s.Description, Duration: s.Duration.String(),
		Rate: s.Rate, Jitter: s.Jitter, Errors: s.Errors, Latency: s.Latency.String(),
		HalfOpenProbes: s.HalfOpenProbes,
	}
	if s.SlowCall > 0 {
		out.SlowCall = s.SlowCall.String()
	}
	if s.OpenTimeout > 0 {
		out.OpenTimeout = s.OpenTimeout.String()
	}
	for _, p := range s.Phases {
		po := phaseOut{Name: p.Name, Start: p.Start.String(), End: p.End.String(),
			Errors: p.Errors.From, Latency: p.Latency.From.String()}
		if p.Errors.To != p.Errors.From {
			po.Errors = []float64{p.Errors.From, p.Errors.To}
		}
		if p.Latency.To != p.Latency.From {
			po.Latency = []string{p.Latency.From.String(), p.Latency.To.String()}
		}
		out.Phases = append(out.Phases, po)
	}
	return out
}
