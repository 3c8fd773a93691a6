package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runLab runs the command and returns its exit status and outputs.
func runLab(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// The default run prints a table with every built-in scenario and policy.
// Two runs write the same bytes, to stdout and to every file; every file
// that should be there is, and every SVG is well-formed XML. (With -race,
// one scenario only: see race_test.go.)
func TestDefaultRunIdenticalAcrossRuns(t *testing.T) {
	args := []string{}
	scenarios := []string{"brownout", "flapping", "healthy", "latency-spike", "outage", "slow-recovery"}
	if raceEnabled {
		args = []string{"-scenarios", "latency-spike"}
		scenarios = []string{"latency-spike"}
	}
	dirs := []string{t.TempDir(), t.TempDir()}
	var outs []string
	for _, dir := range dirs {
		code, out, errOut := runLab(t, append(args, "-out", dir)...)
		if code != 0 || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		outs = append(outs, strings.ReplaceAll(out, dir, "DIR"))
	}
	if outs[0] != outs[1] {
		t.Errorf("stdout differs:\n%s\n---\n%s", outs[0], outs[1])
	}
	for _, want := range append(scenarios, "scenario", "consecutive", "window", "rate", "lastn", "slow",
		"any(consecutive(5),slow(1s,0.5,20,10s))", "columns:") {
		if !strings.Contains(outs[0], want) {
			t.Errorf("no %q in the output:\n%s", want, outs[0])
		}
	}
	files, err := os.ReadDir(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, s := range scenarios {
		want = append(want, s+".svg")
	}
	want = append(want, "index.html", "results.csv", "results.json", "table.txt")
	slices.Sort(want)
	var got []string
	for _, f := range files {
		got = append(got, f.Name())
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("files %v, want %v", got, want)
	}
	for _, name := range got {
		a, errA := os.ReadFile(filepath.Join(dirs[0], name))
		b, errB := os.ReadFile(filepath.Join(dirs[1], name))
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", name)
		}
		if strings.HasSuffix(name, ".svg") {
			checkXML(t, name, a)
		}
	}
}

// Candidates from specs, with settings per candidate and per run, reach
// the breakers: a longer open timeout lets fewer probes through.
func TestPoliciesFlag(t *testing.T) {
	code, out, errOut := runLab(t, "-scenarios", "outage", "-policies", "consecutive(5),consecutive(5)@open=30s,rate(0.3,20,10s)", "-probes", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"consecutive(5)@open=30s,probes=1", "rate(0.3,20,10s)@probes=1", "consecutive(5)@probes=1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

// The example trace replays, with the fault marked by offsets: the table
// names the trace, and its timing figures apply. The same fault given as
// times gives the same table.
func TestTraceFlag(t *testing.T) {
	code, byOffset, errOut := runLab(t, "-trace", "testdata/calls.csv", "-fault-start", "1m30s", "-fault-end", "2m30s", "-policies", "consecutive(5),rate(0.3,20,10s)")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	_, table, _ := strings.Cut(byOffset, "scenario ")
	if !strings.HasPrefix(strings.SplitN(table, "\n", 3)[1], "calls ") || strings.Contains(byOffset, "n/a ") {
		t.Errorf("want a row for the trace \"calls\" with timing figures:\n%s", byOffset)
	}
	code, found, errOut := runLab(t, "-trace", "testdata/calls.csv", "-find-fault", "0.5", "-policies", "consecutive(5)")
	if code != 0 || !strings.HasPrefix(found, "fault found: 1m30s to 2m30s after the first call") {
		t.Errorf("-find-fault: exit %d: %s\n%s", code, errOut, found)
	}
	_, byTime, _ := runLab(t, "-trace", "testdata/calls.csv", "-fault-start", "2026-11-30T14:01:30Z", "-fault-end", "1796047350000", "-policies", "consecutive(5),rate(0.3,20,10s)")
	if byTime != byOffset {
		t.Errorf("by offsets:\n%s\nby times:\n%s", byOffset, byTime)
	}
}

// -tune prints, per family, the best setting and the front, the defaults
// for comparison, and the winner as Go code; the same search twice prints
// the same thing. Over a trace it searches too.
func TestTuneFlag(t *testing.T) {
	args := []string{"-tune", "-scenarios", "outage,healthy", "-families", "consecutive,window", "-policies", "consecutive,rate"}
	if raceEnabled {
		args = []string{"-tune", "-scenarios", "outage", "-families", "consecutive,window", "-policies", "consecutive,rate"}
	}
	code, out, errOut := runLab(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"tuned over outage", "consecutive: 14 settings searched; best ", "window: 42 settings searched; best ",
		"for comparison, scored alike:", "winner: ", "var cfg = breaker.Config[T]{\n\tPolicy:", "HalfOpenProbes: 3,"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if raceEnabled {
		return // the rest repeats the search, slowly under the race detector
	}
	if _, again, _ := runLab(t, args...); again != out {
		t.Errorf("two searches differ:\n%s\n---\n%s", out, again)
	}
	code, out, errOut = runLab(t, "-tune", "-trace", "testdata/calls.csv", "-fault-start", "1m30s", "-fault-end", "2m30s", "-families", "consecutive", "-open", "5s")
	if code != 0 || !strings.Contains(out, "tuned over calls\n") || !strings.Contains(out, "OpenTimeout: 5 * time.Second,") {
		t.Errorf("trace: exit %d: %s\n%s", code, errOut, out)
	}
}

// The tuning excerpt in docs/lab.md is what -tune prints: the winner's
// row and its Go code, searched again over its family alone.
func TestDocsTuneExcerpt(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "lab.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "$ go run ./bench/lab -tune -scenarios outage,brownout\n")
	excerpt, _, ok := strings.Cut(section, "```")
	_, winner, ok2 := strings.Cut(excerpt, "\nwinner: ")
	if !ok || !ok2 {
		t.Fatal("docs/lab.md: no -tune excerpt with a winner")
	}
	winner, _, _ = strings.Cut(winner, "}")
	name := strings.Fields(winner)[0]
	family, _, _ := strings.Cut(name, "(")
	code, out, errOut := runLab(t, "-tune", "-scenarios", "outage,brownout", "-families", family)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "\nwinner: "+winner) {
		t.Errorf("docs/lab.md shows the winner\n%s\nbut -tune prints\n%s", winner, out)
	}
	var row string
	for line := range strings.Lines(excerpt) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			row = strings.Join(f, " ")
			break
		}
	}
	found := false
	for line := range strings.Lines(out) {
		found = found || strings.Join(strings.Fields(line), " ") == row
	}
	if row == "" || !found {
		t.Errorf("docs/lab.md's row for %s, %q, is not in\n%s", name, row, out)
	}
}

// The progress line stays quiet for a second, then rewrites one line at
// most five times a second, and always shows the end.
func TestProgressLine(t *testing.T) {
	now := time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	progress := progressLine(&b, func() time.Time { return now })
	for i, step := range []time.Duration{100 * time.Millisecond, time.Second, 100 * time.Millisecond, 200 * time.Millisecond, 0} {
		now = now.Add(step)
		progress(i+1, 5)
	}
	want := "\rtuning: 2 of 5 runs (40%), 1s\rtuning: 4 of 5 runs (80%), 1s\rtuning: 5 of 5 runs (100%), 1s"
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
}

// -fleet splits the traffic among instances with a breaker each: the
// table says so, and more calls reach the outage than with one breaker.
func TestFleetFlag(t *testing.T) {
	_, one, _ := runLab(t, "-scenarios", "outage", "-policies", "consecutive(5)")
	code, four, errOut := runLab(t, "-scenarios", "outage", "-policies", "consecutive(5)", "-fleet", "4", "-route", "random")
	if code != 0 || !strings.HasPrefix(four, "fleet: 4 instances, each with its own breaker, traffic shared random\n") {
		t.Fatalf("exit %d: %s\n%s", code, errOut, four)
	}
	sent := func(table string) string {
		return strings.Fields(strings.Split(table[strings.Index(table, "outage"):], "\n")[0])[3]
	}
	if a, b := sent(one), sent(four); len(b) < len(a) || len(b) == len(a) && b <= a {
		t.Errorf("fault_sent: one breaker %s, a fleet of 4 %s", a, b)
	}
	// The fleet's shared row follows each candidate's, and sends fewer
	// calls into the outage with fewer probes; -share=false drops it.
	var alone, shared []string
	for line := range strings.Lines(four) {
		f := strings.Fields(line)
		switch {
		case len(f) == 10 && f[1] == "consecutive(5)":
			alone = f[1:]
		case len(f) == 10 && f[0] == "consecutive(5)" && f[1] == "shared":
			shared = f[1:]
		}
	}
	num := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if alone == nil || shared == nil || num(shared[3]) >= num(alone[2]) || num(shared[7]) >= num(alone[6]) {
		t.Errorf("no shared row that saves calls and probes:\n%s", four)
	}
	if !strings.Contains(four, `rows "... shared": the instances' breakers share one circuit through package fleet`) {
		t.Errorf("the table does not say what the shared rows are:\n%s", four)
	}
	_, off, _ := runLab(t, "-scenarios", "outage", "-policies", "consecutive(5)", "-fleet", "4", "-share=false")
	if strings.Contains(off, "consecutive(5) shared") {
		t.Errorf("-share=false printed shared rows:\n%s", off)
	}
}

// The -seed flag reaches the traffic: another seed, another table.
func TestSeedFlag(t *testing.T) {
	_, one, _ := runLab(t, "-seed", "1", "-scenarios", "brownout", "-policies", "consecutive")
	_, two, _ := runLab(t, "-seed", "2", "-scenarios", "brownout", "-policies", "consecutive")
	if one == two || !strings.Contains(one, "brownout") {
		t.Errorf("-seed 1 and -seed 2 printed\n%s\n%s", one, two)
	}
}

func checkXML(t *testing.T, name string, data []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Errorf("%s is not well-formed XML: %v", name, err)
			return
		}
	}
}

