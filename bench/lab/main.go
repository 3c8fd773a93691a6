// Command lab replays outages against circuit-breaker candidates (a
// policy and breaker settings) in virtual time and prints what each would
// have done: how soon it tripped, how many calls it let through to the
// failing dependency, how many healthy calls it turned away, how soon it
// closed again, and how many probes that took. docs/lab.md is the guide.
//
// Usage:
//
//	go run ./bench/lab [-policies SPECS] [-scenarios x,y] [-scenario FILE] [-seed N] [-out DIR] [-list]
//	go run ./bench/lab -trace calls.csv [-fault-start T -fault-end T] [-slow-call D] ...
//	go run ./bench/lab -tune [-families f,g] [-weights sent=1,lost=1,...] ...
//	go run ./bench/lab -fleet N [-route round-robin|random] [-share=false] [-quorum Q] ...
//	go run ./bench/lab -hosts [-policies SPECS] [-scenarios x,y] [-seed N]
//	go run ./bench/lab -recovery [-policies SPECS] [-scenarios x,y] [-seed N] [-tune]
//
// With no flags it runs the built-in scenarios against the default
// candidates and prints a table. -policies takes policies spelt as their
// Go constructors, with breaker settings after '@'
// (consecutive(5)@open=30s,probes=1); -open, -probes, -close-after,
// -backoff and -probe-timeout set them for every candidate. -scenario runs
// the scenarios of a JSON file instead (testdata/incident.json is an
// example), -trace replays recorded calls (testdata/calls.csv is one, and
// lab.TraceWriter records a breaker's; a breaker's spec line with shadows
// as -policies runs its live spec and each shadow side by side),
// -tune searches thresholds, -fleet simulates instances with a breaker
// each, both alone and sharing one circuit through package fleet. -out writes the table, results.csv, results.json, one SVG
// timeline per scenario and index.html to DIR. The same seed and inputs
// always print the same thing. docs/lab.md is the guide.
//
// The engine is package github.com/tripwire-go/tripwire/lab; use it to
// evaluate a policy of your own from Go.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tripwire-go/tripwire/lab"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // the run failed: a file could not be written
	exitUsage = 2 // bad input: flags, names, scenario files
)

