// Command lab replays outages against circuit-breaker candidates (a
// policy and breaker settings) in virtual time and prints what each would
// have done: how soon it tripped, how many calls it let through to the
// failing dependency, how many healthy calls it turned away, how soon it
// closed again, and how many probes that took. docs/lab.md is the guide.
//
// Usage:
//
//	go run ./bench/lab [-policies a,b] [-scenarios x,y] [-scenario FILE] [-seed N] [-out DIR] [-list]
//
// With no flags it runs the built-in scenarios against the default policies
// and prints a table. -scenario runs the scenarios of a JSON file instead
// (the format is in the documentation of package lab; testdata/incident.json
// is an example). -out writes the table, results.csv, results.json and one
// SVG timeline per scenario to DIR. The same seed and inputs always print
// the same thing.
//
// The engine is package github.com/tripwire-go/tripwire/lab; use it to
// evaluate a policy of your own from Go.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

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
		"breaker settings after '@' (consecutive(5)@open=30s,probes=1), or default candidates by name (see -list)")
	var settings []setting
	for _, st := range []struct{ key, usage string }{
		{"open", "breaker OpenTimeout for every candidate that does not set its own (default: the scenario's)"},
		{"probes", "breaker HalfOpenProbes for every candidate that does not set its own (default: the scenario's)"},
		{"backoff", "breaker Backoff.Max (the longest open period) for every candidate that does not set its own"},
		{"backoff-factor", "breaker Backoff.Factor, with -backoff"},
		{"backoff-jitter", "breaker Backoff.Jitter, with -backoff; drawn from the seed"},
		{"probe-timeout", "breaker ProbeTimeout for every candidate that does not set its own"},
	} {
		settings = append(settings, setting{key: st.key, value: fs.String(st.key, "", st.usage)})
	}
	scenarios := fs.String("scenarios", "", "comma-separated scenarios to run, by name (default: all of them)")
	file := fs.String("scenario", "", "run the scenarios of this JSON `FILE` instead of the built-in ones")
	out := fs.String("out", "", "also write table.txt, results.csv, results.json and one SVG timeline per scenario to `DIR`")
	list := fs.Bool("list", false, "list the built-in scenarios and the policies, and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./bench/lab [flags]\n\n"+
			"Replays outages against circuit-breaker policies in virtual time.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lab: unexpected argument %q: every input is a flag (see -help)\n", fs.Arg(0))
		return exitUsage
	}
	if *list {
		printList(stdout)
		return exitOK
	}

	ps := lab.DefaultCandidates()
	if *policies != "" {
		var err error
		if ps, err = lab.ParseCandidates(*policies, ps); err != nil {
			fmt.Fprintln(stderr, err)
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

	rep, err := lab.Run(ss, ps, *seed)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
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
		fmt.Fprintf(stdout, "\nwrote table.txt, results.csv, results.json and %d timelines to %s\n", len(rep.Scenarios), *out)
	}
	return exitOK
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
	for i := range cs {
		c := &cs[i]
		if c.OpenTimeout == 0 {
			c.OpenTimeout = base.OpenTimeout
		}
		if c.HalfOpenProbes == 0 {
			c.HalfOpenProbes = base.HalfOpenProbes
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

// writeDir writes every output file of rep to dir, creating it if needed.
func writeDir(dir string, rep *lab.Report, table []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]func(io.Writer) error{
		"table.txt":    func(w io.Writer) error { _, err := w.Write(table); return err },
		"results.csv":  rep.WriteCSV,
		"results.json": rep.WriteJSON,
	}
	for i := range rep.Scenarios {
		sr := &rep.Scenarios[i]
		files[sr.Scenario.Name+".svg"] = sr.WriteSVG
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

func printList(w io.Writer) {
	fmt.Fprintln(w, "Built-in scenarios (-scenarios):")
	for _, s := range lab.Builtin() {
		fmt.Fprintf(w, "  %-14s %s\n", s.Name, s.Description)
	}
	fmt.Fprintln(w, "\nDefault candidates (-policies takes their names, or specs such as rate(0.3,20,10s)@open=30s):")
	for _, p := range lab.DefaultCandidates() {
		fmt.Fprintf(w, "  %-14s %s\n", p.Name, p.Spec())
	}
	fmt.Fprintln(w, "\nScenario files (-scenario): the format is in go doc github.com/tripwire-go/tripwire/lab;\nan example is bench/lab/testdata/incident.json.")
}