// The example scenario file runs, and flags select scenarios and policies.
func TestScenarioFileAndSelection(t *testing.T) {
	code, out, errOut := runLab(t, "-scenario", "testdata/incident.json", "-scenarios", "dns-blips", "-policies", "consecutive")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "dns-blips") || strings.Contains(out, "checkout-db-failover") {
		t.Errorf("want only dns-blips:\n%s", out)
	}
	code, out, _ = runLab(t, "-list")
	if code != 0 || !strings.Contains(out, "flapping") || !strings.Contains(out, "consecutive") {
		t.Errorf("-list: exit %d:\n%s", code, out)
	}
}

// Bad input: a clear message naming the problem, and exit status 2.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	file := func(content string) string {
		t.Helper()
		f, err := os.CreateTemp(dir, "*.json")
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(content)
		f.Close()
		return f.Name()
	}
	const ok = `"name": "x", "duration": "1m", "rate": 10`
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-bogus"}, "flag provided but not defined: -bogus"},
		{"argument", []string{"outage"}, `unexpected argument "outage"`},
		{"bad seed", []string{"-seed", "-1"}, `lab: -seed: must be a whole number from 0 to 18446744073709551615, got "-1" (-help lists the flags)`},
		{"unknown policy", []string{"-policies", "consecutive,magic"}, "column 13: unknown policy \"magic\": write consecutive(N)"},
		{"caret", []string{"-policies", "consecutive(5),rate(1.5,20,10s)"}, "Rate.ratio: must be a fraction in (0, 1], got 1.5\n  -policies consecutive(5),rate(1.5,20,10s)\n                                ^\n"},
		{"run-wide setting", []string{"-open", "-5s"}, "lab: -open: must be positive, got -5s"},
		{"run-wide probes", []string{"-probes", "0"}, "lab: -probes: must be between 1 and 65535, got 0"},
		{"trace and scenarios", []string{"-trace", "testdata/calls.csv", "-scenarios", "outage"}, "drop -scenario and -scenarios"},
		{"fault without trace", []string{"-fault-start", "1m"}, "-fault-start goes with -trace"},
		{"fault half", []string{"-trace", "testdata/calls.csv", "-fault-start", "1m"}, "-fault-start and -fault-end go together"},
		{"fault backwards", []string{"-trace", "testdata/calls.csv", "-fault-start", "2m", "-fault-end", "1m"}, "-fault-end (1m0s) must be after -fault-start (2m0s)"},
		{"fault not a time", []string{"-trace", "testdata/calls.csv", "-fault-start", "noon", "-fault-end", "1m"}, `-fault-start: "noon" is neither an offset`},
		{"fail codes", []string{"-trace", "testdata/calls.csv", "-fail-codes", "5xx,abc"}, `-fail-codes: "abc" is neither a status code`},
		{"missing trace", []string{"-trace", filepath.Join(dir, "nope.csv")}, "no such file"},
		{"bad trace", []string{"-trace", file("start,duration,status\n1764511331,5,200\n1764511332,5,teapot\n")}, `lab: trace line 3: outcome: "teapot" is neither`},
		{"find-fault range", []string{"-trace", "testdata/calls.csv", "-find-fault", "2"}, "lab: -find-fault: must be a fraction in (0, 1], got 2"},
		{"find-fault and marks", []string{"-trace", "testdata/calls.csv", "-find-fault", "0.5", "-fault-start", "1m", "-fault-end", "2m"}, "use one or the other"},
		{"fleet zero", []string{"-fleet", "0"}, "lab: -fleet: must be between 1 and 10000 instances, got 0"},
		{"fleet huge", []string{"-fleet", "1000000"}, "lab: -fleet: must be between 1 and 10000 instances, got 1000000"},
		{"route", []string{"-fleet", "3", "-route", "hash"}, `-route: "hash" is neither round-robin nor random`},
		{"route alone", []string{"-route", "random"}, "-route goes with -fleet N"},
		{"share alone", []string{"-share"}, "-share goes with -fleet N"},
		{"quorum alone", []string{"-quorum", "2"}, "-quorum goes with -fleet N"},
		{"quorum above fleet", []string{"-fleet", "3", "-quorum", "4"}, "lab: -quorum: must be between 0 (the default, 2) and the -fleet of 3 instances, got 4"},
		{"weights without tune", []string{"-weights", "sent=2"}, "-weights goes with -tune"},
		{"bad weights", []string{"-tune", "-weights", "sent=-2"}, "lab: -weights.sent: must be a number from 0 to 1e12"},
		{"unknown family", []string{"-tune", "-families", "rate,magic"}, `unknown family "magic"; the families are consecutive`},
		{"tune and out", []string{"-tune", "-out", dir}, "-out goes with a run"},
		{"backoff below open", []string{"-scenarios", "outage", "-backoff", "5s"}, `lab: candidate "consecutive": backoff, the longest open period (5s), is shorter than the first open period (10s, the scenario's open_timeout)`},
		{"unknown scenario", []string{"-scenarios", "earthquake"}, `unknown scenario "earthquake"; known scenarios: healthy, outage`},
		{"policy twice", []string{"-policies", "consecutive,consecutive"}, "consecutive is listed twice"},
		{"missing file", []string{"-scenario", filepath.Join(dir, "nope.json")}, "no such file"},
		{"empty file", []string{"-scenario", file("  ")}, "the input is empty"},
		{"malformed", []string{"-scenario", file("{\n" + ok + ",\n")}, "malformed JSON"},
		{"syntax", []string{"-scenario", file("{\n" + ok + ",\n \"rate\" 3}")}, "malformed JSON at line 3"},
		{"trailing", []string{"-scenario", file("{" + ok + "} {}")}, "unexpected data after the end"},
		{"unknown field", []string{"-scenario", file(`{` + ok + `, "erors": 0.5}`)}, `unknown field "erors"`},
		{"unknown phase field", []string{"-scenario", file(`{` + ok + `, "phases": [{"start": "1s", "end": "2s"}, {"start": "3s", "end": "4s", "fault": true}]}`)}, `scenario "x": phases[1].fault: unknown field`},
		{"phase wrong type", []string{"-scenario", file(`{` + ok + `, "phases": [{"start": 1, "end": "2s"}]}`)}, `scenario "x": phases[0].start: expected a string, got a JSON number`},
		{"named, wrong type", []string{"-scenario", file(`[{` + ok + `}, {"name": "y", "duration": "1m", "rate": "fast"}]`)}, `scenario "y": rate: expected a number`},
		{"wrong type", []string{"-scenario", file(`{"name": "x", "duration": "1m", "rate": "fast"}`)}, "rate: expected a number, got a JSON string"},
		{"no name", []string{"-scenario", file(`{"duration": "1m", "rate": 10}`)}, "scenario (unnamed): name: missing"},
		{"no name in array", []string{"-scenario", file(`[{` + ok + `}, {"duration": "1m", "rate": 10}]`)}, "scenario #2: name: missing"},
		{"no rate", []string{"-scenario", file(`{"name": "x", "duration": "1m"}`)}, `scenario "x": rate: missing`},
		{"bad name", []string{"-scenario", file(`{"name": "a/b", "duration": "1m", "rate": 10}`)}, `'/' is not allowed`},
		{"negative rate", []string{"-scenario", file(`{"name": "x", "duration": "1m", "rate": -5}`)}, "rate: must be a positive number of calls per second, got -5"},
		{"too many calls", []string{"-scenario", file(`{"name": "x", "duration": "1000h", "rate": 1000}`)}, "more than the 10000000"},
		{"bad duration", []string{"-scenario", file(`{"name": "x", "duration": "five minutes", "rate": 1}`)}, `duration: "five minutes" is not a duration`},
		{"error rate above 1", []string{"-scenario", file(`{` + ok + `, "errors": 1.5}`)}, "errors: must be a fraction in [0, 1], got 1.5"},
		{"phase error rate", []string{"-scenario", file(`{` + ok + `, "phases": [{"start": "1s", "end": "2s", "errors": [0.5, -0.1]}]}`)}, "phases[0].errors: must be a fraction in [0, 1], got -0.1"},
		{"bad ramp", []string{"-scenario", file(`{` + ok + `, "phases": [{"start": "1s", "end": "2s", "errors": [1, 2, 3]}]}`)}, "phases[0].errors: must be a number, or a pair"},
		{"backwards", []string{"-scenario", file(`{` + ok + `, "phases": [{"start": "20s", "end": "10s"}]}`)}, "phases[0].end: must be after start (20s), got 10s"},
		{"overlap", []string{"-scenario", file(`{` + ok + `, "phases": [{"start": "10s", "end": "30s"}, {"start": "20s", "end": "40s"}]}`)}, "phases[1].start: 20s is before the end of phases[0] (30s)"},
		{"past the end", []string{"-scenario", file(`{` + ok + `, "phases": [{"start": "10s", "end": "2m"}]}`)}, "phases[0].end: 2m0s is after the end of the scenario"},
		{"no phase start", []string{"-scenario", file(`{` + ok + `, "phases": [{"end": "2s"}]}`)}, "phases[0].start: missing"},
		{"negative latency", []string{"-scenario", file(`{` + ok + `, "latency": "-1s"}`)}, "latency: must not be negative"},
		{"jitter", []string{"-scenario", file(`{` + ok + `, "jitter": 2}`)}, "jitter: must be in [0, 1], got 2"},
		{"probes", []string{"-scenario", file(`{` + ok + `, "half_open_probes": -1}`)}, "half_open_probes: HalfOpenProbes must not be negative"},
		{"open timeout", []string{"-scenario", file(`{` + ok + `, "open_timeout": "-1s"}`)}, "open_timeout: OpenTimeout must not be negative"},
		{"duplicate", []string{"-scenario", file(`[{` + ok + `}, {` + strings.Replace(ok, `"x"`, `"X"`, 1) + `}]`)}, `scenario "X": name: already used by scenario #1`},
		{"second of two", []string{"-scenario", file(`[{` + ok + `}, {"name": "y", "duration": "1m", "rate": 10, "errors": 7}]`)}, `scenario "y": errors`},
		{"empty array", []string{"-scenario", file(`[]`)}, "holds no scenario"},
		{"not an object", []string{"-scenario", file(`[3]`)}, "scenario #1: line 1: expected a scenario object, got a JSON number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runLab(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q\nwant it to contain %q", errOut, tc.want)
			}
			if strings.Contains(errOut, "lab: lab:") {
				t.Errorf("stderr %q: \"lab: \" twice", errOut)
			}
		})
	}
}

