package lab

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// SpecError reports a candidate spec that [ParseCandidates] cannot read.
// It says where: Offset is the byte offset of the offending character in
// Spec, and [SpecError.Caret] draws it.
type SpecError struct {
	// Spec is the whole text that was parsed.
	Spec string
	// Offset is where in Spec the problem is, in bytes.
	Offset int
	// Field names the argument or setting at fault, as written in Go
	// ("Rate.ratio", "Slow.threshold") or in the spec ("@open"), or "" for
	// a problem of syntax.
	Field string

	problem string
}

// Problem says what is wrong, without naming the field.
func (e *SpecError) Problem() string { return e.problem }

// Column is the position of the offending character, from 1, counted in
// characters.
func (e *SpecError) Column() int {
	return utf8.RuneCountInString(e.Spec[:min(e.Offset, len(e.Spec))]) + 1
}

// Error says where the problem is and what it is.
func (e *SpecError) Error() string {
	field := ""
	if e.Field != "" {
		field = e.Field + ": "
	}
	return fmt.Sprintf("lab: candidate spec, column %d: %s%s", e.Column(), field, e.problem)
}

// Caret returns the spec and, below it, a caret under the offending
// character, for a terminal.
func (e *SpecError) Caret() string {
	return e.Spec + "\n" + strings.Repeat(" ", e.Column()-1) + "^"
}

// Unwrap returns ErrInvalidSpec.
func (e *SpecError) Unwrap() error { return ErrInvalidSpec }

// ErrInvalidSpec is wrapped by every error of [ParseCandidates].
var ErrInvalidSpec = errors.New("lab: invalid candidate spec")

// argKind is what a policy argument is.
type argKind uint8

const (
	argCount    argKind = iota // a whole number, at least 1
	argRatio                   // a fraction in (0, 1]
	argDuration                // a positive Go duration
)

// family is a policy constructor as the spec spells it.
type family struct {
	goName string // the constructor's name in package policy
	args   []string
	kinds  []argKind
	build  func(v []any) policy.Policy
}

// families are the policy constructors a spec may call, by their
// lowercased Go names. any and all take policies instead.
var families = map[string]family{
	"consecutive": {"Consecutive", []string{"failures"}, []argKind{argCount},
		func(v []any) policy.Policy { return policy.Consecutive(v[0].(int)) }},
	"window": {"Window", []string{"failures", "over"}, []argKind{argCount, argDuration},
		func(v []any) policy.Policy { return policy.Window(v[0].(int), v[1].(time.Duration)) }},
	"rate": {"Rate", []string{"ratio", "minCalls", "over"}, []argKind{argRatio, argCount, argDuration},
		func(v []any) policy.Policy { return policy.Rate(v[0].(float64), v[1].(int), v[2].(time.Duration)) }},
	"lastn": {"LastN", []string{"ratio", "minCalls", "n"}, []argKind{argRatio, argCount, argCount},
		func(v []any) policy.Policy { return policy.LastN(v[0].(float64), v[1].(int), v[2].(int)) }},
	"slow": {"Slow", []string{"threshold", "ratio", "minCalls", "over"}, []argKind{argDuration, argRatio, argCount, argDuration},
		func(v []any) policy.Policy {
			return policy.Slow(v[0].(time.Duration), v[1].(float64), v[2].(int), v[3].(time.Duration))
		}},
}

const specHelp = "consecutive(N), window(N, over), rate(ratio, minCalls, over), lastn(ratio, minCalls, n), slow(threshold, ratio, minCalls, over), any(p, ...), all(p, ...)"

