package lab

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

const ms = time.Millisecond

func consecutive(n int) Candidate {
	return Candidate{Name: "consecutive", New: func() policy.Policy { return policy.Consecutive(n) }}
}

// simulate replays calls against one breaker of candidate c, as a run does.
func simulate(s *Scenario, calls []call, c Candidate) (Result, error) {
	m, err := newSim(s, &c, 1, 1, false, 0)
	if err != nil {
		return Result{}, err
	}
	for i := range calls {
		m.arrive(&calls[i])
	}
	m.finish(s.Duration)
	m.r.measure(s, 1)
	return m.r, nil
}

// tr builds an expected transition.
func tr(at time.Duration, from, to breaker.State) Transition {
	return Transition{At: at, From: from, To: to}
}

// A hard outage with calls that complete at once, computed by hand.
//
// Calls arrive every 100 ms from 0 to 9.9 s; those arriving in [2 s, 5 s)
// fail. Consecutive(3) trips on the third failure, at 2.2 s. The circuit is
// open for 1 s, so it turns half-open at 3.2 s, 4.2 s and 5.2 s, with one
// probe each time: the calls arriving then. The probes at 3.2 s and 4.2 s
// fail; the one at 5.2 s arrives after the fault and closes the circuit.
// Rejected: 2.3–3.1, 3.3–4.1 and 4.3–5.1 s, 27 calls, of which only 5.0
// and 5.1 s arrived outside the fault.
func TestRunOutageByHand(t *testing.T) {
	s := Scenario{
		Name: "hand", Duration: 10 * time.Second, Rate: 10,
		OpenTimeout: time.Second, HalfOpenProbes: 1,
		Phases: []Phase{{Start: 2 * time.Second, End: 5 * time.Second, Errors: Steady(1.0)}},
	}
	rep, err := Run([]Scenario{s}, []Candidate{consecutive(3)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Scenarios[0].Results[0]
	want := Result{
		Candidate: "consecutive", Spec: "consecutive(3)",
		Calls: 100, Sent: 73, Rejected: 27,
		Failed:      5, // 2.0, 2.1, 2.2 and the probes at 3.2 and 4.2
		FaultSent:   5,
		FaultFailed: 5,
		HealthyLost: 2,
		Probes:      3,
		Trips:       1,
		Reopens:     2,
		TimeToTrip:  200 * ms,
		TimeToClose: 200 * ms,
		Transitions: []Transition{
			tr(2200*ms, breaker.Closed, breaker.Open),
			tr(3200*ms, breaker.Open, breaker.HalfOpen),
			tr(3200*ms, breaker.HalfOpen, breaker.Open),
			tr(4200*ms, breaker.Open, breaker.HalfOpen),
			tr(4200*ms, breaker.HalfOpen, breaker.Open),
			tr(5200*ms, breaker.Open, breaker.HalfOpen),
			tr(5200*ms, breaker.HalfOpen, breaker.Closed),
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// Calls that overlap: every call takes 300 ms, and calls that arrive in
// [1 s, 2 s) fail. Consecutive(2) trips when the second failure completes,
// at 1.4 s; by then the calls of 1.2 and 1.3 s are in flight. They were let
// through during the fault (4 calls sent), and their failures, reported
// after the trip, change nothing: the circuit stays open for its 1 s.
func TestSimulateOverlappingCalls(t *testing.T) {
	s := Scenario{
		Name: "overlap", Duration: 4 * time.Second, Rate: 10,
		OpenTimeout: time.Second, HalfOpenProbes: 1,
		Phases: []Phase{{Start: time.Second, End: 2 * time.Second, Errors: Steady(1.0)}},
	}
	calls := make([]call, 40)
	for i := range calls {
		at := time.Duration(i) * 100 * ms
		calls[i] = call{at: at, latency: 300 * ms}
		if at >= time.Second && at < 2*time.Second {
			calls[i].fault, calls[i].failed = true, true
		}
	}
	got, err := simulate(&s, calls, consecutive(2))
	if err != nil {
		t.Fatal(err)
	}
	// Open from 1.4 s to 2.4 s: the call of 2.4 s is the probe, and it
	// succeeds at 2.7 s. Rejected: 1.4–2.3 s (10 calls; 2.0–2.3 s healthy)
	// and 2.5–2.6 s while the probe is out (2 healthy).
	if got.TimeToTrip != 400*ms || got.FaultSent != 4 || got.Rejected != 12 ||
		got.HealthyLost != 6 || got.Probes != 1 || got.TimeToClose != 700*ms || got.Trips != 1 {
		t.Errorf("got %+v", got)
	}
	want := []Transition{
		tr(1400*ms, breaker.Closed, breaker.Open),
		tr(2400*ms, breaker.Open, breaker.HalfOpen),
		tr(2700*ms, breaker.HalfOpen, breaker.Closed),
	}
	if !reflect.DeepEqual(got.Transitions, want) {
		t.Errorf("transitions %v, want %v", got.Transitions, want)
	}
}

// slowPolicy trips on the first call that took at least limit, and counts
// what it was told, to show that durations reach a policy that asks.
type slowPolicy struct {
	limit time.Duration
	seen  atomic.Int64 // calls recorded
}

func (p *slowPolicy) Record(c policy.Call) bool {
	p.seen.Add(1)
	return c.Duration() >= p.limit
}
func (p *slowPolicy) Reset() {}
func (p *slowPolicy) Bind(b *policy.Binding) error {
	b.Need(policy.NeedDuration)
	return nil
}

// The breaker measures durations on the virtual clock: a call of 1.2 s
// that arrives at 1 s trips a 1 s slow-call policy when it completes, at
// 2.2 s. Calls of 100 ms before it never do.
func TestSimulateDurationsReachPolicy(t *testing.T) {
	s := Scenario{Name: "slow", Duration: 3 * time.Second, Rate: 10, SlowCall: time.Second,
		Phases: []Phase{{Start: time.Second, End: 3 * time.Second}}}
	calls := make([]call, 30)
	for i := range calls {
		at := time.Duration(i) * 100 * ms
		calls[i] = call{at: at, latency: 100 * ms}
		if at >= time.Second {
			calls[i].latency, calls[i].fault, calls[i].slow = 1200*ms, true, true
		}
	}
	p := Candidate{Name: "slow", New: func() policy.Policy { return &slowPolicy{limit: time.Second} }}
	got, err := simulate(&s, calls, p)
	if err != nil {
		t.Fatal(err)
	}
	if got.TimeToTrip != 1200*ms {
		t.Errorf("TimeToTrip = %v, want 1.2s", got.TimeToTrip)
	}
	// Calls 1.0–2.1 s were let through (12); the rest were rejected, and
	// none of them was healthy: each would have been slow.
	if got.FaultSent != 12 || got.HealthyLost != 0 || got.Rejected != 8 {
		t.Errorf("got %+v", got)
	}
}

// A scenario without phases has no fault, so no timing figures; its trips
// are false alarms, and every rejection is a healthy call lost.
func TestRunNoFault(t *testing.T) {
	s := Scenario{Name: "calm", Duration: 2 * time.Second, Rate: 10, Errors: 1, OpenTimeout: 10 * time.Second}
	rep, err := Run([]Scenario{s}, []Candidate{consecutive(5)}, 7)
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Scenarios[0].Results[0]
	// 5 failures (0.0–0.4 s) trip it at 0.4 s; it stays open to the end.
	if got.TimeToTrip != NotApplicable || got.TimeToClose != NotApplicable || got.Trips != 1 ||
		got.FalseTrips != 1 || got.FaultSent != 0 || got.HealthyLost != 15 || got.Failed != 5 {
		t.Errorf("got %+v", got)
	}
}

// The traffic follows the scenario: the share of failed calls matches the
// error rate, latencies stay within [L/2, 3L/2], and arrivals average Rate.
func TestTrafficFollowsScenario(t *testing.T) {
	s := Scenario{Name: "stats", Duration: 200 * time.Second, Rate: 100, Jitter: 1, Errors: 0.3,
		Latency: 100 * ms}
	calls := traffic(&s, 3)
	if n := len(calls); math.Abs(float64(n)-20000) > 400 {
		t.Errorf("%d calls, want about 20000", n)
	}
	failed := 0
	for _, c := range calls {
		if c.failed {
			failed++
		}
		if c.latency < 50*ms || c.latency > 150*ms {
			t.Fatalf("latency %v outside [50ms, 150ms]", c.latency)
		}
	}
	if share := float64(failed) / float64(len(calls)); math.Abs(share-0.3) > 0.02 {
		t.Errorf("error share %.3f, want about 0.3", share)
	}
	// A ramp from 0 to 1 fails about half the calls.
	s.Phases = []Phase{{Start: 0, End: s.Duration, Errors: Linear(0.0, 1.0), Latency: Steady(100 * ms)}}
	failed = 0
	for _, c := range traffic(&s, 3) {
		if c.failed {
			failed++
		}
	}
	if share := float64(failed) / float64(len(calls)); math.Abs(share-0.5) > 0.02 {
		t.Errorf("ramp error share %.3f, want about 0.5", share)
	}
}

// Every policy of a run sees the very same calls: with the same policy
// twice, the results match.
func TestRunSameTrafficForEveryPolicy(t *testing.T) {
	a, b := consecutive(5), consecutive(5)
	b.Name = "again"
	rep, err := Run(quick()[2:3], []Candidate{a, b}, 9)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Scenarios[0].Results
	r[1].Candidate = r[0].Candidate
	if !reflect.DeepEqual(r[0], r[1]) {
		t.Errorf("same policy, different results:\n%+v\n%+v", r[0], r[1])
	}
}

// writeAll renders every output of a report.
func writeAll(t *testing.T, rep *Report) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for name, write := range map[string]func(io.Writer) error{
		"table": rep.WriteTable, "csv": rep.WriteCSV, "json": rep.WriteJSON,
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		out[name] = b.Bytes()
	}
	for i := range rep.Scenarios {
		var b bytes.Buffer
		if err := rep.Scenarios[i].WriteSVG(&b); err != nil {
			t.Fatal(err)
		}
		out[rep.Scenarios[i].Scenario.Name+".svg"] = b.Bytes()
	}
	return out
}

// quick is the built-in scenarios at a fifth of their traffic: every
// scenario and policy, at a cost that suits tests run with -race.
func quick() []Scenario {
	ss := Builtin()
	for i := range ss {
		ss[i].Rate /= 5
	}
	return ss
}

// Two runs with the same seed write the same bytes, and every timeline is
// well-formed XML with an svg root, a title, axis labels and a legend.
// Another seed changes the output.
func TestRunDeterministicAndSVGParses(t *testing.T) {
	run := func(ss []Scenario, seed uint64) map[string][]byte {
		rep, err := Run(ss, DefaultCandidates(), seed)
		if err != nil {
			t.Fatal(err)
		}
		return writeAll(t, rep)
	}
	first, second := run(quick(), 1), run(quick(), 1)
	if len(first) != 3+len(Builtin()) {
		t.Errorf("%d outputs, want %d", len(first), 3+len(Builtin()))
	}
	for name := range first {
		if !bytes.Equal(first[name], second[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	if bytes.Equal(run(quick()[1:2], 1)["csv"], run(quick()[1:2], 2)["csv"]) {
		t.Error("seeds 1 and 2 gave the same CSV")
	}
	for name, data := range first {
		if !strings.HasSuffix(name, ".svg") {
			continue
		}
		dec := xml.NewDecoder(bytes.NewReader(data))
		var root string
		var text strings.Builder
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				if root == "" {
					root = tok.Name.Local
				}
			case xml.CharData:
				text.Write(tok)
			}
		}
		if root != "svg" {
			t.Errorf("%s: root element %q, want svg", name, root)
		}
		for _, want := range []string{"Scenario ", "time since the scenario began", "share of calls",
			"circuit state", "closed", "half-open", "open", "error rate", "consecutive(5)"} {
			if !strings.Contains(text.String(), want) {
				t.Errorf("%s: no %q in the text", name, want)
			}
		}
	}
}

// The event queue pops events in time order, ties in the order they were
// pushed.
func TestEventQueueOrder(t *testing.T) {
	var q eventQueue
	for i := range 1000 {
		q.push(event{at: time.Duration(i*7919%101) * ms, seq: uint64(i), inst: int32(i)})
	}
	prev := q.pop()
	for len(q) > 0 {
		e := q.pop()
		if e.at < prev.at || e.at == prev.at && e.seq < prev.seq {
			t.Fatalf("%+v popped after %+v", e, prev)
		}
		prev = e
	}
}

// Bad policies are reported by name, never a panic.
func TestRunBadPolicies(t *testing.T) {
	s := Builtin()[:2] // two scenarios: a shared policy fails at the second breaker
	for _, tc := range []struct {
		name     string
		policies []Candidate
		want     string
	}{
		{"none", nil, "no candidate"},
		{"no New", []Candidate{{Name: "x"}}, `candidate "x": New is nil`},
		{"bad name", []Candidate{{Name: "a\tb", New: consecutive(1).New}}, `name "a\tb"`},
		{"twice", []Candidate{consecutive(1), consecutive(2)}, "two candidates"},
		{"nil policy", []Candidate{{Name: "nil", New: func() policy.Policy { return nil }}}, "returned nil"},
		{"invalid", []Candidate{consecutive(0)}, "failures: must be at least 1"},
		{"shared", []Candidate{{Name: "shared", New: func() policy.Policy { return shared }}}, "already used"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(s, tc.policies, 1)
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// shared is one policy value returned for every breaker: the second
// breaker must be refused.
var shared = policy.Consecutive(5)

// Extreme but valid inputs finish at once: a gap between calls longer than
// the scenario, and latencies near the largest duration.
func TestRunExtremes(t *testing.T) {
	s := Scenario{Name: "extreme", Duration: time.Hour, Rate: 1e-12, Jitter: 1,
		Latency: 2_000_000 * time.Hour}
	rep, err := Run([]Scenario{s}, []Candidate{consecutive(5)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Scenarios[0].Results[0]; r.Calls != 1 || r.Sent != 1 {
		t.Errorf("got %+v, want one call", r)
	}
}

// A report's JSON holds each scenario in the input format: parsed back, it
// is the scenario that was run.
func TestReportJSONScenariosRoundTrip(t *testing.T) {
	ss := append(quick(), Scenario{Name: "ramps", Duration: time.Minute, Rate: 1, Latency: ms,
		Phases: []Phase{{Name: "p", Start: time.Second, End: 2 * time.Second,
			Errors: Linear(0.5, 0.25), Latency: Linear(time.Second, 3*ms)}}})
	rep, err := Run(ss, []Candidate{consecutive(5)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Scenarios []struct{ Scenario json.RawMessage }
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	for i, sr := range out.Scenarios {
		got, err := ParseScenarios(bytes.NewReader(sr.Scenario))
		if err != nil {
			t.Fatalf("scenario %d: %v\n%s", i, err, sr.Scenario)
		}
		if !reflect.DeepEqual(got[0], ss[i]) {
			t.Errorf("scenario %d: parsed back\n%+v\nwant\n%+v", i, got[0], ss[i])
		}
	}
}
