// Command report turns benchstat's CSV output for BenchmarkPeers into
// RESULTS.md: medians, allocations, the ratios of tripwire to every peer and
// to the floor, and the targets those ratios are held to. Every number in
// the file comes from the CSV; none is written by hand.
//
// run.sh calls it; see there for the flags it passes.
package main

import (
	_ "embed"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

//go:embed notes.md
var notes string

func main() {
	var (
		csvPath   = flag.String("csv", "", "benchstat -format csv output (required)")
		textPath  = flag.String("text", "", "benchstat text output, quoted at the end")
		modsPath  = flag.String("modules", "", `file of "path version" lines: the peers measured`)
		outPath   = flag.String("o", "", "where to write (default stdout)")
		cpu       = flag.String("cpu", "", "CPU model")
		cores     = flag.String("cores", "", "number of cores")
		goVersion = flag.String("go", "", "Go version")
		date      = flag.String("date", "", "date of the run")
		rounds    = flag.String("rounds", "", "number of interleaved rounds")
		benchtime = flag.String("benchtime", "", "-benchtime of each round")
		note      = flag.String("note", "", "a remark on the run (a noisy machine, ...)")
		barPath   = flag.String("bar", "", "TestPerformanceBar's report from the same run, quoted under the targets")
	)
	flag.Parse()
	if *csvPath == "" {
		fail(fmt.Errorf("-csv is required"))
	}
	f, err := os.Open(*csvPath)
	if err != nil {
		fail(err)
	}
	res, err := Parse(f)
	f.Close()
	if err != nil {
		fail(fmt.Errorf("%s: %w", *csvPath, err))
	}
	meta := Meta{
		CPU: *cpu, Cores: *cores, Go: *goVersion, Date: *date,
		Rounds: *rounds, Benchtime: *benchtime, Note: *note,
	}
	if *modsPath != "" {
		b, err := os.ReadFile(*modsPath)
		if err != nil {
			fail(err)
		}
		meta.Modules = strings.TrimSpace(string(b))
	}
	if *barPath != "" {
		b, err := os.ReadFile(*barPath)
		if err != nil {
			fail(err)
		}
		meta.Bar = strings.TrimRight(string(b), "\n")
	}
	if *textPath != "" {
		b, err := os.ReadFile(*textPath)
		if err != nil {
			fail(err)
		}
		meta.Benchstat = strings.TrimRight(string(b), "\n")
	}
	var out io.Writer = os.Stdout
	if *outPath != "" {
		w, err := os.Create(*outPath)
		if err != nil {
			fail(err)
		}
		defer w.Close()
		out = w
	}
	if err := Write(out, res, meta); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(1)
}
