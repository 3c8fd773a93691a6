package lab

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// Candidate is one way to configure a breaker, and one row of the lab's
// table: a name, a function that builds a fresh policy, and the breaker
// settings that shape the open and half-open periods. Comparing candidates
// that share a policy and differ in settings shows what a longer open
// timeout, fewer probes or a backoff would have done.
//
// New is called once for every breaker the lab builds, because a policy
// holds the state of one circuit and the built-in policies refuse to be
// shared. It must return a fresh value each time.
//
// A zero setting means the scenario's own (Scenario.OpenTimeout and
// Scenario.HalfOpenProbes, which stand for the service's current setup),
// and failing that the breaker's default, as in [breaker.Config].
type Candidate struct {
	// Name identifies the candidate in tables and files: any printable
	// text without tabs, at most 80 characters. Candidates parsed from a
	// spec are named by the spec.
	Name string
	// New returns a fresh policy.
	New func() policy.Policy
	// OpenTimeout is the breaker's Config.OpenTimeout.
	OpenTimeout time.Duration
	// HalfOpenProbes is the breaker's Config.HalfOpenProbes.
	HalfOpenProbes int
	// CloseAfter is the breaker's Config.CloseAfter: how many successful
	// probes close the half-open circuit (0: HalfOpenProbes).
	CloseAfter int
	// Backoff is the breaker's Config.Backoff: nil means none. The lab
	// copies it for every breaker and, when it has Jitter and no Rand,
	// draws the jitter from the run's seed, so that runs repeat.
	Backoff *breaker.Backoff
	// ProbeTimeout is the breaker's Config.ProbeTimeout: 0 means the
	// breaker's default, breaker.NoProbeTimeout none.
	ProbeTimeout time.Duration
	// RampUp is the breaker's Config.RampUp: 0 means none.
	RampUp time.Duration
	// MaxRetryAfter is the breaker's Config.MaxRetryAfter: 0 means the
	// retry times results carry are not honoured.
	MaxRetryAfter time.Duration
	// ShadowOf, for a candidate that a spec line gave as a shadow ("a
	// shadow b"), is the name of the live candidate it shadows; "" for
	// the others. The lab runs it as any other candidate, on all the
	// traffic: on a trace a breaker recorded, that is the traffic its
	// candidate saw.
	ShadowOf string
}

// Spec describes the candidate in the language of package spec, as
// [ParseCandidates] reads it: its policy (in the canonical form when the
// language can write it, or else its String method or the candidate's
// name) followed by the settings the candidate sets, such as
// "consecutive(5)@open=30s".
func (c Candidate) Spec() string {
	if c.New == nil {
		return c.Name
	}
	return c.describe(c.New())
}

// config returns the breaker configuration of c in scenario s, with its
// policy built, on clk. rand feeds a jittered backoff that has no Rand.
func (c *Candidate) config(s *Scenario, clk breaker.Clock, rand func() float64) (breaker.Config[struct{}], error) {
	pol := c.New()
	if pol == nil {
		return breaker.Config[struct{}]{}, fmt.Errorf("lab: candidate %q: its New returned nil", c.Name)
	}
	cfg := breaker.Config[struct{}]{
		Name:           c.Name,
		Policy:         pol,
		OpenTimeout:    s.OpenTimeout,
		HalfOpenProbes: s.HalfOpenProbes,
		CloseAfter:     c.CloseAfter,
		ProbeTimeout:   c.ProbeTimeout,
		RampUp:         c.RampUp,
		MaxRetryAfter:  c.MaxRetryAfter,
		Clock:          clk,
	}
	if c.OpenTimeout != 0 {
		cfg.OpenTimeout = c.OpenTimeout
	}
	if c.HalfOpenProbes != 0 {
		cfg.HalfOpenProbes = c.HalfOpenProbes
	}
	if c.Backoff != nil {
		bo := *c.Backoff
		if bo.Rand == nil {
			bo.Rand = rand
		}
		cfg.Backoff = &bo
	}
	return cfg, nil
}

// DefaultCandidates returns the candidates the lab compares when none are
// chosen: one of each kind of policy, with thresholds that suit the
// built-in scenarios' traffic of 50 calls a second, and the scenarios' own
// breaker settings. The failure-rate policies share one ratio, so that
// their rows differ by the kind of window alone.
func DefaultCandidates() []Candidate {
	return []Candidate{
		{Name: "consecutive", New: func() policy.Policy { return policy.Consecutive(5) }},
		{Name: "window", New: func() policy.Policy { return policy.Window(20, 10*time.Second) }},
		{Name: "rate", New: func() policy.Policy { return policy.Rate(0.25, 20, 10*time.Second) }},
		{Name: "lastn", New: func() policy.Policy { return policy.LastN(0.25, 20, 100) }},
		{Name: "slow", New: func() policy.Policy { return policy.Slow(time.Second, 0.5, 20, 10*time.Second) }},
		{Name: "any", New: func() policy.Policy {
			return policy.Any(policy.Consecutive(5), policy.Slow(time.Second, 0.5, 20, 10*time.Second))
		}},
	}
}

// SelectCandidates returns the candidates of from named in names, a comma
// separated list, in the order of names. An unknown or repeated name is an
// error that lists the known ones. To build candidates from policy specs
// such as "rate(0.3,20,10s)", use [ParseCandidates].
func SelectCandidates(from []Candidate, names string) ([]Candidate, error) {
	return selectNamed("candidate", "candidates", from, func(c Candidate) string { return c.Name }, names)
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

// checkCandidates reports an empty list, a candidate without a usable name
// or a New, and names used twice.
func checkCandidates(cs []Candidate) error {
	if len(cs) == 0 {
		return errors.New("lab: no candidate to run")
	}
	seen := map[string]bool{}
	for i, c := range cs {
		if err := checkLabel(c.Name); err != nil {
			return fmt.Errorf("lab: candidate #%d: name %q: %w", i+1, c.Name, err)
		}
		if c.New == nil {
			return fmt.Errorf("lab: candidate %q: New is nil", c.Name)
		}
		if seen[c.Name] {
			return fmt.Errorf("lab: candidate %q: two candidates have this name", c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// checkLabel accepts names that print on one line of a table.
func checkLabel(name string) error {
	if name == "" {
		return errors.New("must not be empty")
	}
	if n := len([]rune(name)); n > 80 {
		return fmt.Errorf("must be at most 80 characters, got %d", n)
	}
	for i, r := range name {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("control character %q at position %d: a name prints on one line", r, i+1)
		}
	}
	return nil
}
