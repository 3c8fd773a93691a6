package main

import (
	"bytes"
	"strings"
	"testing"
)

// sample is benchstat -format csv output in the shape run.sh gets it.
const sample = `goos: linux
goarch: amd64
pkg: github.com/tripwire-go/tripwire/bench/peers
cpu: Some CPU, 2 cores
,peers.txt,
,sec/op,CI
Peers/scenario=closed-success/lib=floor/mode=serial-2,4e-09,3%
Peers/scenario=closed-success/lib=floor/mode=parallel-2,2e-08,5%
Peers/scenario=closed-success/lib=tripwire/mode=serial-2,5e-09,2%
Peers/scenario=closed-success/lib=tripwire/mode=parallel-2,1e-09,9%
Peers/scenario=closed-success/lib=gobreaker/mode=serial-2,1.5e-07,1%
Peers/scenario=closed-success/lib=hystrix/mode=serial-2,1.2e-06,∞
geomean,3e-08,

,peers.txt,
,B/op,CI
Peers/scenario=closed-success/lib=floor/mode=serial-2,0,0%
Peers/scenario=closed-success/lib=floor/mode=parallel-2,0,0%
Peers/scenario=closed-success/lib=tripwire/mode=serial-2,0,0%
Peers/scenario=closed-success/lib=tripwire/mode=parallel-2,0,0%
Peers/scenario=closed-success/lib=gobreaker/mode=serial-2,0,0%
Peers/scenario=closed-success/lib=hystrix/mode=serial-2,1024,1%
geomean,,

,peers.txt,
,allocs/op,CI
Peers/scenario=closed-success/lib=floor/mode=serial-2,0,0%
Peers/scenario=closed-success/lib=floor/mode=parallel-2,0,0%
Peers/scenario=closed-success/lib=tripwire/mode=serial-2,0,0%
Peers/scenario=closed-success/lib=tripwire/mode=parallel-2,1,0%
Peers/scenario=closed-success/lib=gobreaker/mode=serial-2,0,0%
Peers/scenario=closed-success/lib=hystrix/mode=serial-2,12,0%
geomean,,
`

func TestParse(t *testing.T) {
	r, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if r.Procs != "2" {
		t.Errorf("Procs = %q, want 2", r.Procs)
	}
	if got := strings.Join(r.Libs, ","); got != "floor,tripwire,gobreaker,hystrix" {
		t.Errorf("Libs = %s", got)
	}
	st := r.Get("closed-success", "hystrix", "serial")
	if st == nil || st.NsOp != 1200 || st.NsCI != "∞" || st.BOp != 1024 || st.Allocs != 12 {
		t.Errorf("hystrix serial = %+v", st)
	}
	if v, ok := ratio(r, "closed-success", "serial", "floor"); !ok || v != 1.25 {
		t.Errorf("tripwire ÷ floor, serial = %v, %v; want 1.25", v, ok)
	}
	if _, ok := ratio(r, "closed-success", "parallel", "hystrix"); ok {
		t.Error("a ratio to a benchmark that did not run")
	}
}

func TestParseRejectsForeignInput(t *testing.T) {
	if _, err := Parse(strings.NewReader("goos: linux\n,x.txt,\n,sec/op,CI\nBenchmarkOther,1,2%\n")); err == nil {
		t.Error("no error for a CSV without BenchmarkPeers rows")
	}
}

func TestWrite(t *testing.T) {
	r, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, r, Meta{CPU: "Some CPU", Cores: "2", Go: "go1.x", Date: "today", Rounds: "6", Benchtime: "300ms"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"| CPU | Some CPU |",
		"| cores | 2 (GOMAXPROCS 2) |",
		"| Rate policy, closed success, serial: ≥ 4× faster than gobreaker's rolling window | not measured | – |",
		"| 0 allocs/op, closed-success, parallel | 1 allocs/op | **no** |",
		"| hystrix | 1200 | ± ∞ | – |  | 1024 | 12 |",
		"| gobreaker | 0.033× | – |",
		"A target marked not measured has no benchmark data in this run",
		"## Configuration, and where each peer differs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q\n%s", want, out)
		}
	}
}

// TestWriteAllMeasured checks that a run with data for every target says
// nothing about targets left unmeasured.
func TestWriteAllMeasured(t *testing.T) {
	var csv strings.Builder
	csv.WriteString("goos: linux\ngoarch: amd64\npkg: github.com/tripwire-go/tripwire/bench/peers\n")
	for _, unit := range []string{"sec/op", "B/op", "allocs/op"} {
		csv.WriteString(",peers.txt,\n," + unit + ",CI\n")
		for _, sc := range []string{"closed-success", "open", "rate-closed-success", "rate-counted-closed-success", "window-closed-success"} {
			for _, lib := range []string{"floor", "tripwire", "gobreaker"} {
				for _, mode := range []string{"serial", "parallel"} {
					csv.WriteString("Peers/scenario=" + sc + "/lib=" + lib + "/mode=" + mode + "-2,1e-08,1%\n")
				}
			}
		}
		csv.WriteString("geomean,,\n\n")
	}
	r, err := Parse(strings.NewReader(csv.String()))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, r, Meta{}); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); strings.Contains(out, "not measured") {
		t.Errorf("a fully measured run reports something not measured\n%s", out)
	}
}
