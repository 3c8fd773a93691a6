package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// evidenceKit is a breaker on a mock clock whose transitions are kept.
type evidenceKit struct {
	b   *breaker.Breaker[int]
	clk *clock.Mock
	got []breaker.Transition
}

func newEvidenceKit(t *testing.T, cfg breaker.Config[int]) *evidenceKit {
	t.Helper()
	k := &evidenceKit{clk: clock.NewMock()}
	k.clk.Set(epochs.Today)
	cfg.Clock = k.clk
	cfg.OnTransition = func(tr breaker.Transition) { k.got = append(k.got, tr) }
	b, err := breaker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k.b = b
	return k
}

func (k *evidenceKit) call(err error) {
	_, _ = k.b.Execute(context.Background(), func(context.Context) (int, error) { return 0, err })
}

func (k *evidenceKit) last(t *testing.T) breaker.Transition {
	t.Helper()
	if len(k.got) == 0 {
		t.Fatal("no transition")
	}
	tr := k.got[len(k.got)-1]
	if tr.Evidence == nil {
		t.Fatalf("transition %v→%v has no evidence", tr.From, tr.To)
	}
	return tr
}

// TestEvidenceOfEachBuiltInPolicy: a trip by each built-in policy carries
// the policy's account, in the words a user reads in a log.
func TestEvidenceOfEachBuiltInPolicy(t *testing.T) {
	boom := errors.New("upstream said 503")
	cases := []struct {
		name     string
		p        policy.Policy
		calls    []error
		rule     string
		path     string
		wantText string
	}{
		{"consecutive", policy.Consecutive(3), []error{boom, boom, boom}, "consecutive", "",
			"consecutive: 3 failures in a row (threshold 3)"},
		{"window", policy.Window(2, 10*time.Second), []error{nil, boom, nil, boom}, "window", "",
			"window: 2 failures of 4 calls (threshold 2) in the last 10s"},
		{"rate", policy.Rate(0.25, 4, 10*time.Second), []error{nil, nil, boom, boom}, "rate", "",
			"rate: 2 of 4 calls failed (50.0% ≥ 25%) in the last 10s"},
		{"lastn", policy.LastN(0.5, 2, 10), []error{nil, boom}, "lastn", "",
			"lastn: 1 of 2 calls failed (50.0% ≥ 50%) among the last 10"},
		{"when", policy.When(10*time.Second, func(c policy.Counts) bool { return c.Failures >= 2 }), []error{boom, nil, boom}, "when", "",
			"when: 2 failures, 0 slow, of 3 calls in the last 10s; 1 failures in a row (predicate true)"},
		{"any", policy.Any(policy.Consecutive(9), policy.Rate(0.5, 2, time.Minute)), []error{boom, boom}, "rate", "any[1]",
			"any[1] rate: 2 of 2 calls failed (100.0% ≥ 50%) in the last 1m0s"},
		{"all", policy.All(policy.Consecutive(2), policy.Window(2, time.Minute)), []error{boom, boom}, "all", "",
			"all: all[0] consecutive: 2 failures in a row (threshold 2); all[1] window: 2 failures of 2 calls (threshold 2) in the last 1m0s"},
	}
	for _, c := range cases {
		t.Run("policy="+c.name, func(t *testing.T) {
			k := newEvidenceKit(t, breaker.Config[int]{Name: "db", Policy: c.p})
			for _, err := range c.calls {
				k.call(err)
			}
			tr := k.last(t)
			if tr.Cause != breaker.CausePolicy || tr.To != breaker.Open {
				t.Fatalf("last transition %v→%v by %v, want a trip", tr.From, tr.To, tr.Cause)
			}
			a := tr.Evidence.Account
			if a == nil || a.Text != c.wantText || a.Rule != c.rule || a.Path != c.path || !a.Tripped {
				t.Fatalf("account = %+v\nwant text %q rule %q path %q, tripped", a, c.wantText, c.rule, c.path)
			}
			if !strings.HasSuffix(tr.Evidence.Text, "last failure: upstream said 503") {
				t.Errorf("evidence text %q does not end with the last failure", tr.Evidence.Text)
			}
			m := k.b.Metrics()
			if m.TripRule != c.rule || m.TripPath != c.path {
				t.Errorf("Metrics TripRule, TripPath = %q, %q; want %q, %q", m.TripRule, m.TripPath, c.rule, c.path)
			}
		})
	}
}