// run is the whole command, with its arguments and outputs passed in so
// that tests can drive it. It returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Uint64("seed", 1, "seed of the random traffic; the same seed gives the same output")
	policies := fs.String("policies", "", "comma-separated candidates to compare: policies spelt as their Go constructors, lowercased,\n"+
		"such as `consecutive(10),rate(0.3,20,10s),any(consecutive(5),slow(1s,0.5,20,10s))`, each optionally with\n"+
		"breaker settings after '@' (consecutive(5)@open=30s,probes=1), or default candidates by name (see -list);\n"+
		"the language is package spec's, the same as a breaker's flag or config value (docs/spec.md); a breaker's line\n"+
		"with shadows (consecutive(5) shadow rate(0.3,20,10s)) runs the live spec and each shadow side by side (docs/shadow.md)")
	var settings []setting
	for _, st := range []struct{ key, usage string }{
		{"open", "breaker OpenTimeout for every candidate that does not set its own (default: the scenario's)"},
		{"probes", "breaker HalfOpenProbes for every candidate that does not set its own (default: the scenario's)"},
		{"close-after", "breaker CloseAfter (successful probes that close the circuit) for every candidate that does not set its own"},
		{"backoff", "breaker Backoff.Max (the longest open period) for every candidate that does not set its own"},
		{"backoff-factor", "breaker Backoff.Factor, with -backoff"},
		{"backoff-jitter", "breaker Backoff.Jitter, with -backoff; drawn from the seed"},
		{"probe-timeout", "breaker ProbeTimeout for every candidate that does not set its own; off for none"},
	} {
		settings = append(settings, setting{key: st.key, value: fs.String(st.key, "", st.usage)})
	}
	scenarios := fs.String("scenarios", "", "comma-separated scenarios to run, by name (default: all of them)")
	file := fs.String("scenario", "", "run the scenarios of this JSON `FILE` instead of the built-in ones")
	tracePath := fs.String("trace", "", "replay the recorded calls of this CSV `FILE` (\"-\": standard input) instead of scenarios")
	faultStart := fs.String("fault-start", "", "with -trace: when the fault began, as an offset from the first call (\"5m\") or a time (RFC 3339 or Unix)")
	faultEnd := fs.String("fault-end", "", "with -trace: when the fault ended, in the same forms as -fault-start")
	slowCall := fs.Duration("slow-call", 0, "with -trace: calls slower than this count as bad in the figures")
	failCodes := fs.String("fail-codes", "5xx,429", "with -trace: the HTTP status codes that are failures: codes and classes such as 5xx")
	findFault := fs.Float64("find-fault", 0, "with -trace: derive the fault from the trace: the first to the last second in which at least this `SHARE` of calls failed (or were slow)")
	reorder := fs.Duration("reorder", time.Minute, "with -trace: how far out of order of start the calls may be")
	fleet := fs.Int("fleet", 1, "simulate `N` instances of the service, each with its own breaker, sharing the traffic")
	route := fs.String("route", "round-robin", "with -fleet: how the instances share the traffic, round-robin or random (by the seed)")
	share := fs.Bool("share", true, "with -fleet: after each candidate's row, a row \"NAME shared\" where the instances' breakers share one circuit through package fleet")
	quorum := fs.Int("quorum", 0, "with -fleet: how many instances must trip for the shared circuit to open (0: the fleet package's default, 2)")
	tune := fs.Bool("tune", false, "search each policy family's thresholds over the scenarios or the trace, and print the best for the objective")
	families := fs.String("families", strings.Join(lab.Families, ","), "with -tune: the policy families to search")
	weights := fs.String("weights", lab.DefaultObjective.String(), "with -tune: the objective's weights, minimised: sent (calls into the fault), lost (healthy calls),\nfalse-trip (trips before a fault) and close (seconds open after it)")
	out := fs.String("out", "", "also write table.txt, results.csv, results.json, one SVG timeline per scenario and index.html to `DIR`")
	list := fs.Bool("list", false, "list the built-in scenarios and the default candidates, and exit")
	hosts := fs.Bool("hosts", false, "run the multi-host scenarios: ten hosts, one breaker each in a group, with each -policies candidate\n"+
		"(default consecutive(5)) alone, with the group's outlier detection (enforcing, and in shadow), and with a cap on open hosts")
	recovery := fs.Bool("recovery", false, "run the recovery scenarios, whose dependency answers by the load it gets, against binary breakers\n"+
		"and the ways of letting traffic back (ramp=, throttle(k,over), backoff-forget=, retry-after-max=); see docs/recovery.md")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./bench/lab [flags]\n\n"+
			"Replays outages or recorded calls against circuit-breaker candidates in virtual time.\nThe guide is docs/lab.md.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	// The flag package prints the error and the whole usage on a bad
	// flag: sixty lines that bury the one that matters. Print only the
	// error, said the lab's way, and the usage on -help alone.
	fullUsage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	if errors.Is(err, flag.ErrHelp) {
		fullUsage()
		return exitOK
	}
	usage := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "lab: "+format+"\n", args...)
		return exitUsage
	}
	if err != nil {
		return usage("%s (-help lists the flags)", flagProblem(fs, err))
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q: every input is a flag (see -help)", fs.Arg(0))
	}
	if *list {
		printList(stdout)
		return exitOK
	}
	set := map[string]bool{}
	var empty []string
	fs.Visit(func(f *flag.Flag) {
		set[f.Name] = true
		if g, ok := f.Value.(flag.Getter); ok {
			if v, ok := g.Get().(string); ok && strings.TrimSpace(v) == "" {
				empty = append(empty, f.Name)
			}
		}
	})
	if len(empty) > 0 {
		// -policies '' and -scenarios '' read as "the defaults" once: an
		// empty value is a mistake, most often a shell variable unset.
		return usage("-%s is empty: give it a value, or leave the flag out for its default", empty[0])
	}
	if *tracePath != "" && (*file != "" || *scenarios != "") {
		return usage("-trace replays a trace instead of scenarios: drop -scenario and -scenarios")
	}
	if *tracePath == "" {
		for _, name := range []string{"fault-start", "fault-end", "find-fault", "slow-call", "fail-codes", "reorder"} {
			if set[name] {
				return usage("-%s goes with -trace", name)
			}
		}
	}
	opt := lab.Options{Seed: *seed, Fleet: *fleet}
	if *fleet < 1 || *fleet > lab.MaxFleet {
		return usage("-fleet: must be between 1 and %d instances, got %d", lab.MaxFleet, *fleet)
	}
	switch *route {
	case "round-robin":
	case "random":
		opt.Route = lab.RandomRoute
	default:
		return usage("-route: %q is neither round-robin nor random", *route)
	}
	if set["route"] && *fleet == 1 {
		return usage("-route goes with -fleet N, for N of 2 or more")
	}
	for _, name := range []string{"share", "quorum"} {
		if set[name] && *fleet == 1 {
			return usage("-%s goes with -fleet N, for N of 2 or more", name)
		}
	}
	if *quorum < 0 || *quorum > *fleet {
		return usage("-quorum: must be between 0 (the default, 2) and the -fleet of %d instances, got %d", *fleet, *quorum)
	}
	// -tune searches unshared breakers; sharing is shown for a plain run.
	opt.Share = *share && *fleet > 1 && !*tune
	opt.Quorum = *quorum

	ps := lab.DefaultCandidates()
	if *policies != "" {
		var err error
		if ps, err = lab.ParseCandidates(*policies, ps); err != nil {
			fmt.Fprintf(stderr, "lab: -policies: %v\n", err)
			var se *lab.SpecError
			if errors.As(err, &se) {
				fmt.Fprintf(stderr, "  -policies %s\n", strings.ReplaceAll(se.Caret(), "\n", "\n            "))
			}
			return exitUsage
		}
	}
	if err := applySettings(ps, settings); err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if *recovery {
		for _, name := range []string{"trace", "scenario", "fleet", "route", "share", "quorum", "out", "families", "weights", "hosts"} {
			if set[name] {
				return usage("-%s does not go with -recovery", name)
			}
		}
		if *policies == "" {
			ps = nil
		}
		return runRecovery(ps, *scenarios, *seed, *tune, stdout, stderr)
	}
	if *hosts {
		for _, name := range []string{"trace", "scenario", "tune", "fleet", "route", "share", "quorum", "out", "families", "weights"} {
			if set[name] {
				return usage("-%s does not go with -hosts", name)
			}
		}
		if *policies == "" {
			ps = []lab.Candidate{lab.DefaultHostCandidates()[0].Host}
			if err := applySettings(ps, settings); err != nil {
				fmt.Fprintln(stderr, err)
				return exitUsage
			}
		}
		return runHosts(ps, *scenarios, *seed, stdout, stderr)
	}

	if !*tune {
		for _, name := range []string{"families", "weights"} {
			if set[name] {
				return usage("-%s goes with -tune", name)
			}
		}
	}
	var objective lab.Objective
	if *tune {
		if set["out"] {
			return usage("-tune prints its results; -out goes with a run")
		}
		var err error
		if objective, err = lab.ParseObjective(*weights); err != nil {
			var re *lab.RangeError
			if errors.As(err, &re) {
				return usage("-%s: %s", re.Field, re.Problem())
			}
			return usage("-weights: %v", err)
		}
	}

	// An output directory that cannot be written fails the run before any
	// work is done.
	if *out != "" {
		if err := checkWritable(*out); err != nil {
			fmt.Fprintln(stderr, "lab: -out:", err)
			return exitError
		}
	}

	var rep *lab.Report
	if *tracePath != "" {
		tr := lab.Trace{SlowCall: *slowCall, Reorder: *reorder}
		if *reorder <= 0 {
			return usage("-reorder: must be positive, got %v", *reorder)
		}
		if *slowCall < 0 {
			return usage("-slow-call: must not be negative, got %v", *slowCall)
		}
		fails, err := parseFailCodes(*failCodes)
		if err != nil {
			return usage("-fail-codes: %v", err)
		}
		tr.Fails = fails
		if err := setFault(&tr, *faultStart, *faultEnd); err != nil {
			return usage("%v", err)
		}
		var r io.Reader = os.Stdin
		tr.Name = "trace"
		if *tracePath != "-" {
			f, err := os.Open(*tracePath)
			if err != nil {
				return usage("-trace: %v", err)
			}
			defer f.Close()
			r = f
			tr.Name = traceName(*tracePath)
		} else if *tune {
			return usage("-tune reads the trace once per worker: give a file, not standard input")
		}
		tr.Description = "Recorded calls replayed from " + filepath.Base(*tracePath) + "."
		if set["find-fault"] {
			if *faultStart != "" || *faultEnd != "" {
				return usage("-find-fault derives the fault that -fault-start and -fault-end give: use one or the other")
			}
			if *tracePath == "-" {
				return usage("-find-fault reads the trace twice: give a file, not standard input")
			}
			f, err := os.Open(*tracePath)
			if err != nil {
				return usage("-trace: %v", err)
			}
			start, end, found, err := lab.FindFault(bufio.NewReaderSize(f, 1<<16), tr, *findFault)
			f.Close()
			var re *lab.RangeError
			switch {
			case errors.As(err, &re):
				return usage("-find-fault: %s", re.Problem())
			case err != nil:
				fmt.Fprintln(stderr, err)
				return exitUsage
			case found:
				tr.FaultStart, tr.FaultEnd = start, end
				tr.Description += fmt.Sprintf(" The fault, found from the trace, runs from %v to %v: the seconds in which at least %g of calls failed or were slow.", start, end, *findFault)
				fmt.Fprintf(stdout, "fault found: %v to %v after the first call, the seconds in which at least %g of calls failed or were slow\n\n", start, end, *findFault)
			default:
				fmt.Fprintf(stdout, "fault not found: no second in which at least %g of calls failed or were slow; the trace runs as a healthy baseline\n\n", *findFault)
			}
		}
		if *tune {
			open := func() (io.ReadCloser, error) { return os.Open(*tracePath) }
			return runTune(lab.Input{Trace: &tr, OpenTrace: open}, ps, settings, *families, objective, opt, stdout, stderr)
		}
		if rep, err = lab.ReplayTrace(bufio.NewReaderSize(r, 1<<16), tr, ps, opt); err != nil {
			fmt.Fprintln(stderr, flagError(err))
			return exitUsage
		}
	} else {
		ss := lab.Builtin()
		if *file != "" {
			var err error
			if ss, err = readScenarios(*file); err != nil {
				fmt.Fprintln(stderr, err)
				return exitUsage
			}
		}
		if *scenarios != "" {
			var err error
			if ss, err = lab.SelectScenarios(ss, *scenarios); err != nil {
				fmt.Fprintln(stderr, err)
				return exitUsage
			}
		}
		if *tune {
			return runTune(lab.Input{Scenarios: ss}, ps, settings, *families, objective, opt, stdout, stderr)
		}
		var err error
		if rep, err = lab.RunWith(ss, ps, opt); err != nil {
			fmt.Fprintln(stderr, err)
			return exitUsage
		}
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	if _, err := stdout.Write(table.Bytes()); err != nil {
		return exitError
	}
	if *out != "" {
		if err := writeDir(*out, rep, table.Bytes()); err != nil {
			fmt.Fprintln(stderr, "lab:", err)
			return exitError
		}
		fmt.Fprintf(stdout, "\nwrote table.txt, results.csv, results.json, index.html and %d timelines to %s\n", len(rep.Scenarios), *out)
	}
	return exitOK
}