// An output directory that cannot be made is a run failure, exit 1,
// found before any work is done: nothing is printed but the error.
func TestUnwritableOut(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-out", filepath.Join(blocker, "dir")},
		{"-out", blocker},
		{"-trace", "testdata/calls.csv", "-out", filepath.Join(blocker, "dir")},
	} {
		code, out, errOut := runLab(t, args...)
		if code != 1 || out != "" || !strings.HasPrefix(errOut, "lab: -out: ") || !strings.Contains(errOut, "not a directory") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// The table excerpt in docs/lab.md ("What it prints", seed 1) is what the
// command prints: each row it shows is a row of the output, figure for
// figure, so that the numbers quoted there cannot drift from the code.
func TestDocsExcerpt(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "docs", "lab.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## What it prints")
	_, excerpt, ok2 := strings.Cut(section, "```text\n")
	excerpt, _, ok3 := strings.Cut(excerpt, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("docs/lab.md: no table excerpt under \"## What it prints\"")
	}
	// The scenarios it shows are the rows that start with a name.
	var scenarios []string
	for i, line := range slices.Collect(strings.Lines(excerpt)) {
		if i > 0 && line != "" && line[0] != ' ' && line[0] != '\n' {
			scenarios = append(scenarios, strings.Fields(line)[0])
		}
	}
	code, out, errOut := runLab(t, "-seed", "1", "-scenarios", strings.Join(scenarios, ","))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rows := map[string]bool{}
	for line := range strings.Lines(out) {
		rows[strings.Join(strings.Fields(line), " ")] = true
	}
	for line := range strings.Lines(excerpt) {
		row := strings.Join(strings.Fields(line), " ")
		if row == "" || row == "..." {
			continue
		}
		if !rows[row] {
			t.Errorf("docs/lab.md shows the row\n\t%s\nwhich the command does not print:\n%s", row, out)
		}
	}
}

