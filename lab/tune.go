package lab

import (
	"errors"
	"fmt"
	"go/format"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tripwire-go/tripwire/internal/gocode"
	"github.com/tripwire-go/tripwire/spec"
)

// Objective weighs what a candidate costs in a tuning search. The cost of
// a candidate is, summed over the scenarios searched,
//
//	Sent×fault_sent + Lost×healthy_lost + FalseTrip×false_trips + Close×(time_to_close in seconds)
//
// where a circuit that never closed counts the time from the end of the
// fault to the end of the run. Lower is better.
type Objective struct {
	// Sent weighs each call let through to the failing dependency during
	// the fault: an error a caller saw, and load on a struggling service.
	Sent float64
	// Lost weighs each healthy call rejected.
	Lost float64
	// FalseTrip weighs each trip before a fault (or without one): the
	// alarm it raises, beyond the calls it loses.
	FalseTrip float64
	// Close weighs each second from the end of the fault until the
	// circuit closed.
	Close float64
}

// DefaultObjective counts a call sent into the fault and a healthy call
// lost alike, as one failed request each; a false trip as 100 of them;
// and each second the circuit stays open after the fault as one more.
var DefaultObjective = Objective{Sent: 1, Lost: 1, FalseTrip: 100, Close: 1}

// String writes the objective as the -weights flag takes it.
func (o Objective) String() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return "sent=" + f(o.Sent) + ",lost=" + f(o.Lost) + ",false-trip=" + f(o.FalseTrip) + ",close=" + f(o.Close)
}

// ParseObjective reads weights written as "sent=1,lost=2,false-trip=100,
// close=0.5"; a weight left out keeps its value in DefaultObjective.
// Weights must be finite and not negative, and not all 0.
func ParseObjective(v string) (Objective, error) {
	o := DefaultObjective
	for _, part := range strings.Split(v, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return o, &RangeError{Field: "weights", problem: fmt.Sprintf("%q is not key=value; the keys are sent, lost, false-trip and close", part)}
		}
		w, err := strconv.ParseFloat(val, 64)
		if err != nil || !(w >= 0) || w > 1e12 {
			return o, &RangeError{Field: "weights." + key, problem: fmt.Sprintf("must be a number from 0 to 1e12, got %q", val)}
		}
		switch key {
		case "sent":
			o.Sent = w
		case "lost":
			o.Lost = w
		case "false-trip":
			o.FalseTrip = w
		case "close":
			o.Close = w
		default:
			return o, &RangeError{Field: "weights", problem: fmt.Sprintf("unknown weight %q; the keys are sent, lost, false-trip and close", key)}
		}
	}
	if o == (Objective{}) {
		// Tune would take the zero Objective for DefaultObjective.
		return o, &RangeError{Field: "weights", problem: "every weight is 0, so every setting would cost 0: give at least one weight above 0"}
	}
	return o, nil
}

// Score is what one candidate did over every scenario of a search.
type Score struct {
	// Candidate is the configuration scored, and GoCode its policy as a
	// Go expression.
	Candidate Candidate
	GoCode    string
	// The figures, summed over the scenarios.
	FaultSent, HealthyLost, FalseTrips int
	CloseTime                          time.Duration
	// Cost is the objective's value: lower is better.
	Cost float64
}

func (a *Score) sameFigures(b Score) bool {
	return a.FaultSent == b.FaultSent && a.HealthyLost == b.HealthyLost && a.FalseTrips == b.FalseTrips && a.CloseTime == b.CloseTime
}

// dominates reports whether a is at least as good as b on every figure and
// better on one.
func (a *Score) dominates(b *Score) bool {
	le := a.FaultSent <= b.FaultSent && a.HealthyLost <= b.HealthyLost && a.FalseTrips <= b.FalseTrips && a.CloseTime <= b.CloseTime
	lt := a.FaultSent < b.FaultSent || a.HealthyLost < b.HealthyLost || a.FalseTrips < b.FalseTrips || a.CloseTime < b.CloseTime
	return le && lt
}