// runTune runs -tune: a search over the families, with the run-wide
// settings, scored beside the candidates of -policies (the defaults).
func runTune(in lab.Input, baseline []lab.Candidate, settings []setting, families string, objective lab.Objective,
	opt lab.Options, stdout, stderr io.Writer) int {
	var base lab.Candidate
	for _, st := range settings {
		if *st.value != "" {
			if err := lab.ApplySetting(&base, st.key, *st.value); err != nil {
				fmt.Fprintf(stderr, "lab: -%s: %v\n", st.key, err)
				return exitUsage
			}
		}
	}
	t := lab.Tuning{Families: strings.Split(families, ","), Objective: objective, Base: base, Baseline: baseline, Options: opt}
	if f, ok := stderr.(*os.File); ok {
		if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
			t.Progress = progressLine(f, time.Now)
		}
	}
	rep, err := lab.Tune(in, t)
	if t.Progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		fmt.Fprintln(stderr, flagError(err))
		return exitUsage
	}
	if err := rep.Write(stdout); err != nil {
		return exitError
	}
	return exitOK
}

// progressLine reports a search's progress on one terminal line, at most
// five times a second, once it has run for a second.
func progressLine(w io.Writer, clock func() time.Time) func(done, total int) {
	start := clock()
	var last time.Time
	return func(done, total int) {
		now := clock()
		if now.Sub(start) < time.Second || now.Sub(last) < 200*time.Millisecond && done < total {
			return
		}
		last = now
		fmt.Fprintf(w, "\rtuning: %d of %d runs (%d%%), %s", done, total, 100*done/total, now.Sub(start).Round(time.Second))
	}
}