// The fleet excerpt in docs/lab.md ("Alone and shared") is what the
// command on its first line prints, row for row.
func TestDocsFleetExcerpt(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "lab.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "### Alone and shared")
	_, excerpt, ok2 := strings.Cut(section, "```text\n$ go run ./bench/lab ")
	excerpt, _, ok3 := strings.Cut(excerpt, "```")
	command, excerpt, ok4 := strings.Cut(excerpt, "\n")
	if !ok || !ok2 || !ok3 || !ok4 {
		t.Fatal("docs/lab.md: no command and output under \"### Alone and shared\"")
	}
	// The arguments as a shell splits them: words, and words in single
	// quotes.
	var args []string
	for i, part := range strings.Split(command, "'") {
		if i%2 == 1 {
			args = append(args, part)
		} else {
			args = append(args, strings.Fields(part)...)
		}
	}
	code, out, errOut := runLab(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errOut)
	}
	rows := map[string]bool{}
	for line := range strings.Lines(out) {
		rows[strings.Join(strings.Fields(line), " ")] = true
	}
	n := 0
	for line := range strings.Lines(excerpt) {
		row := strings.Join(strings.Fields(line), " ")
		if row == "" {
			continue
		}
		n++
		if !rows[row] {
			t.Errorf("docs/lab.md shows the row\n\t%s\nwhich %v does not print:\n%s", row, args, out)
		}
	}
	if n < 5 {
		t.Errorf("docs/lab.md: only %d rows under \"### Alone and shared\"", n)
	}
}

