package lab_test

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tripwire-go/tripwire/lab"
	"github.com/tripwire-go/tripwire/policy"
)

// halfFailed is a custom policy: it trips when at least half of the last
// ten calls failed. It is small and locked; the lab builds one per breaker
// through the New function of its lab.Candidate.
type halfFailed struct {
	mu   sync.Mutex
	last []bool
}

func (p *halfFailed) Record(c policy.Call) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = append(p.last, c.Failed)
	if len(p.last) > 10 {
		p.last = p.last[1:]
	}
	failed := 0
	for _, f := range p.last {
		if f {
			failed++
		}
	}
	return len(p.last) == 10 && failed >= 5
}

func (p *halfFailed) Reset() {
	p.mu.Lock()
	p.last = nil
	p.mu.Unlock()
}

func (p *halfFailed) String() string { return "half-of-last-10" }

// Evaluate a policy of your own against a built-in scenario, next to
// Consecutive(5), and read its figures: in a brownout, where 30-50% of
// calls fail, a rate trips long before a streak of five failures comes up.
func ExampleRun() {
	mine := lab.Candidate{Name: "mine", New: func() policy.Policy { return &halfFailed{} }}
	five := lab.Candidate{Name: "consecutive", New: func() policy.Policy { return policy.Consecutive(5) }}
	brownout, err := lab.SelectScenarios(lab.Builtin(), "brownout")
	if err != nil {
		panic(err)
	}
	rep, err := lab.Run(brownout, []lab.Candidate{five, mine}, 1)
	if err != nil {
		panic(err)
	}
	for _, r := range rep.Scenarios[0].Results {
		fmt.Printf("%s: tripped %v into the brownout, let %d calls through during it, closed %v after it\n",
			r.Spec, r.TimeToTrip.Round(time.Millisecond), r.FaultSent, r.TimeToClose.Round(time.Millisecond))
	}
	// Output:
	// consecutive(5): tripped 9.017s into the brownout, let 1393 calls through during it, closed 7.846s after it
	// half-of-last-10: tripped 308ms into the brownout, let 165 calls through during it, closed 3.41s after it
}

// Describe an incident of your own, in Go or in JSON, and print the table.
// With no jitter and errors of 0 or 1 the figures can be checked by hand:
// calls every 100 ms, failing from 2 s to 5 s; Consecutive(3) trips on the
// third failure, at 2.2 s, and probes once a second until a probe
// succeeds, at 5.2 s.
func ExampleParseScenarios() {
	scenarios, err := lab.ParseScenarios(strings.NewReader(`{
		"name": "by-hand",
		"duration": "10s",
		"rate": 10,
		"open_timeout": "1s",
		"half_open_probes": 1,
		"phases": [{"start": "2s", "end": "5s", "errors": 1}]
	}`))
	if err != nil {
		panic(err)
	}
	three := lab.Candidate{Name: "consecutive", New: func() policy.Policy { return policy.Consecutive(3) }}
	rep, err := lab.Run(scenarios, []lab.Candidate{three}, 1)
	if err != nil {
		panic(err)
	}
	rep.WriteCSV(os.Stdout)
	// Output:
	// scenario,candidate,spec,calls,sent,rejected,failed,fault_sent,fault_failed,healthy_lost,probes,trips,reopens,false_trips,time_to_trip_s,time_to_close_s
	// by-hand,consecutive,consecutive(3),100,73,27,5,5,5,2,3,1,2,0,0.2,0.2
}

// Invalid scenarios are errors that name the scenario and the field.
func ExampleScenario_Validate() {
	s := lab.Scenario{Name: "typo", Duration: time.Minute, Rate: 50, Errors: 30}
	fmt.Println(s.Validate())
	// Output:
	// lab: scenario "typo": errors: must be a fraction in [0, 1], got 30
}

// Build candidates from the command line's notation: policies spelt as
// their Go constructors, with breaker settings after '@'. A mistake points
// at its character.
func ExampleParseCandidates() {
	cs, err := lab.ParseCandidates("consecutive(5),rate(0.3,20,10s)@open=30s,probes=1", nil)
	if err != nil {
		panic(err)
	}
	for _, c := range cs {
		fmt.Printf("%s: open %v, %d probes\n", c.Spec(), c.OpenTimeout, c.HalfOpenProbes)
	}
	_, err = lab.ParseCandidates("rate(0.3,20,10)", nil)
	fmt.Println(err)
	fmt.Println(err.(*lab.SpecError).Caret())
	// Output:
	// consecutive(5): open 0s, 0 probes
	// rate(0.3,20,10s)@open=30s,probes=1: open 30s, 1 probes
	// spec: column 13: Rate.over: "10" needs a unit: write it like "10s" or "250ms"
	// rate(0.3,20,10)
	//             ^
}

// Replay recorded calls: here an access log's worth, written as the
// calls ended, with the fault marked by offsets from the first call.
func ExampleReplayTrace() {
	trace := `end,duration_ms,status
2026-11-30T14:00:00.050Z,50,200
2026-11-30T14:00:01.010Z,10,503
2026-11-30T14:00:02.010Z,10,503
2026-11-30T14:00:03.010Z,10,503
2026-11-30T14:00:04.050Z,50,200
2026-11-30T14:00:05.050Z,50,200
`
	three := lab.Candidate{Name: "consecutive", New: func() policy.Policy { return policy.Consecutive(3) },
		OpenTimeout: 1500 * time.Millisecond, HalfOpenProbes: 1}
	rep, err := lab.ReplayTrace(strings.NewReader(trace), lab.Trace{FaultStart: time.Second, FaultEnd: 4 * time.Second},
		[]lab.Candidate{three}, lab.Options{})
	if err != nil {
		panic(err)
	}
	r := rep.Scenarios[0].Results[0]
	fmt.Printf("%d calls, %d sent into the fault, tripped %v into it, closed %v after it\n",
		r.Calls, r.FaultSent, r.TimeToTrip, r.TimeToClose)
	// Output:
	// 6 calls, 3 sent into the fault, tripped 2.01s into it, closed 1.05s after it
}

// With a fleet, Share adds each candidate's row with the instances'
// breakers sharing one circuit through package fleet: fewer calls into the
// outage, and K probes fleet-wide instead of K per instance.
func ExampleRunWith_share() {
	outage, _ := lab.SelectScenarios(lab.Builtin(), "outage")
	cands, _ := lab.ParseCandidates("consecutive(5)", nil)
	rep, err := lab.RunWith(outage, cands, lab.Options{Seed: 1, Fleet: 10, Share: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rep.Scenarios[0].Results {
		fmt.Printf("%s: %d calls into the outage, %d probes, %d trips\n", r.Candidate, r.FaultSent, r.Probes, r.Trips)
	}
	// Output:
	// consecutive(5): 160 calls into the outage, 141 probes, 10 trips
	// consecutive(5) shared: 75 calls into the outage, 33 probes, 2 trips
}