// TestEvidenceKeepsTheLastFiveFailures: at most MaxFailures failures, the
// latest, oldest first, each with its time, cut by the describer.
func TestEvidenceKeepsTheLastFiveFailures(t *testing.T) {
	k := newEvidenceKit(t, breaker.Config[int]{Policy: policy.Consecutive(8)})
	for i := range 8 {
		k.clk.Add(time.Second)
		k.call(fmt.Errorf("failure %d %s", i, strings.Repeat("x", 300)))
	}
	fs := k.last(t).Evidence.Failures
	if len(fs) != breaker.MaxFailures {
		t.Fatalf("%d failures kept, want %d", len(fs), breaker.MaxFailures)
	}
	for i, f := range fs {
		want := fmt.Sprintf("failure %d ", i+3)
		if !strings.HasPrefix(f.Error, want) || len(f.Error) > breaker.MaxErrorText+len("…") || !strings.HasSuffix(f.Error, "…") {
			t.Errorf("failure %d = %q (%d bytes), want %q… cut to %d bytes", i, f.Error, len(f.Error), want, breaker.MaxErrorText)
		}
		if wantAt := epochs.Today.Add(time.Duration(i+4) * time.Second); !f.At.Equal(wantAt) {
			t.Errorf("failure %d at %v, want %v", i, f.At, wantAt)
		}
	}
}

// TestEvidenceDescriberIsTheUsers: Config.DescribeError decides the text,
// and a describer that panics costs the text, not the transition.
func TestEvidenceDescriberIsTheUsers(t *testing.T) {
	k := newEvidenceKit(t, breaker.Config[int]{Policy: policy.Consecutive(1), DescribeError: func(err error) string { return "redacted" }})
	k.call(errors.New("password=hunter2"))
	if fs := k.last(t).Evidence.Failures; len(fs) != 1 || fs[0].Error != "redacted" {
		t.Fatalf("failures = %+v, want one, redacted", fs)
	}
	k = newEvidenceKit(t, breaker.Config[int]{Policy: policy.Consecutive(1), DescribeError: func(error) string { panic("no") }})
	k.call(errors.New("x"))
	if fs := k.last(t).Evidence.Failures; len(fs) != 1 || !strings.Contains(fs[0].Error, "panicked") {
		t.Fatalf("failures = %+v, want one saying the describer panicked", fs)
	}
}

// TestEvidenceOfProbesAndTimeouts: a failed probe gives its error, the end
// of an open period its length, a close the probes that closed it.
func TestEvidenceOfProbesAndTimeouts(t *testing.T) {
	k := newEvidenceKit(t, breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: 30 * time.Second, HalfOpenProbes: 1})
	k.call(errors.New("down"))
	k.clk.Add(30 * time.Second)
	k.call(errors.New("still down"))
	got := k.got[len(k.got)-2:]
	if got[0].Cause != breaker.CauseTimeout || got[0].Evidence.Text != "the open period of 30s ended; probes may run" {
		t.Errorf("timeout evidence = %q (cause %v)", got[0].Evidence.Text, got[0].Cause)
	}
	if got[1].Cause != breaker.CauseProbe || got[1].Evidence.Detail != "probe failed: still down" {
		t.Errorf("failed probe evidence = %q (cause %v)", got[1].Evidence.Detail, got[1].Cause)
	}
	k.clk.Add(time.Hour)
	k.call(nil)
	if tr := k.last(t); tr.To != breaker.Closed || tr.Evidence.Detail != "1 probe succeeded" {
		t.Errorf("close evidence = %q (to %v)", tr.Evidence.Detail, tr.To)
	}
}

// TestActNotesWhoAndWhy: an action taken with Act carries who and why into
// the evidence of the transition it causes; a plain Trip carries what it
// was.
func TestActNotesWhoAndWhy(t *testing.T) {
	k := newEvidenceKit(t, breaker.Config[int]{})
	if err := k.b.Act(breaker.Action{Kind: breaker.ActTripFor, For: time.Minute, Who: "alice", Why: "db failover"}); err != nil {
		t.Fatal(err)
	}
	e := k.last(t).Evidence
	if e.Action != "trip-for 1m0s" || e.Who != "alice" || e.Why != "db failover" || e.Text != "manual trip-for 1m0s by alice: db failover" {
		t.Fatalf("evidence = %+v", e)
	}
	k.b.ForceOpen()
	if e := k.last(t).Evidence; e.Action != "force-open" || e.Who != "" {
		t.Fatalf("evidence of ForceOpen = %+v", e)
	}
	k.b.Adopt(breaker.Adoption{Kind: breaker.AdoptClose, Who: "fleet", Why: "record gen 4 closed"})
	if e := k.last(t).Evidence; e.Text != "external adopt close by fleet: record gen 4 closed" {
		t.Fatalf("evidence of an adoption = %+v", e)
	}
	if err := k.b.Act(breaker.Action{Kind: 99}); !errors.Is(err, breaker.ErrInvalidAction) {
		t.Fatalf("Act of an unknown kind: %v, want ErrInvalidAction", err)
	}
	if err := k.b.Act(breaker.Action{Kind: breaker.ActTripFor, For: -time.Second}); !errors.Is(err, breaker.ErrInvalidAction) {
		t.Fatalf("Act trip-for -1s: %v, want ErrInvalidAction", err)
	}
}

