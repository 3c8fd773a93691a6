package breaker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

func failOnce(b *breaker.Breaker[int]) {
	_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errShadowTest })
}

func statusOf(t *testing.T, b *breaker.Breaker[int], name string) breaker.ShadowStatus {
	t.Helper()
	for _, st := range b.Shadows() {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no candidate %q in %+v", name, b.Shadows())
	return breaker.ShadowStatus{}
}

// A breaker built without candidates takes some at run time, keeps one
// given again alike with its state and counts, starts a changed one
// afresh, and drops them all; each change is a transition that changes
// nothing for calls, with its evidence.
func TestReconfigureShadows(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	var heard []breaker.Transition
	b, err := breaker.New(breaker.Config[int]{Name: "db", Clock: clk, Policy: policy.Consecutive(3),
		OnTransition: func(tr breaker.Transition) { heard = append(heard, tr) }})
	if err != nil {
		t.Fatal(err)
	}
	if b.Shadows() != nil || b.SettingsLine() != b.Settings().Text {
		t.Fatalf("before: %+v, line %q", b.Shadows(), b.SettingsLine())
	}
	b.Trip()
	b.Reset()
	gen := b.Transitions()[1].Generation
	heard = nil
	quick := breaker.Shadow{Name: "quick", Settings: breaker.Settings{Policy: policy.Consecutive(1), OpenTimeout: 30 * time.Second, Text: "consecutive(1)@open=30s"}}
	if err := b.ReconfigureShadows([]breaker.Shadow{quick}, "alice", "try it"); err != nil {
		t.Fatal(err)
	}
	ts := b.Transitions()
	if len(ts) != 3 || len(heard) != 1 {
		t.Fatalf("transitions %+v, heard %+v", ts, heard)
	}
	tr := ts[2]
	e := tr.Evidence
	if tr.Cause != breaker.CauseReconfigure || !tr.Shadow || tr.Candidate != "" || tr.From != breaker.Closed || tr.To != breaker.Closed ||
		tr.Generation != gen || e.Action != "shadows" || e.Who != "alice" || e.Why != "try it" || e.Old != "" || e.New != "shadow consecutive(1)@open=30s" {
		t.Fatalf("transition %+v, evidence %+v", tr, e)
	}
	if want := `reconfigure shadows by alice: try it; none → shadow consecutive(1)@open=30s; started "quick"`; e.Text != want {
		t.Errorf("evidence text %q, want %q", e.Text, want)
	}
	if got, want := b.SettingsLine(), b.Settings().Text+" shadow consecutive(1)@open=30s"; got != want {
		t.Errorf("SettingsLine = %q, want %q", got, want)
	}
	failOnce(b)
	if st := statusOf(t, b, "quick"); st.State != breaker.Open || st.Trips != 1 || st.Calls != 1 {
		t.Fatalf("quick after a failure: %+v", st)
	}
	b.Trip()
	if ts := b.Transitions(); b.State() != breaker.Open || ts[len(ts)-1].Generation != gen+1 {
		t.Fatalf("live circuit moved: %+v", ts)
	}
	b.Reset()
	heard = heard[:1]

	// quick again, alike but with a fresh policy: kept. slow: new.
	quick2 := quick
	quick2.Settings.Policy = policy.Consecutive(1)
	slow := breaker.Shadow{Name: "slow", Settings: breaker.Settings{Policy: policy.Consecutive(10)}}
	if err := b.ReconfigureShadows([]breaker.Shadow{slow, quick2}, "bob", "compare"); err != nil {
		t.Fatal(err)
	}
	sts := b.Shadows()
	if len(sts) != 2 || sts[0].Name != "slow" || sts[1].Name != "quick" {
		t.Fatalf("order: %+v", sts)
	}
	if st := sts[1]; st.State != breaker.Open || st.Trips != 1 || st.Calls != 1 || len(st.Transitions) != 1 {
		t.Fatalf("kept quick lost its state: %+v", st)
	}
	if st := sts[0]; st.State != breaker.Closed || st.Calls != 0 || st.Settings != "consecutive(10)@open=1m,probes=3" {
		t.Fatalf("new slow: %+v", st)
	}
	if _, err := breaker.New(breaker.Config[int]{Policy: quick2.Settings.Policy}); err != nil {
		t.Errorf("the policy given for a kept candidate was used up: %v", err)
	}
	e = b.Transitions()[5].Evidence
	if e.Old != "shadow consecutive(1)@open=30s" || e.New != "shadow consecutive(10)@open=1m,probes=3 shadow consecutive(1)@open=30s" ||
		!strings.HasSuffix(e.Detail, `; kept "quick"; started "slow"`) {
		t.Fatalf("evidence %+v", e)
	}

	// quick changed: started afresh, closed and empty.
	quick3 := breaker.Shadow{Name: "quick", Settings: breaker.Settings{Policy: policy.Consecutive(2)}}
	if err := b.ReconfigureShadows([]breaker.Shadow{quick3}, "", ""); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(t, b, "quick"); st.State != breaker.Closed || st.Calls != 0 || st.Trips != 0 || len(st.Transitions) != 0 {
		t.Fatalf("changed quick kept its state: %+v", st)
	}
	if e := b.Transitions()[6].Evidence; !strings.HasSuffix(e.Text, `started "quick"; removed "slow", "quick"`) || e.Who != "" {
		t.Fatalf("evidence %+v", e)
	}

	if err := b.ReconfigureShadows(nil, "alice", "done"); err != nil {
		t.Fatal(err)
	}
	if b.Shadows() != nil || b.SettingsLine() != b.Settings().Text {
		t.Fatalf("after removing all: %+v, %q", b.Shadows(), b.SettingsLine())
	}
	if e := b.Transitions()[7].Evidence; e.New != "" || !strings.Contains(e.Text, "shadow consecutive(2)@open=1m,probes=3 → none") {
		t.Fatalf("evidence %+v", e)
	}
	for _, tr := range heard {
		if tr.Cause != breaker.CauseReconfigure || !tr.Shadow {
			t.Errorf("heard %+v", tr)
		}
	}
}

// The candidates a breaker was built with can be given again as they
// were, their policies too: kept, not refused as shared.
func TestReconfigureShadowsKeepsTheSameShadows(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	shadows := []breaker.Shadow{{Name: "a", Settings: breaker.Settings{Policy: policy.Consecutive(1)}}}
	b, err := breaker.New(breaker.Config[int]{Clock: clk, Shadows: shadows})
	if err != nil {
		t.Fatal(err)
	}
	failOnce(b)
	more := append(shadows, breaker.Shadow{Name: "b", Settings: breaker.Settings{Policy: policy.Rate(0.5, 2, time.Minute)}})
	if err := b.ReconfigureShadows(more, "", ""); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(t, b, "a"); st.Trips != 1 || st.Calls != 1 {
		t.Fatalf("a: %+v", st)
	}
	// b's policy is b's now: given to a new candidate, it is shared.
	err = b.ReconfigureShadows([]breaker.Shadow{{Name: "c", Settings: more[1].Settings}}, "", "")
	if !errors.Is(err, policy.ErrShared) || !errors.Is(err, breaker.ErrInvalidConfig) || !strings.Contains(err.Error(), "Shadows[0].Settings.Policy") {
		t.Fatalf("err = %v, want ErrShared for Shadows[0]", err)
	}
}

// A refused ReconfigureShadows changes nothing and uses up no policy.
func TestReconfigureShadowsErrors(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	livePolicy := policy.Consecutive(3)
	b, err := breaker.New(breaker.Config[int]{Clock: clk, Policy: livePolicy,
		Shadows: []breaker.Shadow{{Name: "a", Settings: breaker.Settings{Policy: policy.Consecutive(1)}}}})
	if err != nil {
		t.Fatal(err)
	}
	failOnce(b)
	good := policy.Rate(0.5, 10, time.Minute)
	many := make([]breaker.Shadow, breaker.MaxShadows+1)
	for i := range many {
		many[i] = breaker.Shadow{Name: strings.Repeat("x", i+1)}
	}
	for _, c := range []struct {
		name    string
		shadows []breaker.Shadow
		want    string
		shared  bool
	}{
		{"too many", many, "Shadows must hold at most 8", false},
		{"no name", []breaker.Shadow{{Name: "g", Settings: breaker.Settings{Policy: good}}, {}}, "Shadows[1].Name", false},
		{"twice", []breaker.Shadow{{Name: "g", Settings: breaker.Settings{Policy: good}}, {Name: "g"}}, "Shadows[1].Name", false},
		{"bad argument", []breaker.Shadow{{Name: "g", Settings: breaker.Settings{Policy: good}}, {Name: "r", Settings: breaker.Settings{Policy: policy.Rate(1.5, 10, time.Minute)}}}, "Shadows[1].Settings.Policy.ratio", false},
		{"bad setting", []breaker.Shadow{{Name: "g", Settings: breaker.Settings{Policy: good}}, {Name: "r", Settings: breaker.Settings{OpenTimeout: -1}}}, "Shadows[1].Settings.OpenTimeout", false},
		{"live policy", []breaker.Shadow{{Name: "g", Settings: breaker.Settings{Policy: good}}, {Name: "l", Settings: breaker.Settings{Policy: livePolicy}}}, "Shadows[1].Settings.Policy", true},
		{"one policy twice", []breaker.Shadow{{Name: "g", Settings: breaker.Settings{Policy: good}}, {Name: "h", Settings: breaker.Settings{Policy: good}}}, "Shadows[1].Settings.Policy", true},
	} {
		err := b.ReconfigureShadows(c.shadows, "who", "why")
		if !errors.Is(err, breaker.ErrInvalidConfig) || !strings.Contains(err.Error(), c.want) || errors.Is(err, policy.ErrShared) != c.shared {
			t.Errorf("%s: %v, want %q (shared %v)", c.name, err, c.want, c.shared)
		}
	}
	if len(b.Transitions()) != 0 {
		t.Fatalf("a refused change was recorded: %+v", b.Transitions())
	}
	if st := b.Shadows(); len(st) != 1 || st[0].Name != "a" || st[0].Trips != 1 {
		t.Fatalf("candidates changed: %+v", st)
	}
	if _, err := breaker.New(breaker.Config[int]{Policy: good}); err != nil {
		t.Fatalf("a refused change used up a policy: %v", err)
	}
}

// A call admitted before a change reports to the candidates it was
// offered to that are still kept; a candidate added meanwhile never hears
// of it, nor a removed one.
func TestReconfigureShadowsCallsInFlight(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	a := breaker.Shadow{Name: "a", Settings: breaker.Settings{Policy: policy.Consecutive(1)}}
	b, err := breaker.New(breaker.Config[int]{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	p0, _ := b.Allow() // under no candidates
	if err := b.ReconfigureShadows([]breaker.Shadow{a}, "", ""); err != nil {
		t.Fatal(err)
	}
	p1, _ := b.Allow() // offered to a
	p0.Done(0, errShadowTest)
	if st := statusOf(t, b, "a"); st.Calls != 1 || st.Trips != 0 {
		t.Fatalf("a heard of a call admitted before it: %+v", st)
	}
	a.Settings.Policy = policy.Consecutive(1) // a fresh one, alike: a is kept
	if err := b.ReconfigureShadows([]breaker.Shadow{a, {Name: "b", Settings: breaker.Settings{Policy: policy.Consecutive(1)}}}, "", ""); err != nil {
		t.Fatal(err)
	}
	p1.Done(0, errShadowTest)
	if st := statusOf(t, b, "a"); st.Calls != 1 || st.Trips != 1 {
		t.Fatalf("kept a did not hear of its call: %+v", st)
	}
	if st := statusOf(t, b, "b"); st.Calls != 0 || st.Trips != 0 {
		t.Fatalf("b heard of a call admitted before it: %+v", st)
	}
	p2, _ := b.Allow() // offered to b (a is open: would reject)
	if err := b.ReconfigureShadows(nil, "", ""); err != nil {
		t.Fatal(err)
	}
	p2.Done(1, nil)
	p3, _ := b.Allow()
	p3.Done(0, errShadowTest)
	if m := b.Metrics(); m.State != breaker.Closed || m.Trips != 0 {
		t.Fatalf("live: %+v", m)
	}
}

// A shadow-only breaker takes candidates at run time: they see every call,
// those its own policy would have rejected too.
func TestReconfigureShadowsShadowOnly(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	b, err := breaker.New(breaker.Config[int]{Clock: clk, ShadowOnly: true, Policy: policy.Consecutive(1)})
	if err != nil {
		t.Fatal(err)
	}
	failOnce(b) // opens, in shadow
	if err := b.ReconfigureShadows([]breaker.Shadow{{Name: "slow", Settings: breaker.Settings{Policy: policy.Consecutive(3)}}}, "", ""); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		failOnce(b)
	}
	if st := statusOf(t, b, "slow"); st.Calls != 3 || st.Trips != 1 {
		t.Fatalf("slow: %+v", st)
	}
	ts := b.Transitions()
	if tr := ts[len(ts)-1]; tr.Cause != breaker.CauseReconfigure || tr.From != breaker.Open || tr.To != breaker.Open || !tr.Shadow {
		t.Fatalf("last transition %+v", tr)
	}
	if m := b.Metrics(); m.WouldReject != 3 || m.Rejected != 0 {
		t.Fatalf("metrics %+v", m)
	}
}

// A change of candidates does not cut the live circuit's evidence: the
// failures before it still explain the next trip, and the open period
// that ends is measured from the open, not from the change.
func TestReconfigureShadowsKeepsTheLiveEvidence(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	b, err := breaker.New(breaker.Config[int]{Clock: clk, Policy: policy.Consecutive(2), OpenTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	failOnce(b)
	clk.Add(time.Second)
	if err := b.ReconfigureShadows([]breaker.Shadow{{Name: "a"}}, "", ""); err != nil {
		t.Fatal(err)
	}
	failOnce(b)
	ts := b.Transitions()
	if e := ts[len(ts)-1].Evidence; ts[len(ts)-1].Cause != breaker.CausePolicy || len(e.Failures) != 2 {
		t.Fatalf("trip evidence %+v", e)
	}
	clk.Add(3 * time.Second)
	if err := b.ReconfigureShadows(nil, "", ""); err != nil {
		t.Fatal(err)
	}
	clk.Add(7 * time.Second)
	b.State()
	ts = b.Transitions()
	if e := ts[len(ts)-1].Evidence; e.Detail != "the open period of 10s ended" {
		t.Fatalf("timeout evidence %+v", e)
	}
}
