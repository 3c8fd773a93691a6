package breaker_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// nilWrapper is a user's wrapper whose Unwrap returns a typed nil: a
// *policy.ConsecutivePolicy that is nil, which is not a nil Policy.
type nilWrapper struct{ inner *policy.ConsecutivePolicy }

func (w nilWrapper) Record(c policy.Call) bool { return false }
func (w nilWrapper) Reset()                    {}
func (w nilWrapper) Unwrap() policy.Policy     { return w.inner }

// TestBindPanicsOnTypedNilUnwrap: a wrapper whose Unwrap returned a nil
// pointer (a typed nil policy) made policy.Bind call that nil policy's Bind
// and panic inside breaker.New. New, Reconfigure and ReconfigureShadows
// must return an error wrapping ErrInvalidConfig that names the field: the
// policy itself, or its place inside Any or All. A typed nil given to Any
// or All directly is refused the same way.
func TestBindPanicsOnTypedNilUnwrap(t *testing.T) {
	var typedNil *policy.ConsecutivePolicy
	cases := []struct {
		name  string
		p     func() policy.Policy
		field string
	}{
		{"wrapper", func() policy.Policy { return nilWrapper{} }, "Policy"},
		{"wrapper in Any", func() policy.Policy { return policy.Any(policy.Consecutive(2), nilWrapper{}) }, "Policy.ps[1]"},
		{"wrapper in All in Any", func() policy.Policy {
			return policy.Any(policy.All(nilWrapper{}, policy.Consecutive(2)))
		}, "Policy.ps[0].ps[0]"},
		{"typed nil in All", func() policy.Policy { return policy.All(policy.Consecutive(2), typedNil) }, "Policy.ps[1]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check := func(what string, err error, field string) {
				t.Helper()
				var ce *breaker.ConfigError
				if !errors.Is(err, breaker.ErrInvalidConfig) || !errors.As(err, &ce) {
					t.Fatalf("%s: err %v, want a ConfigError", what, err)
				}
				if ce.Field != field || !strings.Contains(err.Error(), "nil") {
					t.Fatalf("%s: err %q, Field %q: want Field %q and the nil named", what, err, ce.Field, field)
				}
			}
			_, err := breaker.New(breaker.Config[int]{Policy: tc.p()})
			check("New", err, tc.field)

			b, err := breaker.New(breaker.Config[int]{})
			if err != nil {
				t.Fatal(err)
			}
			err = b.Reconfigure(breaker.Settings{Policy: tc.p()}, "", "")
			check("Reconfigure", err, tc.field)
			err = b.ReconfigureShadows([]breaker.Shadow{{Name: "c", Settings: breaker.Settings{Policy: tc.p()}}}, "", "")
			check("ReconfigureShadows", err, "Shadows[0].Settings."+tc.field)
			_, err = breaker.New(breaker.Config[int]{Shadows: []breaker.Shadow{{Name: "c", Settings: breaker.Settings{Policy: tc.p()}}}})
			check("New's Shadows", err, "Shadows[0].Settings."+tc.field)
		})
	}
}
