package lab_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/lab"
	"github.com/tripwire-go/tripwire/spec"
)

func TestParseCandidatesShadows(t *testing.T) {
	cs, err := lab.ParseCandidates("consecutive(5)@open=60s,ramp=10s shadow rate(0.3, 20, 10s)@open=30s shadow lastn(0.5,10,20),window(3,1s)", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, fmt.Sprintf("%s<%s>%v", c.Name, c.ShadowOf, c.RampUp))
	}
	want := []string{"consecutive(5)@open=1m,ramp=10s<>10s", "rate(0.3,20,10s)@open=30s<consecutive(5)@open=1m,ramp=10s>10s",
		"lastn(0.5,10,20)<consecutive(5)@open=1m,ramp=10s>10s", "window(3,1s)<>0s"}
	if !slices.Equal(got, want) {
		t.Fatalf("candidates\n%q\nwant\n%q", got, want)
	}
	if _, err := lab.ParseCandidates("rate(0.3,20,10s) shadow consecutive(5),consecutive(5)", nil); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Fatalf("a shadow and a candidate of one name: %v", err)
	}
	cs, err = lab.ParseCandidates("rate shadow @open=5s", lab.DefaultCandidates())
	if err != nil || len(cs) != 2 || cs[0].Name != "rate" || cs[1].Name != "@open=5s" || cs[1].New() == nil {
		t.Fatalf("a named candidate with a shadow of the default policy: %+v, %v", cs, err)
	}
}

// shadowTransition is a transition as both the breaker and the lab tell
// it: since the first call.
type shadowTransition struct {
	At       time.Duration
	From, To breaker.State
}

// TestTraceWriterRoundTrip records the live traffic of a breaker that has
// shadow candidates (its own policy trips too, so the calls it rejects are
// missing from the trace, as from what its candidates saw), replays the
// trace in the lab with the breaker's spec line as the candidates, and
// checks that each shadow's row in the lab makes the transitions, at the
// same times, that the breaker's candidate made live.
func TestTraceWriterRoundTrip(t *testing.T) {
	const line = "consecutive(6)@open=3s,probes=1 shadow consecutive(3)@open=2s,probes=1 shadow rate(0.5,4,10s)@open=1s,probes=2,backoff=8s shadow lastn(0.4,5,10)@open=1500ms,probes=1,close-after=2"
	s, err := spec.Parse(line)
	if err != nil {
		t.Fatal(err)
	}
	clk := epochs.Mock(epochs.Today)
	start := clk.Now()
	var buf bytes.Buffer
	tw := lab.NewTraceWriter(&buf)
	live := map[string][]shadowTransition{}
	cfg := spec.Config[int](s)
	cfg.Clock = clk
	cfg.OnCall = tw.Record
	cfg.OnTransition = func(tr breaker.Transition) {
		if tr.Shadow && tr.From != tr.To {
			live[tr.Candidate] = append(live[tr.Candidate], shadowTransition{tr.At.Sub(start), tr.From, tr.To})
		}
	}
	b, err := breaker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}

	// The traffic: arrivals 20 to 400 ms apart, each taking 5 to 300 ms,
	// failing in bursts. The calls end in the order the lab's replay ends
	// them: every call that ends by an arrival ends before it, in order of
	// end, then of start.
	type inflight struct {
		end    time.Duration
		seq    int
		permit breaker.Permit[int]
		fail   bool
	}
	var pending []inflight
	rng := rand.New(rand.NewPCG(1, 2))
	errCall := errors.New("failed")
	endUpTo := func(at time.Duration) {
		slices.SortFunc(pending, func(a, b inflight) int {
			if a.end != b.end {
				return int(a.end - b.end)
			}
			return a.seq - b.seq
		})
		for len(pending) > 0 && pending[0].end <= at {
			c := pending[0]
			pending = pending[1:]
			clk.Set(start.Add(c.end))
			if c.fail {
				c.permit.Done(0, errCall)
			} else {
				c.permit.Done(1, nil)
			}
		}
	}
	now := time.Duration(0)
	ran := 0
	for i := range 400 {
		endUpTo(now)
		clk.Set(start.Add(now))
		bad := (i/40)%2 == 1
		fail := rng.Float64() < map[bool]float64{false: 0.1, true: 0.8}[bad]
		if p, err := b.Allow(); err == nil {
			ran++
			pending = append(pending, inflight{end: now + time.Duration(5+rng.IntN(296))*time.Millisecond, seq: i, permit: p, fail: fail})
		}
		now += time.Duration(20+rng.IntN(381)) * time.Millisecond
	}
	endUpTo(1 << 62)
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	if tw.Rows() != ran {
		t.Fatalf("the trace has %d calls, the breaker ran %d", tw.Rows(), ran)
	}
	if b.Metrics().Trips == 0 {
		t.Fatalf("the live policy never tripped: the test does not check that rejected calls are left out")
	}

	cands, err := lab.ParseCandidates(line, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := lab.ReplayTrace(&buf, lab.Trace{Name: "recorded"}, cands, lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range rep.Scenarios[0].Results {
		want, isShadow := live[r.Candidate]
		if !isShadow {
			continue
		}
		var got []shadowTransition
		for _, tr := range r.Transitions {
			got = append(got, shadowTransition{tr.At, tr.From, tr.To})
		}
		if len(want) == 0 {
			t.Errorf("candidate %s made no transition live: the traffic tests nothing", r.Candidate)
		}
		if !slices.Equal(got, want) {
			t.Errorf("candidate %s:\nlive %v\nlab  %v", r.Candidate, want, got)
		}
		t.Logf("%s: %d transitions, live and in the lab", r.Candidate, len(got))
		checked++
	}
	if checked != len(s.Shadows) {
		t.Fatalf("checked %d shadows, want %d (live: %v)", checked, len(s.Shadows), live)
	}
}