// ParseCandidates reads a comma-separated list of candidates, each a
// policy written as its Go constructor is, lowercased, optionally followed
// by breaker settings after an '@':
//
//	consecutive(10),rate(0.3,20,10s),any(consecutive(5),slow(1s,0.5,20,10s))
//	consecutive(5)@open=30s,probes=1,rate(0.25,20,10s)
//
// Counts are whole numbers, ratios fractions in (0, 1], durations Go
// durations ("10s", "1m30s"). The settings are open (OpenTimeout), probes
// (HalfOpenProbes), close-after (CloseAfter), backoff (Backoff.Max),
// backoff-factor, backoff-jitter and probe-timeout (ProbeTimeout, or "off"
// for breaker.NoProbeTimeout). A bare name, such as "rate", stands for
// the candidate of that name in named (the default candidates, for the
// command), and may take settings too. Each candidate is named by its
// text, spaces removed.
//
// Every error is a *[SpecError] that points at the offending character.
func ParseCandidates(spec string, named []Candidate) ([]Candidate, error) {
	p := &specParser{src: spec, named: named}
	var out []Candidate
	seen := map[string]int{}
	for {
		p.space()
		start := p.pos
		c, err := p.candidate()
		if err != nil {
			return nil, err
		}
		c.Name = strings.Join(strings.Fields(spec[start:p.pos]), "")
		if _, dup := seen[c.Name]; dup {
			return nil, p.fail(start, "", "%s is listed twice", c.Name)
		}
		seen[c.Name] = start
		out = append(out, c)
		p.space()
		if p.pos == len(p.src) {
			return out, nil
		}
		if p.src[p.pos] != ',' {
			return nil, p.fail(p.pos, "", "expected ',' between candidates, or the end")
		}
		p.pos++
	}
}

type specParser struct {
	src   string
	pos   int
	named []Candidate
}

func (p *specParser) fail(at int, field, format string, args ...any) error {
	return &SpecError{Spec: p.src, Offset: at, Field: field, problem: fmt.Sprintf(format, args...)}
}

func (p *specParser) space() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

// peek returns the next character after spaces, or 0 at the end.
func (p *specParser) peek() byte {
	p.space()
	if p.pos == len(p.src) {
		return 0
	}
	return p.src[p.pos]
}

func isIdent(b byte, first bool) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || !first && (b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.')
}

// word reads a name: a letter, then letters, digits, '-', '_' or '.'.
func (p *specParser) word() string {
	start := p.pos
	for p.pos < len(p.src) && isIdent(p.src[p.pos], p.pos == start) {
		p.pos++
	}
	return p.src[start:p.pos]
}

// value reads an argument's text: up to the next ',', ')', '@' or space.
func (p *specParser) value() string {
	start := p.pos
	for p.pos < len(p.src) && !strings.ContainsRune(",()@ \t", rune(p.src[p.pos])) {
		p.pos++
	}
	return p.src[start:p.pos]
}

// candidate reads a policy and its settings.
func (p *specParser) candidate() (Candidate, error) {
	var c Candidate
	start := p.pos
	build, base, err := p.policy()
	if err != nil {
		return c, err
	}
	if base != nil {
		c = *base
	}
	c.New = build
	if p.peek() == '@' {
		at := p.pos
		p.pos++
		if err := p.settings(&c); err != nil {
			return c, err
		}
		if err := checkSettings(&c); err != nil {
			var ce *breaker.ConfigError
			if errors.As(err, &ce) {
				return c, p.fail(at, "@"+settingOf(ce.Field), "%s", ce.Problem())
			}
			return c, p.fail(at, "", "%v", err)
		}
	}
	// The policy's own checks, such as LastN's minCalls <= n.
	if _, err := policy.Check(c.New()); err != nil {
		return c, p.fail(start, "", "%v", err)
	}
	return c, nil
}