// FamilyResult is the outcome of a search over one policy family.
type FamilyResult struct {
	// Family is the constructor's lowercased name: "rate".
	Family string
	// Searched is the number of settings tried.
	Searched int
	// Best has the lowest cost (the first such, in the search's order).
	Best Score
	// Front holds the settings no other of the family beats on every
	// figure (the Pareto front), cheapest first.
	Front []Score
}

// TuneReport is the outcome of [Tune].
type TuneReport struct {
	// Objective is what the search minimised.
	Objective Objective
	// Scenarios names the scenarios (or the trace) searched.
	Scenarios []string
	// Families holds one result per family searched, in the order asked.
	Families []FamilyResult
	// Baseline scores the candidates given as Tuning.Baseline (the
	// defaults, for the command) in the same way, for comparison.
	Baseline []Score
	// Winner has the lowest cost of every setting searched and every
	// baseline candidate (the first such, families first).
	Winner Score
	// WinnerIsBaseline tells that the winner is a baseline candidate,
	// which no setting searched did as well as.
	WinnerIsBaseline bool
	// Settings are the breaker settings every candidate ran with, as
	// Go struct fields ("OpenTimeout: 10 * time.Second"), for the code of
	// the winner.
	Settings []string
	// Spec is the winner with those settings in the spec language, for a
	// flag or a config file: "lastn(0.25,5,10)@open=10s,probes=3". It is
	// the zero Spec when the winner's policy is one the language cannot
	// write (a baseline candidate of the caller's own).
	Spec spec.Spec
}

// Families lists the policy families Tune searches, in its order.
var Families = []string{"consecutive", "window", "rate", "lastn", "slow"}

// Tuning says what [Tune] searches and how.
type Tuning struct {
	// Families are the policy families to search ([Families] when nil).
	Families []string
	// Objective is what to minimise: the zero Objective means
	// DefaultObjective.
	Objective Objective
	// Base holds the breaker settings of every candidate tried (its Name
	// and New are ignored).
	Base Candidate
	// Baseline candidates are scored as well, for comparison.
	Baseline []Candidate
	// SlowCall is the threshold the slow-call family uses: 0 means each
	// scenario's own SlowCall, or 1s.
	SlowCall time.Duration
	// Options are the runs' options: seed and fleet.
	Options Options
	// Workers is how many goroutines run the search: 0 means GOMAXPROCS.
	// The result does not depend on it.
	Workers int
	// Progress, when set, is called now and then with how many runs of a
	// candidate over a scenario are done, out of how many.
	Progress func(done, total int)
}

// Input is what a tuning search replays: scenarios, or a trace that it
// can open as often as it needs (once per worker), as from a file.
type Input struct {
	Scenarios []Scenario
	Trace     *Trace
	OpenTrace func() (io.ReadCloser, error)
}

// gridEntry is one setting of a family's thresholds.
type gridEntry struct {
	family string
	expr   spec.Expr
}