// TestBadInputFirstHour (issue 19): input the command ran with in silence,
// or answered with a misleading error or sixty lines of usage. Each is now
// one line that names the flag, field or line and what is wrong, and exit
// status 2.
func TestBadInputFirstHour(t *testing.T) {
	dir := t.TempDir()
	file := func(ext, content string) string {
		t.Helper()
		f, err := os.CreateTemp(dir, "*."+ext)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(content)
		f.Close()
		return f.Name()
	}
	const calls = "testdata/calls.csv"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"fault after the trace", []string{"-trace", calls, "-fault-start", "2h", "-fault-end", "3h"},
			"lab: -fault-start, -fault-end: the fault, 2h0m0s to 3h0m0s after the first call, is outside the trace, which runs 4m0.013s from its first call: no call falls in it"},
		{"fault before the trace", []string{"-trace", calls, "-fault-start", "2026-11-29T14:00:00Z", "-fault-end", "2026-11-29T15:00:00Z"},
			"lab: -fault-start, -fault-end: the fault, 2026-11-29T14:00:00Z to 2026-11-29T15:00:00Z, is outside the trace, which runs from 2026-11-30T14:00:00Z to 2026-11-30T14:04:00.013Z"},
		{"fail code 700", []string{"-trace", calls, "-fail-codes", "700"}, "lab: -fail-codes: 700 is not an HTTP status code: they run from 100 to 599"},
		{"fail class 7xx", []string{"-trace", calls, "-fail-codes", "5xx,7xx"}, `lab: -fail-codes: "7xx" is not a class of HTTP status codes: the classes are 1xx to 5xx`},
		{"status 999", []string{"-trace", file("csv", "start,duration,status\n1764511331,5,200\n1764511332,5,999\n")}, "lab: trace line 3: outcome: 999 is not an HTTP status code: they run from 100 to 599"},
		{"header only", []string{"-trace", file("csv", "start,duration,status\n")}, "lab: trace line 1: no calls: the trace has a header and nothing after it"},
		{"reorder, short file", []string{"-trace", file("csv", "start,duration,status\n2026-11-30T14:05:00Z,5,200\n2026-11-30T14:02:00Z,5,200\n"), "-reorder", "1m"},
			"lab: trace line 3: start: 2026-11-30T14:02:00Z is more than 1m0s before a call read earlier (2026-11-30T14:05:00Z)"},
		{"empty policies", []string{"-policies", ""}, "lab: -policies is empty: give it a value, or leave the flag out for its default"},
		{"blank scenarios", []string{"-scenarios", " "}, "lab: -scenarios is empty"},
		{"empty trace", []string{"-trace", ""}, "lab: -trace is empty"},
		{"empty families", []string{"-tune", "-families", ""}, "lab: -families is empty"},
		{"empty open", []string{"-open", ""}, "lab: -open is empty"},
		{"weights all zero", []string{"-tune", "-weights", "sent=0,lost=0,false-trip=0,close=0"}, "lab: -weights: every weight is 0, so every setting would cost 0: give at least one weight above 0"},
		{"fault time then offset", []string{"-trace", calls, "-fault-start", "2026-11-30T14:02:30Z", "-fault-end", "30s"},
			`lab: -fault-end is an offset from the first call and -fault-start a time: give both as offsets ("2m30s") or both as times`},
		{"fault offset then time", []string{"-trace", calls, "-fault-start", "30s", "-fault-end", "2026-11-30T14:02:30Z"},
			"lab: -fault-start is an offset from the first call and -fault-end a time"},
		{"fault end neither", []string{"-trace", calls, "-fault-start", "30s", "-fault-end", "noon"}, `lab: -fault-end: "noon" is neither an offset`},
		{"rate 1e400", []string{"-scenario", file("json", `{"name": "x", "duration": "1m", "rate": 1e400}`)}, `scenario "x": rate: 1e400 is too large: expected a number of at most 1.8e+308`},
		{"fleet abc", []string{"-fleet", "abc"}, `lab: -fleet: must be a whole number, got "abc" (-help lists the flags)`},
		{"seed -1", []string{"-seed", "-1"}, `lab: -seed: must be a whole number from 0 to 18446744073709551615, got "-1"`},
		{"slow-call x", []string{"-trace", calls, "-slow-call", "x"}, `lab: -slow-call: must be a Go duration such as 500ms, 30s or 1m30s, got "x"`},
		{"find-fault x", []string{"-trace", calls, "-find-fault", "x"}, `lab: -find-fault: must be a number, got "x"`},
		{"share maybe", []string{"-fleet", "2", "-share=maybe"}, `lab: -share: must be true or false, got "maybe"`},
		{"unknown flag", []string{"-bogus"}, "lab: flag provided but not defined: -bogus (-help lists the flags)"},
		{"backoff below open", []string{"-backoff", "1s", "-open", "10s"}, "lab: -backoff (1s), the longest open period, is shorter than -open (10s), the first: give a -backoff of at least 10s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runLab(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q\nwant it to contain %q", errOut, tc.want)
			}
			if n := strings.Count(errOut, "\n"); n != 1 {
				t.Errorf("stderr has %d lines, want the one that says what is wrong:\n%s", n, errOut)
			}
			if strings.Contains(errOut, "Backoff.Max") || strings.Contains(errOut, "parse error") {
				t.Errorf("stderr %q names a Go field or says only \"parse error\"", errOut)
			}
		})
	}
	// -help still prints the whole usage, and exits 0.
	if code, _, errOut := runLab(t, "-help"); code != 0 || !strings.Contains(errOut, "Usage: go run ./bench/lab [flags]") || !strings.Contains(errOut, "-fault-start") {
		t.Errorf("-help: exit %d, stderr:\n%s", code, errOut)
	}
}

