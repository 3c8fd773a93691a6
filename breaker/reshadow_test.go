package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
	"pgregory.net/rapid"
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

// TestReconfigureShadowsNeverChangesCalls runs the same calls through a
// breaker without candidates and one whose candidates are replaced at
// random moments, with calls in flight, both shadow-only or not: every call is admitted or
// rejected alike and returns the same, the live circuits make the same
// transitions (generations and evidence included) and report the same
// metrics; and each candidate in force was offered exactly the calls that
// ran since it started, a kept one's count going on across changes.
func TestReconfigureShadowsNeverChangesCalls(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		clk := drawClock(t)
		live := drawSettings(t, "live")
		names := []string{"s0", "s1", "s2"}
		variants := map[string][2]drawnSettings{}
		for _, n := range names {
			variants[n] = [2]drawnSettings{drawSettings(t, n+".v0"), drawSettings(t, n+".v1")}
		}
		type inForce struct {
			name    string
			variant int
			calls   uint64
		}
		var model []inForce
		draw := func(t *rapid.T) []breaker.Shadow {
			var next []inForce
			var out []breaker.Shadow
			for _, i := range rapid.Permutation([]int{0, 1, 2}).Draw(t, "order")[:rapid.IntRange(0, 3).Draw(t, "count")] {
				n := names[i]
				v := rapid.IntRange(0, 1).Draw(t, n+".variant")
				f := inForce{name: n, variant: v}
				for _, m := range model {
					if m.name == n && m.variant == v {
						f.calls = m.calls // kept
					}
				}
				next = append(next, f)
				s := variants[n][v].settings()
				s.Text = fmt.Sprintf("%s/%d", n, v)
				out = append(out, breaker.Shadow{Name: n, Settings: s})
			}
			model = next
			return out
		}
		var plainT, liveT []liveTransition
		notes := 0
		only := rapid.Bool().Draw(t, "shadowOnly")
		cfgA := live.config(clk)
		cfgA.ShadowOnly = only
		cfgA.CountCalls = true
		cfgA.OnTransition = func(tr breaker.Transition) { plainT = append(plainT, liveOf(tr)) }
		cfgB := live.config(clk)
		cfgB.ShadowOnly = only
		cfgB.CountCalls = true
		cfgB.Shadows = draw(t)
		cfgB.OnTransition = func(tr breaker.Transition) {
			switch {
			case tr.Candidate != "":
			case tr.Cause == breaker.CauseReconfigure && tr.Evidence.Action == "shadows":
				notes++
			default:
				liveT = append(liveT, liveOf(tr))
			}
		}
		a, err := breaker.New(cfgA)
		if err != nil {
			t.Fatal(err)
		}
		b, err := breaker.New(cfgB)
		if err != nil {
			t.Fatal(err)
		}
		ran := func() {
			for i := range model {
				model[i].calls++
			}
		}
		changes := 0
		calls := &pairedCalls{a: a, b: b, clk: clk, without: "without candidates", ran: ran}
		t.Repeat(calls.actions(map[string]func(*rapid.T){
			"act": func(t *rapid.T) {
				if rapid.Bool().Draw(t, "trip") {
					a.Trip()
					b.Trip()
				} else {
					a.Reset()
					b.Reset()
				}
			},
			"reshadow": func(t *rapid.T) {
				if err := b.ReconfigureShadows(draw(t), "", ""); err != nil {
					t.Fatal(err)
				}
				changes++
			},
			"": func(t *rapid.T) {
				if a.State() != b.State() {
					t.Fatalf("State: without candidates %v, with %v", a.State(), b.State())
				}
				if ma, mb := a.Metrics(), b.Metrics(); ma != mb {
					t.Fatalf("Metrics:\nwithout candidates %+v\nwith               %+v", ma, mb)
				}
				if notes != changes {
					t.Fatalf("%d changes, %d transitions heard of them", changes, notes)
				}
				if len(plainT) != len(liveT) {
					t.Fatalf("transitions: without candidates %v, with %v", plainT, liveT)
				}
				for i := range plainT {
					if plainT[i] != liveT[i] {
						t.Fatalf("transition %d: without candidates %+v, with %+v", i, plainT[i], liveT[i])
					}
				}
				sts := b.Shadows()
				if len(sts) != len(model) {
					t.Fatalf("candidates %+v, want %+v", sts, model)
				}
				for i, st := range sts {
					if st.Name != model[i].name || st.Calls != model[i].calls {
						t.Fatalf("candidate %d: %s offered %d calls, want %s offered %d", i, st.Name, st.Calls, model[i].name, model[i].calls)
					}
				}
			},
		}))
		calls.releaseAll()
	})
}

// Changes made at once on many goroutines are heard in the order they
// were made: each one's Old is the New of the one before.
func TestReconfigureShadowsConcurrentChangesChain(t *testing.T) {
	var mu sync.Mutex
	var heard []*breaker.Evidence
	b, err := breaker.New(breaker.Config[int]{Clock: epochs.NewClock(epochs.Today), OnTransition: func(tr breaker.Transition) {
		mu.Lock()
		heard = append(heard, tr.Evidence)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				var set []breaker.Shadow
				for k := range (g + i) % 3 {
					set = append(set, breaker.Shadow{Name: fmt.Sprint("c", k), Settings: breaker.Settings{Policy: policy.Consecutive(1 + (g+i+k)%4)}})
				}
				if err := b.ReconfigureShadows(set, fmt.Sprint("g", g), ""); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(heard) != 200 {
		t.Fatalf("heard %d changes, want 200", len(heard))
	}
	for i := 1; i < len(heard); i++ {
		if heard[i].Old != heard[i-1].New {
			t.Fatalf("change %d: Old %q, but the one before made %q", i, heard[i].Old, heard[i-1].New)
		}
	}
	if got, want := heard[len(heard)-1].New, strings.TrimPrefix(b.SettingsLine(), b.Settings().Text+" "); got != want && (got != "" || want != b.Settings().Text) {
		t.Fatalf("last change made %q, in force %q", got, want)
	}
}
