package lab

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tripwire-go/tripwire/policy"
)

// Policy is a named way to build a policy: one row of the lab's table.
//
// New is called once for every breaker the lab builds, because a policy
// holds the state of one circuit and the built-in policies refuse to be
// shared. It must return a fresh value each time.
type Policy struct {
	// Name identifies the policy in tables, files and the -policies flag:
	// letters, digits, '-', '_' and '.'.
	Name string
	// New returns a fresh policy.
	New func() policy.Policy
}

// Spec describes the policy with its thresholds: the String method of a
// policy it builds, or its name when the policy has none.
func (p Policy) Spec() string {
	if p.New == nil {
		return p.Name
	}
	return specOf(p.New(), p.Name)
}

// DefaultPolicies returns the policies the lab compares when none are
// chosen: one of each kind, with thresholds that suit the built-in
// scenarios' traffic of 50 calls a second. The failure-rate policies share
// one ratio, so that their rows differ by the kind of window alone.
func DefaultPolicies() []Policy {
	return []Policy{
		{"consecutive", func() policy.Policy { return policy.Consecutive(5) }},
		{"window", func() policy.Policy { return policy.Window(20, 10*time.Second) }},
		{"rate", func() policy.Policy { return policy.Rate(0.25, 20, 10*time.Second) }},
		{"lastn", func() policy.Policy { return policy.LastN(0.25, 20, 100) }},
		{"slow", func() policy.Policy { return policy.Slow(time.Second, 0.5, 20, 10*time.Second) }},
		{"any", func() policy.Policy {
			return policy.Any(policy.Consecutive(5), policy.Slow(time.Second, 0.5, 20, 10*time.Second))
		}},
	}
}

// SelectPolicies returns the policies of from named in names, a comma
// separated list, in the order of names. An unknown or repeated name is an
// error that lists the known ones.
func SelectPolicies(from []Policy, names string) ([]Policy, error) {
	return selectNamed("policy", "policies", from, func(p Policy) string { return p.Name }, names)
}

// SelectScenarios returns the scenarios of from named in names, a comma
// separated list, in the order of names. An unknown or repeated name is an
// error that lists the known ones.
func SelectScenarios(from []Scenario, names string) ([]Scenario, error) {
	return selectNamed("scenario", "scenarios", from, func(s Scenario) string { return s.Name }, names)
}

func selectNamed[T any](kind, kinds string, from []T, nameOf func(T) string, names string) ([]T, error) {
	var out []T
	seen := map[string]bool{}
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, fmt.Errorf("lab: empty %s name in %q", kind, names)
		}
		if seen[name] {
			return nil, fmt.Errorf("lab: %s %q named twice", kind, name)
		}
		seen[name] = true
		found := false
		for _, v := range from {
			if nameOf(v) == name {
				out = append(out, v)
				found = true
				break
			}
		}
		if !found {
			known := make([]string, len(from))
			for i, v := range from {
				known[i] = nameOf(v)
			}
			return nil, fmt.Errorf("lab: unknown %s %q; known %s: %s", kind, name, kinds, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// checkPolicies reports an empty list, a policy without a name or a New, and
// names used twice.
func checkPolicies(ps []Policy) error {
	if len(ps) == 0 {
		return errors.New("lab: no policy to run")
	}
	seen := map[string]bool{}
	for i, p := range ps {
		if err := checkName(p.Name); err != nil {
			return fmt.Errorf("lab: policy #%d: name %q: %w", i+1, p.Name, err)
		}
		if p.New == nil {
			return fmt.Errorf("lab: policy %q: New is nil", p.Name)
		}
		if seen[p.Name] {
			return fmt.Errorf("lab: policy %q: two policies have this name", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}