// policy reads a policy: a constructor call, or the name of a named
// candidate (returned as base, whose settings the candidate inherits).
func (p *specParser) policy() (build func() policy.Policy, base *Candidate, err error) {
	p.space()
	start := p.pos
	name := p.word()
	if name == "" {
		if p.pos == len(p.src) {
			return nil, nil, p.fail(start, "", "expected a policy, such as consecutive(5), at the end")
		}
		return nil, nil, p.fail(start, "", "expected a policy, such as consecutive(5); got %q", p.src[p.pos:p.pos+1])
	}
	lower := strings.ToLower(name)
	if p.peek() != '(' {
		for i := range p.named {
			if p.named[i].Name == name {
				return p.named[i].New, &p.named[i], nil
			}
		}
		if _, ok := families[lower]; ok || lower == "any" || lower == "all" {
			return nil, nil, p.fail(p.pos, "", "%s needs its arguments in parentheses: %s", name, specHelp)
		}
		return nil, nil, p.fail(start, "", "unknown policy %q: write %s%s", name, specHelp, p.namedHelp())
	}
	open := p.pos
	p.pos++ // '('
	if lower == "any" || lower == "all" {
		var children []func() policy.Policy
		for {
			child, _, err := p.policy()
			if err != nil {
				return nil, nil, err
			}
			children = append(children, child)
			switch p.peek() {
			case ',':
				p.pos++
				continue
			case ')':
				p.pos++
			default:
				return nil, nil, p.fail(p.pos, "", "expected ',' or ')' in %s(...), opened at column %d", lower, utf8.RuneCountInString(p.src[:open])+1)
			}
			break
		}
		return func() policy.Policy {
			ps := make([]policy.Policy, len(children))
			for i, child := range children {
				ps[i] = child()
			}
			if lower == "all" {
				return policy.All(ps...)
			}
			return policy.Any(ps...)
		}, nil, nil
	}
	f, ok := families[lower]
	if !ok {
		return nil, nil, p.fail(start, "", "unknown policy %q: write %s", name, specHelp)
	}
	values := make([]any, len(f.args))
	for i, kind := range f.kinds {
		p.space()
		at := p.pos
		field := f.goName + "." + f.args[i]
		text := p.value()
		if text == "" {
			return nil, nil, p.fail(at, field, "missing: %s takes %d arguments (%s)", lower, len(f.args), strings.Join(f.args, ", "))
		}
		v, err := parseArg(kind, text)
		if err != nil {
			return nil, nil, p.fail(at, field, "%s", err)
		}
		values[i] = v
		want := byte(',')
		if i == len(f.kinds)-1 {
			want = ')'
		}
		if got := p.peek(); got != want {
			if want == ')' && got == ',' {
				return nil, nil, p.fail(p.pos, "", "%s takes %d arguments (%s), not more", lower, len(f.args), strings.Join(f.args, ", "))
			}
			if want == ',' && got == ')' {
				return nil, nil, p.fail(p.pos, f.goName+"."+f.args[i+1], "missing: %s takes %d arguments (%s)", lower, len(f.args), strings.Join(f.args, ", "))
			}
			return nil, nil, p.fail(p.pos, "", "expected %q after %s", want, f.args[i])
		}
		p.pos++
	}
	return func() policy.Policy { return f.build(values) }, nil, nil
}

func (p *specParser) namedHelp() string {
	if len(p.named) == 0 {
		return ""
	}
	names := make([]string, len(p.named))
	for i, c := range p.named {
		names[i] = c.Name
	}
	return ", or a candidate's name: " + strings.Join(names, ", ")
}

// parseArg reads one argument of a policy.
func parseArg(kind argKind, text string) (any, error) {
	switch kind {
	case argCount:
		n, err := strconv.Atoi(text)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", text)
		}
		if n < 1 {
			return nil, fmt.Errorf("must be at least 1, got %d", n)
		}
		return n, nil
	case argRatio:
		r, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number: write a fraction such as 0.25", text)
		}
		if !(r > 0 && r <= 1) {
			return nil, fmt.Errorf("must be a fraction in (0, 1], got %s", text)
		}
		return r, nil
	default:
		d, err := time.ParseDuration(text)
		if err != nil {
			if _, numErr := strconv.ParseFloat(text, 64); numErr == nil {
				return nil, fmt.Errorf("%q needs a unit: write it like \"10s\" or \"250ms\"", text)
			}
			return nil, fmt.Errorf("%q is not a duration: write it like \"10s\", \"1m30s\" or \"250ms\"", text)
		}
		if d <= 0 {
			return nil, fmt.Errorf("must be positive, got %s", text)
		}
		return d, nil
	}
}

// settings reads key=value pairs after '@'. A ',' ends them unless a
// key and '=' follow it.
func (p *specParser) settings(c *Candidate) error {
	for {
		p.space()
		at := p.pos
		key := p.word()
		if key == "" || p.peek() != '=' {
			if key == "" {
				return p.fail(at, "", "expected a setting, such as open=30s, after '@'")
			}
			return p.fail(p.pos, "@"+key, "expected '=' and a value")
		}
		p.pos++
		p.space()
		vat := p.pos
		val := p.value()
		if val == "" {
			return p.fail(vat, "@"+key, "missing value")
		}
		if err := applySetting(c, key, val); err != nil {
			var se *settingError
			if errors.As(err, &se) && se.unknown {
				return p.fail(at, "@"+key, "%s", se.problem)
			}
			return p.fail(vat, "@"+key, "%s", err)
		}
		if p.peek() != ',' {
			return nil
		}
		// A ',' followed by "key=" continues the settings; otherwise the
		// next candidate begins.
		save := p.pos
		p.pos++
		p.space()
		p.word()
		isSetting := p.peek() == '='
		p.pos = save
		if !isSetting {
			return nil
		}
		p.pos++
	}
}