// grid returns the settings Tune tries for a family: a few values of each
// threshold, spaced roughly geometrically, that suit traffic from a few
// to a few thousand calls a second.
func grid(family string, slowCall time.Duration) []gridEntry {
	var out []gridEntry
	add := func(format string, args ...any) {
		s, err := spec.Parse(fmt.Sprintf(format, args...))
		if err != nil {
			panic("lab: the tuning grid has a bad entry: " + err.Error()) // never: its values are fixed, and slowCall positive
		}
		out = append(out, gridEntry{family, s.Policy})
	}
	ratios := []float64{0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8}
	r := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	switch family {
	case "consecutive":
		for _, n := range []int{2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50} {
			add("consecutive(%d)", n)
		}
	case "window":
		for _, n := range []int{3, 5, 10, 20, 30, 50, 100} {
			for _, over := range []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute} {
				add("window(%d,%s)", n, over)
			}
		}
	case "rate":
		for _, ratio := range ratios {
			for _, minCalls := range []int{5, 10, 20, 50, 100} {
				for _, over := range []time.Duration{2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute} {
					add("rate(%s,%d,%s)", r(ratio), minCalls, over)
				}
			}
		}
	case "lastn":
		for _, ratio := range ratios {
			for _, n := range []int{10, 20, 50, 100, 200} {
				for _, minCalls := range []int{5, 10, 20, 50} {
					if minCalls > n {
						continue
					}
					add("lastn(%s,%d,%d)", r(ratio), minCalls, n)
				}
			}
		}
	case "slow":
		for _, ratio := range []float64{0.1, 0.2, 0.3, 0.5, 0.7, 0.9} {
			for _, minCalls := range []int{5, 10, 20, 50} {
				for _, over := range []time.Duration{5 * time.Second, 10 * time.Second, 30 * time.Second} {
					add("slow(%s,%s,%d,%s)", slowCall, r(ratio), minCalls, over)
				}
			}
		}
	}
	return out
}

// Tune searches each family's thresholds over the input and returns, per
// family, the best settings for the objective and the Pareto front. The
// search is deterministic: the same input, seed and objective give the
// same report, whatever the number of workers.
func Tune(in Input, t Tuning) (*TuneReport, error) {
	if t.Objective == (Objective{}) {
		t.Objective = DefaultObjective
	}
	families := t.Families
	if families == nil {
		families = Families
	}
	if err := t.Options.check(); err != nil {
		return nil, err
	}
	if t.Options.Share {
		return nil, &RangeError{Field: "Options.Share", problem: "tuning searches the thresholds of unshared breakers; run the winner with Share to see what sharing changes"}
	}
	if (len(in.Scenarios) == 0) == (in.Trace == nil) {
		return nil, errors.New("lab: tune: give scenarios or a trace, one of them")
	}
	if in.Trace != nil && in.OpenTrace == nil {
		return nil, errors.New("lab: tune: a trace needs OpenTrace")
	}
	for i := range in.Scenarios {
		if err := in.Scenarios[i].Validate(); err != nil {
			return nil, err
		}
	}
	slowCall := t.SlowCall
	if slowCall == 0 {
		for _, s := range in.Scenarios {
			if s.SlowCall > 0 {
				slowCall = s.SlowCall
				break
			}
		}
		if in.Trace != nil && in.Trace.SlowCall > 0 {
			slowCall = in.Trace.SlowCall
		}
		if slowCall == 0 {
			slowCall = time.Second
		}
	}
	var entries []gridEntry
	for _, f := range families {
		g := grid(f, slowCall)
		if g == nil {
			return nil, &RangeError{Field: "Tuning.Families", problem: fmt.Sprintf("unknown family %q; the families are %s", f, strings.Join(Families, ", "))}
		}
		entries = append(entries, g...)
	}
	cands := make([]Candidate, 0, len(entries)+len(t.Baseline))
	for _, e := range entries {
		c := t.Base
		s := c.settings()
		s.Policy = e.expr
		c.Name, c.New = s.String(), e.expr.New
		cands = append(cands, c)
	}
	if err := checkCandidates(cands); err != nil {
		return nil, err
	}
	if len(t.Baseline) > 0 {
		// Checked apart: a baseline may hold a setting of the grid.
		if err := checkCandidates(t.Baseline); err != nil {
			return nil, err
		}
	}
	cands = append(cands, t.Baseline...)

	results, names, err := evaluate(in, cands, t)
	if err != nil {
		return nil, err
	}
	rep := &TuneReport{Objective: t.Objective, Scenarios: names}
	scores := make([]Score, len(cands))
	for i := range cands {
		sc := Score{Candidate: cands[i]}
		if i < len(entries) {
			sc.GoCode = entries[i].expr.GoCode()
		}
		for _, r := range results[i] {
			sc.FaultSent += r.res.FaultSent
			sc.HealthyLost += r.res.HealthyLost
			sc.FalseTrips += r.res.FalseTrips
			switch {
			case r.res.TimeToClose == Never:
				sc.CloseTime += r.openTail
			case r.res.TimeToClose > 0:
				sc.CloseTime += r.res.TimeToClose
			}
		}
		o := t.Objective
		sc.Cost = o.Sent*float64(sc.FaultSent) + o.Lost*float64(sc.HealthyLost) + o.FalseTrip*float64(sc.FalseTrips) + o.Close*sc.CloseTime.Seconds()
		scores[i] = sc
	}
	rep.Baseline = scores[len(entries):]
	at := 0
	for _, f := range families {
		n := len(grid(f, slowCall))
		fam := scores[at : at+n]
		at += n
		fr := FamilyResult{Family: f, Searched: n, Best: fam[0]}
		for i := range fam {
			if fam[i].Cost < fr.Best.Cost {
				fr.Best = fam[i]
			}
			dominated := false
			for j := range fam {
				if fam[j].dominates(&fam[i]) {
					dominated = true
					break
				}
			}
			if !dominated && !slices.ContainsFunc(fr.Front, fam[i].sameFigures) {
				// Of settings with the very same figures, the first stands
				// for them all.
				fr.Front = append(fr.Front, fam[i])
			}
		}
		slices.SortStableFunc(fr.Front, func(a, b Score) int {
			switch {
			case a.Cost < b.Cost:
				return -1
			case a.Cost > b.Cost:
				return 1
			}
			return 0
		})
		rep.Families = append(rep.Families, fr)
		if len(rep.Families) == 1 || fr.Best.Cost < rep.Winner.Cost {
			rep.Winner = fr.Best
		}
	}
	// A baseline candidate that scores better wins: the winner is the
	// best of everything scored, so the table needs no note to say that
	// something else did better.
	for i := range rep.Baseline {
		if b := &rep.Baseline[i]; len(rep.Families) == 0 || b.Cost < rep.Winner.Cost {
			rep.Winner = *b
			rep.Winner.GoCode, _ = goPolicy(b.Candidate)
			rep.WinnerIsBaseline = true
		}
	}
	run := runSettings(rep.Winner.Candidate, in)
	rep.Settings = settingsCode(run)
	if e, ok := exprOf(rep.Winner.Candidate.New()); ok {
		run.Policy = e
		rep.Spec = run
	}
	return rep, nil
}

