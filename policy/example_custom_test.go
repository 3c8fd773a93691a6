package policy_test

// This file holds the code of docs/custom-policies.md, word for word, and
// runs it: TestCustomPoliciesDocIsTested fails if a block of Go in the
// guide is not here, so that the guide's path cannot fail again unseen.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/window"
)

// debt trips when failures outnumber successes by limit in the last
// minute. It reads the time, so it asks for it; its limit can be wrong, so
// it checks it; it holds the state of one circuit, so it belongs to one
// breaker.
type debt struct {
	limit int64
	w     *window.Time
	owner policy.Owner
}

func newDebt(limit int64) *debt {
	return &debt{limit: limit, w: window.NewTime(time.Minute)}
}

func (d *debt) Record(c policy.Call) bool {
	s := d.w.RecordSum(c.At, window.Mark(c.Failed, false))
	return s.Failures-(s.Calls-s.Failures) >= d.limit
}
func (d *debt) Reset() { d.w.Reset() }

func (d *debt) Bind(b *policy.Binding) error {
	if d.limit < 1 {
		return policy.NewArgError("debt", "limit", fmt.Sprintf("must be at least 1, got %d", d.limit))
	}
	b.Need(policy.NeedTime)
	b.Explain(policy.ExplainerFunc(func(now time.Time) policy.Account {
		s := d.w.Sum(now)
		owed := s.Failures - (s.Calls - s.Failures)
		return policy.Account{Rule: "debt", Tripped: owed >= d.limit, Counted: owed, Calls: s.Calls, Over: time.Minute,
			Text: fmt.Sprintf("debt: %d failures more than successes (limit %d) in the last 1m0s", owed, d.limit)}
	}))
	return b.Claim(&d.owner)
}

// The guide's custom policy explains its trips through its terms: the
// account is in the evidence of the transition.
func Example_customPolicyExplains() {
	b, _ := breaker.New(breaker.Config[string]{
		Name: "users", Policy: newDebt(2),
		OnTransition: func(t breaker.Transition) { fmt.Println(t.To, t.Evidence.Account.Rule+":", t.Evidence.Account.Text) },
	})
	for range 2 {
		_, _ = b.Execute(context.Background(), func(context.Context) (string, error) { return "", errors.New("down") })
	}
	// Output:
	// open debt: debt: 2 failures more than successes (limit 2) in the last 1m0s
}

type logged struct{ policy.Policy }

func (l logged) Record(c policy.Call) bool { log.Print(c); return l.Policy.Record(c) }
func (l logged) Unwrap() policy.Policy     { return l.Policy }

// The guide's custom policy, given to breakers as the guide does: once it
// works, and every mistake is named.
func Example_customPolicy() {
	p := newDebt(10)
	users, err := breaker.New(breaker.Config[string]{Name: "users", Policy: p})
	fmt.Println(users.Name(), err)
	_, err = breaker.New(breaker.Config[string]{Name: "orders", Policy: p})
	fmt.Println(err)
	_, err = breaker.New(breaker.Config[string]{Name: "orders", Policy: newDebt(0)})
	fmt.Println(err)

	when := policy.When(time.Minute, func(c policy.Counts) bool {
		return c.Failures-(c.Calls-c.Failures) >= 10
	})
	_, err = breaker.New(breaker.Config[string]{Name: "when", Policy: when})
	fmt.Println("when:", err)

	_, err = breaker.New(breaker.Config[string]{Name: "logged", Policy: logged{policy.Rate(0.5, 20, time.Minute)}})
	fmt.Println("logged:", err)
	// Output:
	// users <nil>
	// breaker: invalid config: Policy: policy: already used by another breaker; give each breaker its own policy
	// breaker: invalid config: Policy.limit: policy: debt.limit: must be at least 1, got 0
	// when: <nil>
	// logged: <nil>
}

