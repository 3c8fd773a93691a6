package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Key names one benchmark: BenchmarkPeers/scenario=S/lib=L/mode=M.
type Key struct {
	Scenario, Lib, Mode string
}

// Stat is what benchstat summarised for one benchmark.
type Stat struct {
	NsOp   float64 // median time per call, in nanoseconds
	NsCI   string  // its confidence interval as benchstat prints it ("2%", "∞")
	BOp    float64 // median bytes allocated per call
	Allocs float64 // median allocations per call
	HasB   bool
	HasA   bool
}

// Results are the parsed CSV.
type Results struct {
	// Procs is GOMAXPROCS as the benchmark names carry it ("-2").
	Procs     string
	Stats     map[Key]*Stat
	Scenarios []string // in the order they first appear
	Libs      []string // in the order they first appear
}

var procsSuffix = regexp.MustCompile(`-(\d+)$`)

// parseName splits a benchmark name into its Key and GOMAXPROCS suffix. It
// reports false for names that are not BenchmarkPeers sub-benchmarks.
func parseName(name string) (Key, string, bool) {
	parts := strings.Split(name, "/")
	if len(parts) < 2 || parts[0] != "Peers" {
		return Key{}, "", false
	}
	var k Key
	procs := ""
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			if m := procsSuffix.FindStringSubmatch(p); m != nil {
				procs = m[1]
				p = strings.TrimSuffix(p, m[0])
			}
		}
		key, val, ok := strings.Cut(p, "=")
		if !ok {
			return Key{}, "", false
		}
		switch key {
		case "scenario":
			k.Scenario = val
		case "lib":
			k.Lib = val
		case "mode":
			k.Mode = val
		}
	}
	if k.Scenario == "" || k.Lib == "" || k.Mode == "" {
		return Key{}, "", false
	}
	return k, procs, true
}

// Parse reads the output of `benchstat -format csv` for a single input: for
// each unit, a header row (",sec/op,CI") followed by one row per benchmark
// (name, median, confidence interval).
func Parse(r io.Reader) (*Results, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	res := &Results{Stats: map[Key]*Stat{}}
	seenScenario := map[string]bool{}
	seenLib := map[string]bool{}
	unit := ""
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec) < 3 {
			continue // "goos: linux" and the like
		}
		if rec[0] == "" {
			if rec[2] == "CI" {
				unit = rec[1]
			}
			continue
		}
		k, procs, ok := parseName(rec[0])
		if !ok {
			continue // geomean
		}
		if unit == "" {
			return nil, fmt.Errorf("row %q comes before any unit header", rec[0])
		}
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			return nil, fmt.Errorf("row %q: %v", rec[0], err)
		}
		if procs != "" {
			res.Procs = procs
		}
		st := res.Stats[k]
		if st == nil {
			st = &Stat{}
			res.Stats[k] = st
		}
		switch unit {
		case "sec/op":
			st.NsOp = v * 1e9
			st.NsCI = rec[2]
		case "B/op":
			st.BOp, st.HasB = v, true
		case "allocs/op":
			st.Allocs, st.HasA = v, true
		default:
			continue
		}
		if !seenScenario[k.Scenario] {
			seenScenario[k.Scenario] = true
			res.Scenarios = append(res.Scenarios, k.Scenario)
		}
		if !seenLib[k.Lib] {
			seenLib[k.Lib] = true
			res.Libs = append(res.Libs, k.Lib)
		}
	}
	if len(res.Stats) == 0 {
		return nil, errors.New("no BenchmarkPeers results found")
	}
	return res, nil
}

// Get returns the stat of one benchmark, or nil.
func (r *Results) Get(scenario, lib, mode string) *Stat {
	return r.Stats[Key{scenario, lib, mode}]
}
