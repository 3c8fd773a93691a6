package policy_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// typedNilWrapper is a user's wrapper whose Unwrap returns a nil
// *policy.ConsecutivePolicy: a typed nil, which is not a nil Policy.
type typedNilWrapper struct{ inner *policy.ConsecutivePolicy }

func (w typedNilWrapper) Record(policy.Call) bool { return false }
func (w typedNilWrapper) Reset()                  {}
func (w typedNilWrapper) Unwrap() policy.Policy   { return w.inner }

// TestBindPanicsOnTypedNilUnwrap: Bind and Check called the Bind method of
// the typed nil a wrapper's Unwrap returned, and panicked; Any and All let
// a typed nil child through to the same end, and their String called its
// String. TakeOver walked into a typed nil too. Each must report the nil,
// by its place, or step over it.
func TestBindPanicsOnTypedNilUnwrap(t *testing.T) {
	var typedNil *policy.ConsecutivePolicy
	for _, tc := range []struct {
		name string
		p    func() policy.Policy
		arg  string
	}{
		{"wrapper", func() policy.Policy { return typedNilWrapper{} }, ""},
		{"wrapper in Any", func() policy.Policy { return policy.Any(policy.Consecutive(1), typedNilWrapper{}) }, "ps[1]"},
		{"typed nil in All", func() policy.Policy { return policy.All(typedNil) }, "ps[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []func(policy.Policy) (policy.Terms, error){policy.Bind, policy.Check} {
				_, err := f(tc.p())
				var ae *policy.ArgError
				if !errors.As(err, &ae) || ae.Arg() != tc.arg || !strings.Contains(err.Error(), "nil *policy.ConsecutivePolicy") {
					t.Fatalf("err %v: want an ArgError at %q naming the nil", err, tc.arg)
				}
			}
			_ = fmt.Sprint(tc.p()) // must not panic
		})
	}
	if got := policy.Any(policy.Consecutive(1), typedNil).String(); !strings.Contains(got, "*policy.ConsecutivePolicy") {
		t.Errorf("String: %q", got)
	}
	if policy.TakeOver(policy.Consecutive(2), typedNilWrapper{}, epochs.Today) {
		t.Error("TakeOver took over a typed nil")
	}
}
