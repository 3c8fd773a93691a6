// Command genbench writes the benchmark loops of package peers: one written
// out loop per scenario, library and mode, each calling a concrete adapter.
//
// Sharing one loop between libraries would need an interface or a closure,
// and its indirect call per iteration would be charged to every library and
// baseline alike, squeezing every ratio towards one. Generated loops keep
// each iteration down to the adapter's own Run, which the compiler inlines.
//
// Run it from bench/peers (go generate does). With -check it writes nothing
// and fails if the files on disk are not what it would write.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"strings"
	"text/template"
)

// lib is one column of the comparison.
type lib struct {
	Name string // lib= in benchmark names
	// Ctor is the adapter's constructor, func(Scenario) *T; empty for a
	// baseline, which has no circuit (no Trip, no Closed, no rejection).
	Ctor string
	// Call is the statement a loop runs per iteration, with $T for the
	// target. It is the library's own call, written out the way the
	// adapter's Run makes it (the adapter test checks Run), so that the
	// loop pays for no adapter frame the compiler declines to inline.
	Call string
	// Results is how many values Call returns: 2 for (int, error), 1 for
	// an error alone.
	Results    int
	SerialOnly bool // no RunParallel twin
	Rate       bool // has a rolling window: runs the Windowed scenarios
	// Consecutive: trips at the 5th failure in a row and not before, as
	// the adapter test checks.
	Consecutive bool
	// Forgets: a success between failures starts the count afresh.
	Forgets bool
}

// Baseline reports whether l is a baseline rather than a library.
func (l lib) Baseline() bool { return l.Ctor == "" }

var libs = []lib{
	{Name: "direct", Call: "$T.Ctx(ctx)", Results: 2},
	{Name: "floor", Call: "$T.Ctx(ctx)\nfloor.n.Add(1)\nfloor.n.Load()"},
	{Name: "tripwire", Ctor: "NewTripwire", Call: "a.b.Execute(ctx, $T.Ctx)", Results: 2,
		Rate: true, Consecutive: true, Forgets: true},
	{Name: "gobreaker", Ctor: "NewGobreaker", Call: "a.cb.Execute($T.Plain)", Results: 2,
		Rate: true, Consecutive: true, Forgets: true},
	{Name: "failsafe", Ctor: "NewFailsafe", Call: "a.exec.Get($T.Plain)", Results: 2,
		Consecutive: true, Forgets: true},
	// hystrix and handy: Run is the adapter's own code (handy's Allow,
	// call, report; hystrix's DoC, which Run inlines).
	{Name: "hystrix", Ctor: "NewHystrix", Call: "a.Run(ctx, $T)", Results: 2, SerialOnly: true},
	{Name: "eapache", Ctor: "NewEapache", Call: "a.b.Run($T.Err)", Results: 1, Consecutive: true},
	{Name: "rubyist", Ctor: "NewRubyist", Call: "a.cb.Call($T.Err, 0)", Results: 1,
		Consecutive: true, Forgets: true},
	{Name: "handy", Ctor: "NewHandy", Call: "a.Run(ctx, $T)", Results: 2},
}

// scenario is one row group: Const names its peers.Scenario, Loop the
// shape of its loop body.
type scenario struct {
	Name     string
	Const    string
	Loop     string // "success", "failure" or "open"
	Windowed bool   // needs a rolling window: libs with Rate only
}

var scenarios = []scenario{
	{Name: "closed-success", Const: "ClosedSuccess", Loop: "success"},
	{Name: "closed-failure", Const: "ClosedFailure", Loop: "failure"},
	{Name: "open", Const: "Open", Loop: "open"},
	{Name: "rate-closed-success", Const: "RateClosedSuccess", Loop: "success", Windowed: true},
	{Name: "rate-counted-closed-success", Const: "RateCountedClosedSuccess", Loop: "success", Windowed: true},
	{Name: "window-closed-success", Const: "WindowClosedSuccess", Loop: "success", Windowed: true},
}

// bench is one generated benchmark.
type bench struct {
	Order    int
	Func     string
	Scenario scenario
	Lib      lib
	Mode     string
	Loop     string
	OK, Fail string // Lib.Call on the OK and Fail targets
	// Check is Lib.Call on OK, as the init of an if statement that
	// declares err.
	Check string
	// Ctx: the call takes the context, so the loop declares one.
	Ctx bool
}