// TestActInsidePolicyResetIsCreditedToItself: an action taken inside a
// policy's Reset (Config.Policy allows Trip there) is its own, and the
// Reset's close is the Reset's.
func TestActInsidePolicyResetIsCreditedToItself(t *testing.T) {
	p := &duringReset{ConsecutivePolicy: policy.Consecutive(5)}
	k := newEvidenceKit(t, breaker.Config[int]{Policy: p})
	k.b.Trip()
	p.hook = func() { _ = k.b.Act(breaker.Action{Kind: breaker.ActForceOpen, Who: "bob"}) }
	_ = k.b.Act(breaker.Action{Kind: breaker.ActReset, Who: "alice"})
	for _, tr := range k.got[1:] {
		want := "alice"
		if tr.Evidence.Action == "force-open" {
			want = "bob"
		}
		if tr.Evidence.Who != want {
			t.Errorf("%v→%v (%s) credited to %q, want %q", tr.From, tr.To, tr.Evidence.Action, tr.Evidence.Who, want)
		}
	}
}

// TestTransitionsAreBounded: the history keeps the last MaxTransitions,
// oldest first, each with the evidence its listeners saw.
func TestTransitionsAreBounded(t *testing.T) {
	k := newEvidenceKit(t, breaker.Config[int]{})
	for range breaker.MaxTransitions {
		k.b.Trip()
		k.b.Reset()
	}
	h := k.b.Transitions()
	if len(h) != breaker.MaxTransitions {
		t.Fatalf("%d transitions kept, want %d", len(h), breaker.MaxTransitions)
	}
	want := k.got[len(k.got)-breaker.MaxTransitions:]
	for i := range h {
		if h[i].Generation != want[i].Generation || h[i].Evidence != want[i].Evidence {
			t.Fatalf("history[%d] = gen %d, want gen %d with the same evidence", i, h[i].Generation, want[i].Generation)
		}
	}
}

// TestFailureNotingAddsNothingToSuccess: the closed success path allocates
// nothing, and a failure path allocates nothing either.
func TestFailureNotingAddsNothingToSuccess(t *testing.T) {
	b, _ := breaker.New(breaker.Config[int]{Policy: policy.Consecutive(1 << 30)})
	ctx := context.Background()
	boom := errors.New("x")
	ok := func(context.Context) (int, error) { return 0, nil }
	bad := func(context.Context) (int, error) { return 0, boom }
	if n := testing.AllocsPerRun(100, func() { _, _ = b.Execute(ctx, ok) }); n != 0 {
		t.Errorf("success: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = b.Execute(ctx, bad) }); n != 0 {
		t.Errorf("failure: %v allocations", n)
	}
}

// owed is a custom policy that gives its account through its terms.
type owed struct {
	policy.Owner
	n int
}

func (d *owed) Record(c policy.Call) bool {
	if c.Failed {
		d.n++
	}
	return d.n >= 2
}
func (d *owed) Reset() { d.n = 0 }
func (d *owed) Bind(b *policy.Binding) error {
	b.Explain(policy.ExplainerFunc(func(time.Time) policy.Account {
		return policy.Account{Rule: "debt", Tripped: d.n >= 2, Counted: int64(d.n), Text: fmt.Sprintf("debt: %d failures owed (limit 2)", d.n)}
	}))
	return b.Claim(&d.Owner)
}

// plain is a custom policy with no terms at all.
type plain struct{ n int }

func (p *plain) Record(c policy.Call) bool { p.n++; return c.Failed }
func (p *plain) Reset()                    {}

// wrapped forwards to what it wraps, and keeps its terms through Unwrap.
type wrapped struct{ policy.Policy }

func (w wrapped) Unwrap() policy.Policy { return w.Policy }

// TestEvidenceOfCustomPolicies: a custom policy's account comes through its
// terms, also behind a wrapper; one that gives none says so.
func TestEvidenceOfCustomPolicies(t *testing.T) {
	boom := errors.New("x")
	k := newEvidenceKit(t, breaker.Config[int]{Policy: &owed{}})
	k.call(boom)
	k.call(boom)
	if a := k.last(t).Evidence.Account; a.Rule != "debt" || a.Text != "debt: 2 failures owed (limit 2)" {
		t.Errorf("custom account = %+v", a)
	}
	k = newEvidenceKit(t, breaker.Config[int]{Policy: wrapped{policy.Rate(0.5, 2, time.Minute)}})
	k.call(boom)
	k.call(boom)
	if a := k.last(t).Evidence.Account; a.Rule != "rate" {
		t.Errorf("wrapped account = %+v", a)
	}
	k = newEvidenceKit(t, breaker.Config[int]{Policy: &plain{}})
	k.call(boom)
	if a := k.last(t).Evidence.Account; a.Rule != "custom" || !strings.Contains(a.Text, "gives no account") {
		t.Errorf("account of a policy with none = %+v", a)
	}
}