// checkWritable makes dir if needed and checks that a file can be
// written in it.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".lab-write-check-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// traceName names a trace by its file, without extension, in the
// characters a scenario's name may hold.
func traceName(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	name := []rune{}
	for i, r := range base {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && strings.ContainsRune("-_.", r)
		if !ok {
			r = '-'
			if i == 0 {
				r = 't'
			}
		}
		name = append(name, r)
	}
	if len(name) == 0 || len(name) > 64 {
		return "trace"
	}
	return string(name)
}

// setFault reads -fault-start and -fault-end: both offsets from the first
// call, or both times.
func setFault(tr *lab.Trace, start, end string) error {
	if start == "" && end == "" {
		return nil
	}
	if start == "" || end == "" {
		return errors.New("-fault-start and -fault-end go together")
	}
	ds, errS := time.ParseDuration(start)
	de, errE := time.ParseDuration(end)
	if errS == nil && errE == nil {
		if ds < 0 || de <= ds {
			return fmt.Errorf("-fault-end (%v) must be after -fault-start (%v), and neither before the trace", de, ds)
		}
		tr.FaultStart, tr.FaultEnd = ds, de
		return nil
	}
	ts, errTS := lab.ParseTraceTime(start)
	te, errTE := lab.ParseTraceTime(end)
	switch {
	case errS != nil && errTS != nil:
		return fmt.Errorf("-fault-start: %q is neither an offset (\"5m\") nor a time: %v", start, errTS)
	case errE != nil && errTE != nil:
		return fmt.Errorf("-fault-end: %q is neither an offset (\"5m\") nor a time: %v", end, errTE)
	case errS == nil && errTE == nil:
		return errors.New("-fault-start is an offset from the first call and -fault-end a time: give both as offsets (\"2m30s\") or both as times")
	case errE == nil && errTS == nil:
		return errors.New("-fault-end is an offset from the first call and -fault-start a time: give both as offsets (\"2m30s\") or both as times")
	case !te.After(ts):
		return fmt.Errorf("-fault-end (%v) must be after -fault-start (%v)", te.UTC(), ts.UTC())
	}
	tr.FaultStartTime, tr.FaultEndTime = ts, te
	return nil
}