// benches lists every benchmark; Order is its place in the run.
func benches() []bench {
	var out []bench
	order := 0
	for _, s := range scenarios {
		for _, l := range libs {
			if s.Windowed && !l.Rate {
				continue
			}
			modes := []string{"serial", "parallel"}
			if l.SerialOnly {
				modes = modes[:1]
			}
			loop := s.Loop
			if l.Baseline() && loop == "open" {
				loop = "success" // the floor of a rejection is the call itself
			}
			for _, m := range modes {
				order++
				out = append(out, bench{
					Order:    order,
					Func:     "bench" + camel(s.Name) + camel(l.Name) + camel(m),
					Scenario: s,
					Lib:      l,
					Mode:     m,
					Loop:     loop,
					OK:       strings.ReplaceAll(l.Call, "$T", "OK"),
					Fail:     strings.ReplaceAll(l.Call, "$T", "Fail"),
					Check:    check(l, strings.ReplaceAll(l.Call, "$T", "OK")),
					Ctx:      strings.Contains(l.Call, "ctx"),
				})
			}
		}
	}
	return out
}

// check makes call the init statement of an if that tests err.
func check(l lib, call string) string {
	if l.Results == 2 {
		return "_, err := " + call
	}
	return "err := " + call
}

// camel turns "closed-success" into "ClosedSuccess".
func camel(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(s, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

var tmpl = template.Must(template.New("file").Parse(`// Code generated by cmd/genbench; DO NOT EDIT.

package peers

import (
	"context"
	"testing"
)

func init() {
	benchmarks = append(benchmarks,
{{- range .Benches}}
		benchmark{order: {{.Order}}, scenario: "{{.Scenario.Name}}", lib: "{{.Lib.Name}}", mode: "{{.Mode}}", run: {{.Func}}},
{{- end}}
	)
	adapters = append(adapters,
{{- range .Libs}}{{if not .Baseline}}
		adapterCase{lib: "{{.Name}}", rate: {{.Rate}}, serialOnly: {{.SerialOnly}}, consecutive: {{.Consecutive}}, forgets: {{.Forgets}}, new: func(sc Scenario) Adapter { return {{.Ctor}}(sc) }},
{{- end}}{{end}}
	)
}
{{range .Benches}}
func {{.Func}}(b *testing.B) {
{{- if not .Lib.Baseline}}
	a := {{.Lib.Ctor}}({{.Scenario.Const}})
{{- end}}
{{- if eq .Loop "open"}}
	if err := a.Trip(); err != nil {
		b.Fatal(err)
	}
{{- end}}
{{- if .Ctx}}
	ctx := context.Background()
{{- end}}
	b.ReportAllocs()
{{- if eq .Mode "serial"}}
{{- if eq .Loop "success"}}
	for b.Loop() {
		{{.OK}}
	}
{{- else if eq .Loop "failure"}}
	i := 0
	for b.Loop() {
		if i++; i%10 == 0 {
			{{.Fail}}
		} else {
			{{.OK}}
		}
	}
{{- else}}
	for b.Loop() {
		if {{.Check}}; err == nil {
			b.Fatal("an open breaker ran a call")
		}
	}
{{- end}}
{{- else}}
{{- if eq .Loop "failure"}}
	var phase phaser
{{- end}}
	b.RunParallel(func(pb *testing.PB) {
{{- if eq .Loop "success"}}
		for pb.Next() {
			{{.OK}}
		}
{{- else if eq .Loop "failure"}}
		i := phase.next()
		for pb.Next() {
			if i++; i%10 == 0 {
				{{.Fail}}
			} else {
				{{.OK}}
			}
		}
{{- else}}
		for pb.Next() {
			if {{.Check}}; err == nil {
				b.Error("an open breaker ran a call")
				return
			}
		}
{{- end}}
	})
{{- end}}
{{- if not .Lib.Baseline}}
{{- if eq .Loop "open"}}
	mustBeOpen(b, a)
{{- else}}
	mustBeClosed(b, a)
{{- end}}
{{- end}}
}
{{end}}`))

// output is the file genbench writes.
const output = "zz_peers_test.go"

func render() ([]byte, error) {
	var buf bytes.Buffer
	err := tmpl.Execute(&buf, struct {
		Benches []bench
		Libs    []lib
	}{benches(), libs})
	if err != nil {
		return nil, err
	}
	return format.Source(buf.Bytes())
}

func main() {
	check := flag.Bool("check", false, "write nothing; fail if the generated file is out of date")
	flag.Parse()
	src, err := render()
	if err != nil {
		fmt.Fprintln(os.Stderr, "genbench:", err)
		os.Exit(1)
	}
	if *check {
		old, err := os.ReadFile(output)
		if err != nil || !bytes.Equal(old, src) {
			fmt.Fprintf(os.Stderr, "genbench: %s is out of date: run go generate\n", output)
			os.Exit(1)
		}
		return
	}
	if err := os.WriteFile(output, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "genbench:", err)
		os.Exit(1)
	}
}