type settingError struct {
	problem string
	unknown bool
}

func (e *settingError) Error() string { return e.problem }

// Settings are the breaker settings a spec or a flag may set, by name.
const settingNames = "open, probes, close-after, backoff, backoff-factor, backoff-jitter, probe-timeout"

// ApplySetting sets one breaker setting of c by its name in a spec
// ("open", "probes", "close-after", "backoff", "backoff-factor",
// "backoff-jitter", "probe-timeout") from its text, as the command's flags do. Values out of
// range are errors that say the range.
func ApplySetting(c *Candidate, key, value string) error { return applySetting(c, key, value) }

func applySetting(c *Candidate, key, val string) error {
	duration := func(nonNegative bool) (time.Duration, error) {
		d, err := time.ParseDuration(val)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: write it like \"30s\" or \"1m\"", val)
		}
		if d < 0 || d == 0 && !nonNegative {
			return 0, fmt.Errorf("must be positive, got %s", val)
		}
		return d, nil
	}
	// probes reads a count of probes: HalfOpenProbes or CloseAfter.
	probes := func() (int, error) {
		n, err := strconv.Atoi(val)
		switch {
		case err != nil:
			return n, fmt.Errorf("%q is not a whole number", val)
		case n < 1 || n > breaker.MaxHalfOpenProbes:
			return n, fmt.Errorf("must be between 1 and %d, got %d", breaker.MaxHalfOpenProbes, n)
		}
		return n, nil
	}
	backoff := func() *breaker.Backoff {
		if c.Backoff == nil {
			c.Backoff = &breaker.Backoff{}
		}
		return c.Backoff
	}
	var err error
	switch key {
	case "open":
		c.OpenTimeout, err = duration(false)
	case "probes":
		c.HalfOpenProbes, err = probes()
	case "close-after":
		c.CloseAfter, err = probes()
	case "backoff":
		var d time.Duration
		d, err = duration(false)
		backoff().Max = d
	case "backoff-factor":
		f, convErr := strconv.ParseFloat(val, 64)
		switch {
		case convErr != nil:
			err = fmt.Errorf("%q is not a number", val)
		case !(f >= 1) || f > 1000:
			err = fmt.Errorf("must be a number from 1 to 1000, got %s", val)
		}
		backoff().Factor = f
	case "backoff-jitter":
		f, convErr := strconv.ParseFloat(val, 64)
		switch {
		case convErr != nil:
			err = fmt.Errorf("%q is not a number", val)
		case !(f >= 0 && f < 1):
			err = fmt.Errorf("must be a fraction in [0, 1), got %s", val)
		}
		backoff().Jitter = f
	case "probe-timeout":
		if val == "off" {
			c.ProbeTimeout = breaker.NoProbeTimeout
			break
		}
		c.ProbeTimeout, err = duration(false)
	default:
		return &settingError{problem: fmt.Sprintf("unknown setting %q; the settings are %s", key, settingNames), unknown: true}
	}
	return err
}

// checkSettings asks the breaker whether c's settings go together (a
// backoff's Max below the open timeout, say), with the defaults for what
// c leaves to the scenario.
func checkSettings(c *Candidate) error {
	cfg := breaker.Config[struct{}]{OpenTimeout: c.OpenTimeout, HalfOpenProbes: c.HalfOpenProbes,
		CloseAfter: c.CloseAfter, ProbeTimeout: c.ProbeTimeout, Backoff: c.Backoff}
	if cfg.OpenTimeout == 0 {
		// Left to the scenario, which the run checks against Backoff.Max.
		cfg.OpenTimeout = time.Nanosecond
	}
	if c.Backoff != nil && c.Backoff.Max == 0 {
		return &settingError{problem: "backoff-factor and backoff-jitter need backoff=MAX, the longest open period"}
	}
	_, err := breaker.New(cfg)
	return err
}

// settingOf maps a breaker.Config field to the spec's setting.
func settingOf(field string) string {
	switch field {
	case "OpenTimeout":
		return "open"
	case "HalfOpenProbes":
		return "probes"
	case "ProbeTimeout":
		return "probe-timeout"
	case "CloseAfter":
		return "close-after"
	case "Backoff.Factor":
		return "backoff-factor"
	case "Backoff.Jitter":
		return "backoff-jitter"
	}
	return "backoff"
}