// TestCustomPoliciesDocIsTested: every block of Go in
// docs/custom-policies.md is in this file (or, for the interface, in the
// package), and the lines the guide says a breaker prints are those
// Example_customPolicy prints.
func TestCustomPoliciesDocIsTested(t *testing.T) {
	doc, err := os.ReadFile("../docs/custom-policies.md")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile("example_custom_test.go")
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := os.ReadFile("policy.go")
	if err != nil {
		t.Fatal(err)
	}
	flat := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 4 {
		t.Fatalf("found %d blocks of Go in the guide, want at least 4", len(blocks))
	}
	for _, b := range blocks {
		for _, part := range strings.Split(b[1], "\n\n") {
			for _, line := range strings.Split(part, "\n") {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "// users is ready") {
					continue
				}
				if rest, ok := strings.CutPrefix(line, "// err: "); ok {
					rest = strings.TrimSuffix(rest, "…")
					if !strings.Contains(string(self), "// "+rest) {
						t.Errorf("the guide says New fails with %q, which Example_customPolicy does not print", rest)
					}
					continue
				}
				code, _, _ := strings.Cut(line, " //") // the interface's comments are the guide's own
				if !strings.Contains(flat(string(self)), flat(line)) && !strings.Contains(flat(string(pkg)), flat(code)) {
					t.Errorf("line of the guide not tested here: %s", line)
				}
			}
		}
	}
}

// TestCustomBindCalledOnce (issue 19): policy.Bind called a policy's Bind
// twice, a dry run and then for real, so a policy that refused a second
// Bind, as the guide told it to, failed breaker.New when brand-new.
func TestCustomBindCalledOnce(t *testing.T) {
	p := &onceOnly{}
	if _, err := breaker.New(breaker.Config[int]{Policy: p}); err != nil {
		t.Fatalf("New with a new policy: %v", err)
	}
	if p.binds.Load() != 1 {
		t.Fatalf("New called Bind %d times, want 1", p.binds.Load())
	}
	_, err := breaker.New(breaker.Config[int]{Policy: p})
	if !errors.Is(err, policy.ErrShared) || !errors.Is(err, breaker.ErrInvalidConfig) {
		t.Fatalf("second New = %v, want ErrShared and ErrInvalidConfig", err)
	}
}

// TestOwnerClaim: a policy that claims itself with Binding.Claim is not
// used up by Check, nor by a Bind that fails for another policy; a second
// real Bind is refused.
func TestOwnerClaim(t *testing.T) {
	p := newDebt(3)
	for range 2 {
		if _, err := policy.Check(p); err != nil {
			t.Fatalf("Check = %v", err)
		}
	}
	if _, err := policy.Bind(policy.Any(p, policy.Window(0, time.Minute))); err == nil {
		t.Fatal("Bind accepted Window(0, …)")
	}
	if _, err := policy.Bind(policy.Any(p, p)); !errors.Is(err, policy.ErrShared) {
		t.Fatalf("Bind(Any(p, p)) = %v, want ErrShared", err)
	}
	if _, err := policy.Bind(p); err != nil {
		t.Fatalf("Bind after failed Binds = %v, want the policy free", err)
	}
	if _, err := policy.Check(p); !errors.Is(err, policy.ErrShared) {
		t.Fatalf("Check of a claimed policy = %v, want ErrShared", err)
	}
	if _, err := policy.Bind(p); !errors.Is(err, policy.ErrShared) {
		t.Fatalf("second Bind = %v, want ErrShared", err)
	}
	if err := (&policy.Binding{}).Claim(&policy.Owner{}); err == nil {
		t.Fatal("a Binding Bind did not make claimed an Owner")
	}
}

