package policy_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/policy"
)

// counting is the wrapper issue 15 found: it embeds the interface, so it has
// Record and Reset and nothing else of what it wraps.
type counting struct {
	policy.Policy
	records *atomic.Int64
}

func (l counting) Record(c policy.Call) bool {
	l.records.Add(1)
	return l.Policy.Record(c)
}

// unwrapped is the same wrapper, made to keep its policy's terms.
type unwrapped struct{ counting }

func (u unwrapped) Unwrap() policy.Policy { return u.Policy }

// TestWrapperCannotDropTerms is issue 15's seventh finding: a wrapper
// struct{ policy.Policy } silently dropped Validate, Claim and
// ProbeFailed, so Rate(2, …) was accepted, sharing went unseen and Slow
// stopped judging probes. Such a wrapper is now refused, naming the field
// that hides the policy, whatever that policy's own state; one with Unwrap
// keeps every term of what it wraps.
func TestWrapperCannotDropTerms(t *testing.T) {
	m := time.Minute
	hide := func(p policy.Policy) policy.Policy { return counting{p, new(atomic.Int64)} }
	keep := func(p policy.Policy) policy.Policy { return unwrapped{counting{p, new(atomic.Int64)}} }
	t.Run("hidden", func(t *testing.T) {
		for _, inner := range []policy.Policy{policy.Rate(2, 1, m), policy.Slow(time.Second, 0.5, 1, m), policy.Consecutive(3)} {
			for _, p := range []policy.Policy{hide(inner), &majority{ps: []policy.Policy{inner}}, hide(hide(inner))} {
				_, err := policy.Bind(p)
				var ae *policy.ArgError
				if !errors.As(err, &ae) || !strings.Contains(ae.Problem(), "Unwrap") {
					t.Errorf("Bind(%T holding %v) = %v, want an *ArgError that says to Unwrap", p, inner, err)
				}
			}
			if _, err := policy.Bind(inner); err != nil && !strings.Contains(err.Error(), "ratio") {
				t.Errorf("a refused wrapper used up %v: %v", inner, err)
			}
		}
	})
	t.Run("unwrapped", func(t *testing.T) {
		if _, err := policy.Bind(keep(policy.Rate(2, 1, m))); err == nil || !strings.Contains(err.Error(), "Rate.ratio") {
			t.Errorf("Bind(wrapped Rate(2, …)) = %v, want the ratio refused", err)
		}
		slow := policy.Slow(time.Second, 0.5, 1, m)
		terms, err := policy.Bind(keep(slow))
		if err != nil || terms.Needs != policy.NeedTime|policy.NeedDuration || !terms.ProbeFailed(policy.Call{}.WithDuration(2*time.Second)) {
			t.Errorf("Bind(wrapped Slow) = %+v, %v: want its needs and its judge", terms, err)
		}
		if _, err := policy.Bind(keep(slow)); !errors.Is(err, policy.ErrShared) {
			t.Errorf("Bind of a wrapped policy already bound = %v, want ErrShared", err)
		}
		if _, err := policy.Bind(policy.Any(keep(policy.Window(0, m)))); err == nil || !strings.Contains(err.Error(), "Any.ps[0].Window.failures") {
			t.Errorf("Bind(Any(wrapped Window(0, …))) = %v", err)
		}
	})
	t.Run("custom", func(t *testing.T) {
		// A wrapper of a policy without terms has nothing to hide.
		if terms, err := policy.Bind(hide(spy{})); err != nil || terms != (policy.Terms{}) {
			t.Errorf("Bind(wrapped spy) = %+v, %v", terms, err)
		}
	})
}

// TestBindCannotBeSpoiled: Claim was a public method, and one call by
// anyone spoilt the policy for every breaker. Bind takes a Binding that
// only policy.Bind makes; called with any other, it claims nothing.
func TestBindCannotBeSpoiled(t *testing.T) {
	forEach(t, func(t *testing.T, b builtIn) {
		p := b.make()
		binder := p.(policy.Binder)
		for _, foreign := range []*policy.Binding{nil, {}} {
			if err := binder.Bind(foreign); err == nil {
				t.Fatalf("Bind(%v) = nil, want an error", foreign)
			}
		}
		var zero policy.Binding
		zero.Need(policy.NeedTime)
		if _, err := zero.Child(p); err == nil {
			t.Fatal("a zero Binding bound a child")
		}
		if _, err := policy.Check(p); err != nil {
			t.Fatalf("Check = %v", err)
		}
		if _, err := policy.Bind(p); err != nil {
			t.Fatalf("Bind after foreign Binds and a Check = %v, want the policy unspoilt", err)
		}
	})
}

// TestBindChecksBeforeClaiming: a combinator with a bad child claims none
// of its good ones.
func TestBindChecksBeforeClaiming(t *testing.T) {
	good := policy.Consecutive(2)
	if _, err := policy.Bind(policy.Any(good, policy.Window(0, time.Minute))); err == nil {
		t.Fatal("Bind accepted Window(0, …)")
	}
	if _, err := policy.Bind(good); err != nil {
		t.Fatalf("the good child was used up: %v", err)
	}
}

// majority is a combinator of one's own that forgot to bind its children.
type majority struct{ ps []policy.Policy }

func (m *majority) Record(c policy.Call) bool {
	n := 0
	for _, p := range m.ps {
		if p.Record(c) {
			n++
		}
	}
	return 2*n > len(m.ps)
}

func (m *majority) Reset() {
	for _, p := range m.ps {
		p.Reset()
	}
}

// needsExactTime asks for the time of each call with Need: exactly.
type needsExactTime struct{}

func (needsExactTime) Record(policy.Call) bool { return false }
func (needsExactTime) Reset()                  {}
func (needsExactTime) Bind(b *policy.Binding) error {
	b.Need(policy.NeedTime)
	return nil
}

// The time windows need the time of a call to a quarter of a bucket; a
// tree of policies gets the smallest tolerance of its members, and none
// as soon as one of them needs the exact time. A wrapper keeps its
// policy's tolerance.
func TestTermsTimeWithin(t *testing.T) {
	bucket := time.Minute / 16
	for _, tc := range []struct {
		name string
		p    policy.Policy
		want time.Duration
	}{
		{"rate", policy.Rate(0.5, 20, time.Minute), bucket / 4},
		{"window", policy.Window(5, 16*time.Second), time.Second / 4},
		{"consecutive", policy.Consecutive(5), 0},
		{"any(consecutive, rate)", policy.Any(policy.Consecutive(5), policy.Rate(0.5, 20, time.Minute)), bucket / 4},
		{"all(rate 1m, window 16s)", policy.All(policy.Rate(0.5, 20, time.Minute), policy.Window(5, 16*time.Second)), time.Second / 4},
		{"any(exact, rate)", policy.Any(needsExactTime{}, policy.Rate(0.5, 20, time.Minute)), 0},
		{"any(rate, exact)", policy.Any(policy.Rate(0.5, 20, time.Minute), needsExactTime{}), 0},
		{"wrapped rate", unwrapped{counting{policy.Rate(0.5, 20, time.Minute), new(atomic.Int64)}}, bucket / 4},
	} {
		terms, err := policy.Check(tc.p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if terms.TimeWithin != tc.want {
			t.Errorf("%s: TimeWithin = %v, want %v", tc.name, terms.TimeWithin, tc.want)
		}
		if tc.want != 0 && terms.Needs&policy.NeedTime == 0 {
			t.Errorf("%s: a tolerance without NeedTime", tc.name)
		}
	}
}