// One spelling: the spec -tune prints for its winner is a -policies
// candidate that, run over the same scenario, does what the search scored.
func TestTuneSpecFeedsPolicies(t *testing.T) {
	code, out, errOut := runLab(t, "-tune", "-scenarios", "outage", "-families", "consecutive", "-probes", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	_, after, ok := strings.Cut(out, "as a spec (a -policies candidate, a flag or a config value):\n\n  ")
	winnerSpec, _, _ := strings.Cut(after, "\n")
	if !ok || !strings.HasSuffix(winnerSpec, "@open=10s,probes=2") {
		t.Fatalf("no winner spec with the run's settings in\n%s", out)
	}
	_, name, _ := strings.Cut(out, "\nwinner: ")
	name, _, _ = strings.Cut(name, " ")
	var tuned []string // cost, fault_sent, healthy_lost, ...
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) == 6 && f[0] == name {
			tuned = f
			break
		}
	}
	code, ran, errOut := runLab(t, "-scenarios", "outage", "-policies", winnerSpec)
	if code != 0 || tuned == nil {
		t.Fatalf("-policies %s: exit %d: %s\n%s", winnerSpec, code, errOut, out)
	}
	for line := range strings.Lines(ran) {
		// scenario candidate time_to_trip fault_sent fault_failed healthy_lost ...
		if f := strings.Fields(line); len(f) > 5 && f[1] == winnerSpec {
			if f[3] != tuned[2] || f[5] != tuned[3] {
				t.Errorf("-tune scored %s with fault_sent %s, healthy_lost %s; run alone: %s, %s", winnerSpec, tuned[2], tuned[3], f[3], f[5])
			}
			return
		}
	}
	t.Errorf("no row for %s in\n%s", winnerSpec, ran)
}