// flagError names the flags behind a trace's fault in err, which the lab
// names by the fields of lab.Trace they set.
func flagError(err error) error {
	var re *lab.RangeError
	if errors.As(err, &re) {
		switch re.Field {
		case "Trace.FaultStart", "Trace.FaultEnd", "Trace.FaultStartTime", "Trace.FaultEndTime":
			return fmt.Errorf("lab: -fault-start, -fault-end: %s", re.Problem())
		}
	}
	return err
}

// flagProblem says what is wrong with a flag the flag package refused,
// naming the flag and the form its value takes, where the flag package
// would say "parse error".
func flagProblem(fs *flag.FlagSet, err error) string {
	m := regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-([^:]+): (.*)$`).FindStringSubmatch(err.Error())
	if m == nil {
		return err.Error()
	}
	value, name := m[1], m[2]
	want := m[3]
	if f := fs.Lookup(name); f != nil {
		if g, ok := f.Value.(flag.Getter); ok {
			switch g.Get().(type) {
			case uint64:
				want = "must be a whole number from 0 to 18446744073709551615"
			case int:
				want = "must be a whole number"
			case float64:
				want = "must be a number"
			case time.Duration:
				want = "must be a Go duration such as 500ms, 30s or 1m30s"
			case bool:
				want = "must be true or false"
			}
		}
	}
	return fmt.Sprintf("-%s: %s, got %q", name, want, value)
}

// parseFailCodes reads "5xx,429,503": codes and classes of codes.
func parseFailCodes(v string) (func(int) bool, error) {
	var classes [10]bool
	codes := map[int]bool{}
	for _, part := range strings.Split(v, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		if len(part) == 3 && part[1:] == "xx" && part[0] >= '0' && part[0] <= '9' {
			if part[0] < '1' || part[0] > '5' {
				return nil, fmt.Errorf("%q is not a class of HTTP status codes: the classes are 1xx to 5xx", part)
			}
			classes[part[0]-'0'] = true
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a status code (503) nor a class (5xx)", part)
		}
		if n < lab.MinStatus || n > lab.MaxStatus {
			return nil, fmt.Errorf("%d is not an HTTP status code: they run from %d to %d", n, lab.MinStatus, lab.MaxStatus)
		}
		codes[n] = true
	}
	return func(code int) bool { return codes[code] || code >= 100 && code <= 599 && classes[code/100] }, nil
}

// setting is a run-wide breaker setting: a flag named like the spec's
// setting.
type setting struct {
	key   string
	value *string
}

// applySettings gives every candidate the run-wide settings it does not
// set itself.
func applySettings(cs []lab.Candidate, settings []setting) error {
	var base lab.Candidate
	for _, st := range settings {
		if *st.value == "" {
			continue
		}
		if err := lab.ApplySetting(&base, st.key, *st.value); err != nil {
			return fmt.Errorf("lab: -%s: %w", st.key, err)
		}
	}
	if base.Backoff != nil && base.Backoff.Max == 0 {
		return errors.New("lab: -backoff-factor and -backoff-jitter need -backoff, the longest open period")
	}
	if base.Backoff != nil && base.OpenTimeout != 0 && base.Backoff.Max < base.OpenTimeout {
		return fmt.Errorf("lab: -backoff (%v), the longest open period, is shorter than -open (%v), the first: give a -backoff of at least %v",
			base.Backoff.Max, base.OpenTimeout, base.OpenTimeout)
	}
	for i := range cs {
		c := &cs[i]
		if c.OpenTimeout == 0 {
			c.OpenTimeout = base.OpenTimeout
		}
		if c.HalfOpenProbes == 0 {
			c.HalfOpenProbes = base.HalfOpenProbes
		}
		if c.CloseAfter == 0 {
			c.CloseAfter = base.CloseAfter
		}
		if c.ProbeTimeout == 0 {
			c.ProbeTimeout = base.ProbeTimeout
		}
		if c.Backoff == nil && base.Backoff != nil {
			bo := *base.Backoff
			c.Backoff = &bo
		}
	}
	return nil
}

func readScenarios(path string) ([]lab.Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lab: -scenario: %w", err)
	}
	defer f.Close()
	ss, err := lab.ParseScenarios(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ss, nil
}

// writeDir writes every output file of rep to dir, creating it if needed:
// the table, CSV, JSON, one SVG timeline per scenario, and index.html,
// which shows the table and every timeline on one page.
func writeDir(dir string, rep *lab.Report, table []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]func(io.Writer) error{
		"table.txt":    func(w io.Writer) error { _, err := w.Write(table); return err },
		"results.csv":  rep.WriteCSV,
		"results.json": rep.WriteJSON,
		"index.html":   rep.WriteHTML,
	}
	for i := range rep.Scenarios {
		sr := &rep.Scenarios[i]
		files[sr.SVGName()] = sr.WriteSVG
	}
	for name, write := range files {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// runHosts runs the multi-host scenarios (all, or those named) against the
// group variants of each per-host candidate, and prints the table.
func runHosts(ps []lab.Candidate, names string, seed uint64, stdout, stderr io.Writer) int {
	scenarios := lab.BuiltinHosts()
	if names != "" {
		var err error
		if scenarios, err = selectHosts(scenarios, names); err != nil {
			fmt.Fprintln(stderr, err)
			return exitUsage
		}
	}
	var cands []lab.HostCandidate
	for _, p := range ps {
		cands = append(cands, lab.HostVariants(p)...)
	}
	res, err := lab.RunHosts(scenarios, cands, seed)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	if err := lab.WriteHostTable(stdout, res); err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	return exitOK
}

// runRecovery runs the recovery scenarios (all, or those named) against
// ps (the default recovery candidates when nil), after a row without a
// breaker; with tune, it searches the recovery settings instead.
func runRecovery(ps []lab.Candidate, names string, seed uint64, tune bool, stdout, stderr io.Writer) int {
	scenarios := lab.BuiltinRecovery()
	if names != "" {
		var out []lab.RecoveryScenario
		for _, name := range strings.Split(names, ",") {
			i := slices.IndexFunc(scenarios, func(s lab.RecoveryScenario) bool { return s.Name == strings.TrimSpace(name) })
			if i < 0 {
				fmt.Fprintf(stderr, "lab: -scenarios: no recovery scenario %q\n", name)
				return exitUsage
			}
			out = append(out, scenarios[i])
		}
		scenarios = out
	}
	if tune {
		base := ps
		if base == nil {
			base = lab.DefaultRecoveryCandidates()[1:3] // consecutive(5), rate(0.5,20,10s)
		}
		rep, err := lab.TuneRecovery(scenarios, base, seed)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitError
		}
		if err := rep.WriteText(stdout); err != nil {
			return exitError
		}
		return exitOK
	}
	cands := lab.DefaultRecoveryCandidates()
	if ps != nil {
		cands = append(cands[:1:1], ps...)
	}
	rep, err := lab.RunRecovery(scenarios, cands, seed)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	if err := rep.WriteText(stdout); err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	return exitOK
}

// selectHosts returns the multi-host scenarios of from named in names, a
// comma-separated list, in its order.
func selectHosts(from []lab.HostScenario, names string) ([]lab.HostScenario, error) {
	var out []lab.HostScenario
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(from, func(s lab.HostScenario) bool { return s.Name == name })
		if i < 0 {
			known := make([]string, len(from))
			for j, s := range from {
				known[j] = s.Name
			}
			return nil, fmt.Errorf("lab: -scenarios: no multi-host scenario %q; the built-in ones are %s", name, strings.Join(known, ", "))
		}
		out = append(out, from[i])
	}
	return out, nil
}

func printList(w io.Writer) {
	fmt.Fprintln(w, "Built-in scenarios (-scenarios):")
	for _, s := range lab.Builtin() {
		fmt.Fprintf(w, "  %-14s %s\n", s.Name, s.Description)
	}
	fmt.Fprintln(w, "\nDefault candidates (-policies takes their names, or specs such as rate(0.3,20,10s)@open=30s):")
	for _, p := range lab.DefaultCandidates() {
		fmt.Fprintf(w, "  %-14s %s\n", p.Name, p.Spec())
	}
	fmt.Fprintln(w, "\nMulti-host scenarios (-hosts -scenarios):")
	for _, s := range lab.BuiltinHosts() {
		fmt.Fprintf(w, "  %-18s %s\n", s.Name, s.Description)
	}
	fmt.Fprintln(w, "\nRecovery scenarios (-recovery -scenarios):")
	for _, s := range lab.BuiltinRecovery() {
		fmt.Fprintf(w, "  %-18s %s\n", s.Name, s.Description)
	}
	fmt.Fprintln(w, "\nScenario files (-scenario): the format is in go doc github.com/tripwire-go/tripwire/lab;\nan example is bench/lab/testdata/incident.json.")
}
