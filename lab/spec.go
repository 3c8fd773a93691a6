package lab

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/spec"
)

// SpecError reports a candidate spec that [ParseCandidates] cannot read:
// the [spec.Error] of the spec language, with the column and a caret.
type SpecError = spec.Error

// ErrInvalidSpec is wrapped by every error of [ParseCandidates]: it is
// [spec.ErrInvalid].
var ErrInvalidSpec = spec.ErrInvalid

// ParseCandidates reads a comma-separated list of candidates, each a
// breaker configuration in the language of package spec: a policy written
// as its Go constructor is, lowercased, optionally followed by breaker
// settings after an '@':
//
//	consecutive(10),rate(0.3,20,10s),any(consecutive(5),slow(1s,0.5,20,10s))
//	consecutive(5)@open=30s,probes=1,rate(0.25,20,10s)
//
// The settings are open (OpenTimeout), probes (HalfOpenProbes),
// close-after (CloseAfter), backoff (Backoff.Max), backoff-factor,
// backoff-jitter and probe-timeout (ProbeTimeout, or "off" for
// breaker.NoProbeTimeout); docs/spec.md has the whole language. A bare
// name, such as "rate", stands for the candidate of that name in named
// (the default candidates, for the command), and may take settings too,
// which replace the candidate's own. Each candidate is named by its text,
// spaces removed; [Candidate.Spec] writes it in the canonical form.
//
// An item may carry shadow candidates, as a breaker's spec line does
// (spec.Config gives them to breaker.Config.Shadows):
//
//	consecutive(5)@open=60s shadow rate(0.3,20,10s)@open=30s shadow lastn(0.5,10,20)
//
// Then the live spec and each shadow are candidates of their own, side by
// side, named by their canonical specs as the breaker names its
// candidates; each shadow's ShadowOf names the live one, and it takes the
// live one's RampUp and MaxRetryAfter. Replayed on a trace a breaker
// recorded ([TraceWriter]), a shadow's row says what the lab makes of the
// calls the breaker's candidate saw.
//
// Every error is a *[SpecError] that points at the offending character.
func ParseCandidates(text string, named []Candidate) ([]Candidate, error) {
	names := make([]string, len(named))
	for i, c := range named {
		names[i] = c.Name
	}
	items, err := spec.ParseList(text, names)
	if err != nil {
		return nil, err
	}
	out := make([]Candidate, 0, len(items))
	seen := map[string]bool{}
	for _, it := range items {
		var c Candidate
		if it.Ref != "" {
			for i := range named {
				if named[i].Name == it.Ref {
					c = named[i]
					if c.Backoff != nil {
						bo := *c.Backoff
						c.Backoff = &bo
					}
					break
				}
			}
		} else {
			if it.Spec.Policy.IsZero() {
				return nil, spec.NewError(text, it.Offset, "", "a candidate needs a policy, or a candidate's name, before its settings: consecutive(5)@open=30s")
			}
			c.New = it.Spec.Policy.New
		}
		c.setSettings(it.Spec)
		c.Name = strings.Join(strings.Fields(it.Text), "")
		if len(it.Spec.Shadows) > 0 {
			// The text holds the shadows too: name the live spec by its
			// canonical form, and each shadow by its own, as spec.Config
			// names a breaker's candidates.
			c.Name = it.Ref + it.Spec.Live().String()
		}
		if seen[c.Name] {
			return nil, spec.NewError(text, it.Offset, "", c.Name+" is listed twice")
		}
		seen[c.Name] = true
		if bo := c.Backoff; bo != nil && c.OpenTimeout != 0 && bo.Max < c.OpenTimeout {
			// A named candidate's open timeout, beside the item's backoff.
			return nil, spec.NewError(text, it.Offset, "@backoff", fmt.Sprintf("must be at least OpenTimeout (open=%v), the first open period; got %v", c.OpenTimeout, bo.Max))
		}
		out = append(out, c)
		for _, sh := range it.Spec.Shadows {
			// A breaker's candidate takes its ramp-up and retry-after cap
			// from the live breaker: so does the lab's.
			s := Candidate{Name: sh.String(), ShadowOf: c.Name, RampUp: c.RampUp, MaxRetryAfter: c.MaxRetryAfter, New: sh.Policy.New}
			if sh.Policy.IsZero() {
				s.New = func() policy.Policy { return policy.Consecutive(breaker.DefaultFailures) }
			}
			s.setSettings(sh)
			if seen[s.Name] {
				return nil, spec.NewError(text, it.Offset, "", s.Name+" is listed twice")
			}
			seen[s.Name] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// ApplySetting sets one breaker setting of c by its name in a spec
// ("open", "probes", "close-after", "backoff", "backoff-factor",
// "backoff-jitter", "probe-timeout") from its text, as the command's flags
// do. Values out of range are errors that say the range.
func ApplySetting(c *Candidate, key, value string) error {
	s := c.settings()
	if err := s.SetSetting(key, value); err != nil {
		var se *spec.Error
		if errors.As(err, &se) {
			return errors.New(se.Problem())
		}
		return err
	}
	c.setSettings(s)
	return nil
}

// settings returns c's breaker settings as a spec without a policy.
func (c *Candidate) settings() spec.Spec {
	return spec.Spec{OpenTimeout: c.OpenTimeout, HalfOpenProbes: c.HalfOpenProbes, CloseAfter: c.CloseAfter,
		Backoff: c.Backoff, ProbeTimeout: c.ProbeTimeout, RampUp: c.RampUp, MaxRetryAfter: c.MaxRetryAfter}
}

// setSettings gives c the settings s sets, leaving the others as they are.
func (c *Candidate) setSettings(s spec.Spec) {
	if s.OpenTimeout != 0 {
		c.OpenTimeout = s.OpenTimeout
	}
	if s.HalfOpenProbes != 0 {
		c.HalfOpenProbes = s.HalfOpenProbes
	}
	if s.CloseAfter != 0 {
		c.CloseAfter = s.CloseAfter
	}
	if s.ProbeTimeout != 0 {
		c.ProbeTimeout = s.ProbeTimeout
	}
	if s.Backoff != nil {
		c.Backoff = s.Backoff
	}
	if s.RampUp != 0 {
		c.RampUp = s.RampUp
	}
	if s.MaxRetryAfter != 0 {
		c.MaxRetryAfter = s.MaxRetryAfter
	}
}

// exprOf returns p as a policy of the spec language, read from its String
// method, or false for a policy the language cannot write (one of the
// caller's own).
func exprOf(p policy.Policy) (spec.Expr, bool) {
	st, ok := p.(fmt.Stringer)
	if !ok {
		return spec.Expr{}, false
	}
	s, err := spec.Parse(st.String())
	if err != nil || s.Policy.IsZero() || !s.Equal(spec.Spec{Policy: s.Policy}) {
		return spec.Expr{}, false
	}
	return s.Policy, true
}

// describe writes c with policy p in the spec language, canonical when
// the language can write p; otherwise p's String (or c's name) stands for
// the policy.
func (c *Candidate) describe(p policy.Policy) string {
	s := c.settings()
	if e, ok := exprOf(p); ok {
		s.Policy = e
		return s.String()
	}
	return specOf(p, c.Name) + s.String()
}