// goPolicy writes the policy of c as a Go expression, from its spec:
// "any(consecutive(5),slow(1s,0.5,20,10s))" becomes
// "policy.Any(policy.Consecutive(5), policy.Slow(time.Second, 0.5, 20, 10 * time.Second))".
// It returns false for a policy the spec language cannot write (one of
// the caller's own), whose Go form the lab does not know.
func goPolicy(c Candidate) (string, bool) {
	if c.New == nil {
		return "", false
	}
	e, ok := exprOf(c.New())
	if !ok {
		return "", false
	}
	return e.GoCode(), true
}

// scenarioResult is one candidate's result in one scenario, with the time
// from the end of the fault to the end of the run, which a circuit that
// never closed costs.
type scenarioResult struct {
	res      Result
	openTail time.Duration
}

// evaluate runs every candidate over the input, in parallel, and returns
// each candidate's results in the order of the scenarios.
func evaluate(in Input, cands []Candidate, t Tuning) ([][]scenarioResult, []string, error) {
	workers := t.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Units of work: a chunk of candidates over one scenario (or over the
	// trace). Each unit draws its scenario's calls itself: drawing is cheap
	// beside the breakers, and units then share nothing.
	const chunk = 16
	type unit struct {
		scenario int // index in in.Scenarios, or 0 for the trace
		from, to int // candidates
	}
	nScen := max(len(in.Scenarios), 1)
	var units []unit
	for sIdx := range nScen {
		for from := 0; from < len(cands); from += chunk {
			units = append(units, unit{sIdx, from, min(from+chunk, len(cands))})
		}
	}
	results := make([][]scenarioResult, len(cands))
	for i := range results {
		results[i] = make([]scenarioResult, nScen)
	}
	names := make([]string, nScen)
	total := len(cands) * nScen
	var (
		mu       sync.Mutex
		done     int
		firstErr error
		next     int
	)
	work := func() {
		for {
			mu.Lock()
			if next == len(units) || firstErr != nil {
				mu.Unlock()
				return
			}
			u := units[next]
			next++
			mu.Unlock()
			sr, err := runUnit(in, u.scenario, cands[u.from:u.to], t.Options)
			mu.Lock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				return
			}
			names[u.scenario] = sr.Scenario.Name
			tail := time.Duration(0)
			if end, ok := sr.Scenario.FaultEnd(); ok {
				tail = sr.Scenario.Duration - end
			}
			for i, r := range sr.Results {
				results[u.from+i][u.scenario] = scenarioResult{r, tail}
			}
			done += u.to - u.from
			if t.Progress != nil {
				t.Progress(done, total)
			}
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for range min(workers, len(units)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	wg.Wait()
	return results, names, firstErr
}

func runUnit(in Input, scenario int, cands []Candidate, opt Options) (ScenarioReport, error) {
	if in.Trace == nil {
		s := in.Scenarios[scenario]
		return replay(&s, newScenarioSource(&s, opt.Seed), fixedBins(s.Duration), cands, opt)
	}
	r, err := in.OpenTrace()
	if err != nil {
		return ScenarioReport{}, err
	}
	defer r.Close()
	tr := *in.Trace
	src, err := newTraceSource(r, &tr)
	if err != nil {
		return ScenarioReport{}, err
	}
	return replay(src.s, src, growingBins(), cands, opt)
}

// runSettings returns the breaker settings the search ran with: the base
// candidate's, and the open timeout and probes the scenarios (or the
// trace) share where the base leaves them.
func runSettings(base Candidate, in Input) spec.Spec {
	s := base.settings()
	same := func(get func(s *Scenario) int64) (int64, bool) {
		if len(in.Scenarios) == 0 {
			return 0, false
		}
		v := get(&in.Scenarios[0])
		for i := range in.Scenarios {
			if get(&in.Scenarios[i]) != v {
				return 0, false
			}
		}
		return v, v != 0
	}
	if in.Trace != nil {
		if s.OpenTimeout == 0 {
			s.OpenTimeout = in.Trace.OpenTimeout
		}
		if s.HalfOpenProbes == 0 {
			s.HalfOpenProbes = in.Trace.HalfOpenProbes
		}
	}
	if v, ok := same(func(s *Scenario) int64 { return int64(s.OpenTimeout) }); ok && s.OpenTimeout == 0 {
		s.OpenTimeout = time.Duration(v)
	}
	if v, ok := same(func(s *Scenario) int64 { return int64(s.HalfOpenProbes) }); ok && s.HalfOpenProbes == 0 {
		s.HalfOpenProbes = int(v)
	}
	return s
}

// settingsCode writes the breaker settings of s as Go struct fields.
func settingsCode(s spec.Spec) []string {
	var out []string
	if s.OpenTimeout != 0 {
		out = append(out, "OpenTimeout: "+gocode.Duration(s.OpenTimeout))
	}
	if s.HalfOpenProbes != 0 {
		out = append(out, "HalfOpenProbes: "+strconv.Itoa(s.HalfOpenProbes))
	}
	if bo := s.Backoff; bo != nil {
		fields := []string{"Max: " + gocode.Duration(bo.Max)}
		if bo.Factor != 0 {
			fields = append(fields, "Factor: "+strconv.FormatFloat(bo.Factor, 'g', -1, 64))
		}
		if bo.Jitter != 0 {
			fields = append(fields, "Jitter: "+strconv.FormatFloat(bo.Jitter, 'g', -1, 64))
		}
		out = append(out, "Backoff: &breaker.Backoff{"+strings.Join(fields, ", ")+"}")
	}
	if s.CloseAfter != 0 {
		out = append(out, "CloseAfter: "+strconv.Itoa(s.CloseAfter))
	}
	switch {
	case s.ProbeTimeout < 0:
		out = append(out, "ProbeTimeout: breaker.NoProbeTimeout")
	case s.ProbeTimeout > 0:
		out = append(out, "ProbeTimeout: "+gocode.Duration(s.ProbeTimeout))
	}
	return out
}

// GoCode writes the winner as a breaker configuration to paste, formatted
// as gofmt would.
func (r *TuneReport) GoCode() string {
	var b strings.Builder
	b.WriteString("var cfg = breaker.Config[T]{\n")
	fmt.Fprintf(&b, "\tPolicy: %s,\n", r.Winner.GoCode)
	for _, s := range r.Settings {
		fmt.Fprintf(&b, "\t%s,\n", s)
	}
	b.WriteString("}\n")
	out, err := format.Source([]byte(b.String()))
	if err != nil {
		return b.String() // never: the code is built from known parts
	}
	return strings.TrimSpace(string(out))
}

// Write prints the report: per family the best settings and the front,
// the baseline for comparison, and the winner as Go code.
func (r *TuneReport) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "tuned over %s\nobjective: minimise %g×fault_sent + %g×healthy_lost + %g×false_trips + %g×time_to_close(s), summed over them\n",
		strings.Join(r.Scenarios, ", "), r.Objective.Sent, r.Objective.Lost, r.Objective.FalseTrip, r.Objective.Close)
	row := func(tw io.Writer, mark string, s *Score) {
		fmt.Fprintf(tw, "  %s%s\t%.0f\t%d\t%d\t%d\t%s\n", mark, s.Candidate.Name, s.Cost, s.FaultSent, s.HealthyLost, s.FalseTrips, tableDuration(s.CloseTime))
	}
	for _, f := range r.Families {
		fmt.Fprintf(&b, "\n%s: %d settings searched; best %s (cost %.0f). Pareto front (no other setting is as good on every figure), cheapest first:\n", f.Family, f.Searched, f.Best.Candidate.Name, f.Best.Cost)
		tw := newTable(&b)
		fmt.Fprintln(tw, "  candidate\tcost\tfault_sent\thealthy_lost\tfalse_trips\ttime_to_close")
		for i := range f.Front[:min(len(f.Front), 8)] {
			row(tw, "", &f.Front[i])
		}
		tw.Flush()
		if len(f.Front) > 8 {
			fmt.Fprintf(&b, "  ... and %d more on the front\n", len(f.Front)-8)
		}
	}
	if len(r.Baseline) > 0 {
		b.WriteString("\nfor comparison, scored alike:\n")
		tw := newTable(&b)
		fmt.Fprintln(tw, "  candidate\tcost\tfault_sent\thealthy_lost\tfalse_trips\ttime_to_close")
		for i := range r.Baseline {
			row(tw, "", &r.Baseline[i])
		}
		tw.Flush()
	}
	of := ""
	if r.WinnerIsBaseline {
		of = ", of the candidates for comparison: no setting searched does as well"
	}
	if r.Winner.GoCode == "" || r.Spec.Policy.IsZero() {
		fmt.Fprintf(&b, "\nwinner: %s (cost %.0f%s): %s\n", r.Winner.Candidate.Name, r.Winner.Cost, of, r.Winner.Candidate.Spec())
	} else {
		fmt.Fprintf(&b, "\nwinner: %s (cost %.0f%s), as a spec (a -policies candidate, a flag or a config value):\n\n  %s\n\nas Go:\n\n%s\n",
			r.Winner.Candidate.Name, r.Winner.Cost, of, r.Spec, r.GoCode())
	}
	for line := range strings.Lines(b.String()) {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}