// -hosts runs the multi-host table, for the scenarios and per-host
// policies given, and refuses the flags of the single-dependency runs.
func TestHostsFlag(t *testing.T) {
	code, out, errOut := runLab(t, "-hosts", "-scenarios", "one-flaky-host-lb", "-policies", "rate(0.3,20,10s)")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"one-flaky-host-lb", "rate(0.3,20,10s) +success-rate", "wrongly_opened", "+cap(0.5)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := runLab(t, "-hosts", "-fleet", "2"); code != 2 || !strings.Contains(errOut, "-fleet does not go with -hosts") {
		t.Errorf("-hosts -fleet 2: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runLab(t, "-hosts", "-scenarios", "nope"); code != 2 || !strings.Contains(errOut, `no multi-host scenario "nope"`) {
		t.Errorf("-hosts -scenarios nope: exit %d: %s", code, errOut)
	}
}

// The multi-host excerpt in docs/lab.md ("Many hosts", seed 1) is what
// -hosts prints, row for row.
func TestDocsHostsExcerpt(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "lab.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "## Many hosts")
	_, excerpt, ok2 := strings.Cut(section, "```text\n")
	excerpt, _, ok3 := strings.Cut(excerpt, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("docs/lab.md: no table excerpt under \"## Many hosts\"")
	}
	code, out, errOut := runLab(t, "-hosts", "-seed", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rows := map[string]bool{}
	for line := range strings.Lines(out) {
		rows[strings.Join(strings.Fields(line), " ")] = true
	}
	n := 0
	for line := range strings.Lines(excerpt) {
		row := strings.Join(strings.Fields(line), " ")
		if row == "" {
			continue
		}
		n++
		if !rows[row] {
			t.Errorf("docs/lab.md shows the row\n\t%s\nwhich -hosts does not print", row)
		}
	}
	if n < 10 {
		t.Fatalf("the excerpt has %d rows", n)
	}
}

// docs/recovery.md's excerpts are what -recovery and -recovery -tune
// print (seed 1), row for row, and every share its prose quotes is in one
// of them.
func TestDocsRecovery(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "recovery.md"))
	if err != nil {
		t.Fatal(err)
	}
	outputs := ""
	rows := map[string]bool{}
	for _, args := range [][]string{{"-recovery", "-seed", "1"}, {"-recovery", "-tune", "-seed", "1"}} {
		code, out, errOut := runLab(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		outputs += out
		for line := range strings.Lines(out) {
			rows[strings.Join(strings.Fields(line), " ")] = true
		}
	}
	rest := string(doc)
	blocks := 0
	for {
		_, after, ok := strings.Cut(rest, "```text\n")
		if !ok {
			break
		}
		block, tail, _ := strings.Cut(after, "```")
		rest = tail
		blocks++
		for line := range strings.Lines(block) {
			if row := strings.Join(strings.Fields(line), " "); row != "" && !rows[row] {
				t.Errorf("docs/recovery.md shows the row\n\t%s\nwhich -recovery does not print", row)
			}
		}
	}
	if blocks != 2 {
		t.Fatalf("docs/recovery.md has %d excerpts, want 2", blocks)
	}
	_, prose, _ := strings.Cut(string(doc), "## When to use which")
	for _, w := range strings.Fields(prose) {
		w = strings.Trim(w, "(),.:;")
		if strings.HasSuffix(w, "%") && !strings.Contains(outputs, " "+w+" ") {
			t.Errorf("docs/recovery.md quotes %s, which no -recovery figure says", w)
		}
	}
}
