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
// not close again before the scenario ended. It is also the value of both
// timing figures in a scenario without a fault.
const Never time.Duration = -1

// Report is the outcome of [Run]: one [ScenarioReport] per scenario, in the
// order given. It is plain data: its writers only read it, so they may run
// concurrently, but not alongside a change to it. The zero Report writes
// outputs with headers and no rows.
type Report struct {
	// Seed is the seed the traffic was drawn with.
	Seed uint64
	// Scenarios holds the results, scenario by scenario.
	Scenarios []ScenarioReport
}

// ScenarioReport holds what each policy did in one scenario.
type ScenarioReport struct {
	// Scenario is the scenario as it was run.
	Scenario Scenario
	// Results holds one result per policy, in the order given to Run.
	Results []Result
	// load is the traffic the dependency would have seen with no breaker,
	// in time bins, for the timeline.
	load []bin
}

// Result is what one policy did in one scenario. The package documentation
// defines each figure.
type Result struct {
	// Policy is the policy's name; Spec describes it, with its thresholds
	// (the policy's String method, or its name).
	Policy, Spec string
	// Calls is the number of calls that arrived; each was either admitted
	// or rejected.
	Calls, Admitted, Rejected int
	// Failed is the number of admitted calls that the dependency failed.
	Failed int
	// FaultCalls is the number of calls sent to the dependency (admitted)
	// that arrived during the fault.
	FaultCalls int
	// HealthyRejected is the number of rejected calls that arrived outside
	// the fault, or that the dependency would have served well (no error,
	// and no slower than Scenario.SlowCall).
	HealthyRejected int
	// Probes is the number of calls admitted while the circuit was
	// half-open.
	Probes int
	// Trips is the number of times the policy opened the closed circuit.
	Trips int
	// TimeToTrip is how long after the fault began the circuit was first
	// open, or Never.
	TimeToTrip time.Duration
	// TimeToClose is how long after the fault ended the circuit was closed
	// again (0 if it was closed when the fault ended), or Never.
	TimeToClose time.Duration
	// Transitions lists every state change, in order.
	Transitions []Transition
}

// Transition is one change of the circuit's state.
type Transition struct {
	// At is when it happened, since the scenario began.
	At time.Duration
	// From and To are the states before and after.
	From, To breaker.State
}

// tableKey explains the columns of the table, below it.
const tableKey = `columns:
  trip    time from the start of the fault to the first moment the circuit was open ("-": not during the fault)
  sent    calls let through to the dependency that arrived during the fault
  failed  calls let through that failed, over the whole scenario
  lost    healthy calls rejected: arrived outside the fault, or would have succeeded (and not been slow)
  close   time from the end of the fault until the circuit was closed again ("-": not before the scenario ended)
  probes  calls let through while half-open
  trips   times the policy opened the closed circuit
`

// WriteTable writes the report as an aligned text table, one row per
// scenario and policy, followed by the policies' thresholds and a key to
// the columns.
func (r *Report) WriteTable(w io.Writer) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tpolicy\ttrip\tsent\tfailed\tlost\tclose\tprobes\ttrips")
	for i, sr := range r.Scenarios {
		if i > 0 {
			// A row of empty cells keeps the columns of all scenarios
			// aligned as one block; its padding is trimmed below.
			fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t")
		}
		for j, res := range sr.Results {
			name := ""
			if j == 0 {
				name = sr.Scenario.Name
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%d\t%d\n", name, res.Policy,
				tableDuration(res.TimeToTrip), res.FaultCalls, res.Failed, res.HealthyRejected,
				tableDuration(res.TimeToClose), res.Probes, res.Trips)
		}
	}
	if len(r.Scenarios) > 0 {
		fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t")
		fmt.Fprintln(tw, "policies:")
		for _, res := range r.Scenarios[0].Results {
			fmt.Fprintf(tw, "  %s\t%s\n", res.Policy, res.Spec)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for line := range strings.Lines(buf.String()) {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "\n%s", tableKey)
	return err
}

func tableDuration(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return d.Round(time.Millisecond).String()
}

// seconds writes a duration as seconds, exactly, or "" for Never.
func seconds(d time.Duration) string {
	if d < 0 {
		return ""
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// WriteCSV writes the report as CSV with a header row, one row per
// scenario and policy. Times are in seconds; an empty time is Never.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"scenario", "policy", "spec", "calls", "admitted", "rejected", "failed",
		"fault_calls", "healthy_rejected", "probes", "trips", "time_to_trip_s", "time_to_close_s"})
	for _, sr := range r.Scenarios {
		for _, res := range sr.Results {
			cw.Write([]string{sr.Scenario.Name, res.Policy, res.Spec,
				strconv.Itoa(res.Calls), strconv.Itoa(res.Admitted), strconv.Itoa(res.Rejected),
				strconv.Itoa(res.Failed), strconv.Itoa(res.FaultCalls), strconv.Itoa(res.HealthyRejected),
				strconv.Itoa(res.Probes), strconv.Itoa(res.Trips),
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
		Scenarios []scenarioReportJSON `json:"scenarios"`
	}
	scenarioReportJSON struct {
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
		Errors  any    `json:"errors"`
		Latency any    `json:"latency"`
	}
	resultJSON struct {
		Policy          string           `json:"policy"`
		Spec            string           `json:"spec"`
		Calls           int              `json:"calls"`
		Admitted        int              `json:"admitted"`
		Rejected        int              `json:"rejected"`
		Failed          int              `json:"failed"`
		FaultCalls      int              `json:"fault_calls"`
		HealthyRejected int              `json:"healthy_rejected"`
		Probes          int              `json:"probes"`
		Trips           int              `json:"trips"`
		TimeToTrip      *float64         `json:"time_to_trip_s"`
		TimeToClose     *float64         `json:"time_to_close_s"`
		Transitions     []transitionJSON `json:"transitions"`
	}
	transitionJSON struct {
		At   float64 `json:"at_s"`
		From string  `json:"from"`
		To   string  `json:"to"`
	}
)

// WriteJSON writes the report as indented JSON: the seed, and for each
// scenario its definition (in the input format) and every policy's figures
// and transitions. Times are in seconds; null is Never.
func (r *Report) WriteJSON(w io.Writer) error {
	out := reportJSON{Seed: r.Seed, Scenarios: []scenarioReportJSON{}}
	for _, sr := range r.Scenarios {
		sj := scenarioReportJSON{Scenario: scenarioToJSON(&sr.Scenario), Results: []resultJSON{}}
		for _, res := range sr.Results {
			rj := resultJSON{
				Policy: res.Policy, Spec: res.Spec, Calls: res.Calls, Admitted: res.Admitted,
				Rejected: res.Rejected, Failed: res.Failed, FaultCalls: res.FaultCalls,
				HealthyRejected: res.HealthyRejected, Probes: res.Probes, Trips: res.Trips,
				TimeToTrip: secondsPtr(res.TimeToTrip), TimeToClose: secondsPtr(res.TimeToClose),
				Transitions: []transitionJSON{},
			}
			for _, t := range res.Transitions {
				rj.Transitions = append(rj.Transitions, transitionJSON{At: t.At.Seconds(), From: t.From.String(), To: t.To.String()})
			}
			sj.Results = append(sj.Results, rj)
		}
		out.Scenarios = append(out.Scenarios, sj)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func secondsPtr(d time.Duration) *float64 {
	if d < 0 {
		return nil
	}
	s := d.Seconds()
	return &s
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