// TestNewArgError (issue 19): a custom policy could not build an
// *ArgError, so breaker.New could not name its argument.
func TestNewArgError(t *testing.T) {
	cases := []struct {
		policy, arg, field, msg, newField string
	}{
		{"debt", "limit", "debt.limit", "policy: debt.limit: must be at least 1", "Policy.limit"},
		{"", "limit", "limit", "policy: limit: must be at least 1", "Policy.limit"},
		{"debt", "", "debt", "policy: debt: must be at least 1", "Policy"},
	}
	for _, c := range cases {
		ae := policy.NewArgError(c.policy, c.arg, "must be at least 1")
		if ae.Field != c.field || ae.Arg() != c.arg || ae.Problem() != "must be at least 1" || ae.Error() != c.msg {
			t.Errorf("NewArgError(%q, %q) = %+v, %q", c.policy, c.arg, ae, ae)
		}
		_, err := breaker.New(breaker.Config[int]{Policy: argFails{ae}})
		var ce *breaker.ConfigError
		if !errors.As(err, &ce) || ce.Field != c.newField || !errors.Is(err, breaker.ErrInvalidConfig) {
			t.Errorf("New with %v = %v, want a ConfigError with Field %q", ae, err, c.newField)
		}
	}
}

// TestUnaskedDurationPanics (issue 19): a policy that read Call.Duration
// without asking for it got 0 and never tripped, silently; one that forgot
// the time got a clear panic. Both now fail the same loud way.
func TestUnaskedDurationPanics(t *testing.T) {
	b, err := breaker.New(breaker.Config[int]{Policy: slowUnasked{}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "Call.Duration") || !strings.Contains(msg, "NeedDuration") {
			t.Fatalf("panic %q, want one that names Call.Duration and NeedDuration", msg)
		}
	}()
	_, _ = b.Execute(t.Context(), func(context.Context) (int, error) { return 0, nil })
	t.Fatal("Execute returned: the policy read a duration that was never measured")
}

// onceOnly refuses a second Bind with a flag of its own, as the guide
// once told custom policies to.
type onceOnly struct{ binds atomic.Int32 }

func (p *onceOnly) Record(policy.Call) bool { return false }
func (p *onceOnly) Reset()                  {}
func (p *onceOnly) Bind(*policy.Binding) error {
	if p.binds.Add(1) > 1 {
		return policy.ErrShared
	}
	return nil
}

// argFails is a policy whose Bind reports err.
type argFails struct{ err error }

func (argFails) Record(policy.Call) bool      { return false }
func (argFails) Reset()                       {}
func (p argFails) Bind(*policy.Binding) error { return p.err }

// slowUnasked reads Call.Duration without asking for it.
type slowUnasked struct{}

func (slowUnasked) Record(c policy.Call) bool { return c.Duration() > time.Second }
func (slowUnasked) Reset()                    {}

// failures counts failures; at limit, it trips.
type failures struct {
	limit int64
	n     atomic.Int64
}

func (p *failures) Record(c policy.Call) bool {
	return c.Failed && p.n.Add(1) >= p.limit
}

func (p *failures) Reset() { p.n.Store(0) }

// TakeOver keeps the count of a failures it replaces, whatever its limit.
func (p *failures) TakeOver(prev policy.Policy, _ time.Time) bool {
	q, ok := prev.(*failures)
	if ok {
		p.n.Store(q.n.Load())
	}
	return ok
}

// A policy of your own keeps its count across a Reconfigure by taking it
// over from the policy it replaces.
func ExampleSuccessor() {
	b, _ := breaker.New(breaker.Config[int]{Policy: &failures{limit: 3}})
	fail := func() {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("down") })
	}
	fail()
	fail()
	_ = b.Reconfigure(breaker.Settings{Policy: &failures{limit: 4}}, "", "")
	fail()
	fmt.Println(b.State())
	fail() // the fourth
	fmt.Println(b.State())
	tr := b.Transitions()
	fmt.Println(tr[0].Evidence.Detail)
	// Output:
	// closed
	// open
	// *policy_test.failures@open=1m,probes=3 → *policy_test.failures@open=1m,probes=3; counts carried over
}
