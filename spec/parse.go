package spec

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// Parse reads one spec: a policy written as its constructor in package
// policy is, lowercased, then optionally breaker settings after an '@':
//
//	rate(0.3,20,10s)@open=30s,probes=1
//	any(consecutive(5),slow(1s,0.5,20,10s))@backoff=5m,probe-timeout=off
//	@open=30s
//
// Spaces and tabs between the parts are allowed. Parse checks every
// argument and setting, the policy as breaker.New would (LastN's minCalls
// at most n, say), and the settings against each other (a backoff of at
// least open); a setting left out is checked with its default when the
// breaker is built. Every error is an [*Error] that names the argument
// or setting at fault and points at its column. The package doc has the
// grammar.
func Parse(text string) (Spec, error) {
	p := &parser{src: text}
	if p.peek() == 0 {
		return Spec{}, p.fail(p.pos, "", "empty: write a policy, such as consecutive(5), optionally with settings after '@'")
	}
	s, _, err := p.line()
	if err != nil {
		return Spec{}, err
	}
	if p.peek() != 0 {
		return Spec{}, p.fail(p.pos, "", "expected the end of the spec, got %q", p.rest())
	}
	return s, nil
}

// Item is one spec of a list read by [ParseList].
type Item struct {
	// Spec is the spec read. For a reference, its Policy is zero and it
	// holds the settings written after the name.
	Spec Spec
	// Ref is the name the item refers to, when it is one of the names
	// given to ParseList rather than a policy: "rate" in "rate@open=30s".
	Ref string
	// Text is the item as written, without the spaces around it, and
	// Offset where it starts in the list, in bytes.
	Text   string
	Offset int
}

// ParseList reads a comma-separated list of specs, as a command that
// compares several configurations takes them:
//
//	consecutive(10),rate(0.3,20,10s)@open=30s,probes=1,lastn(0.25,20,100)
//
// A ',' after a setting continues the settings when a key and '=' follow
// it, and starts the next spec otherwise. A bare name from names, such as
// "rate", stands for a configuration the caller defines, and may take
// settings too ("rate@open=30s"): the Item says which name, and the caller
// resolves it. Errors are as Parse's, with the offset in the whole list.
func ParseList(text string, names []string) ([]Item, error) {
	p := &parser{src: text, names: names}
	var out []Item
	for {
		p.space()
		start := p.pos
		s, ref, err := p.line()
		if err != nil {
			return nil, err
		}
		out = append(out, Item{Spec: s, Ref: ref, Text: strings.TrimSpace(text[start:p.pos]), Offset: start})
		switch p.peek() {
		case 0:
			return out, nil
		case ',':
			p.pos++
		default:
			return nil, p.fail(p.pos, "", "expected ',' between specs, or the end")
		}
	}
}

type parser struct {
	src   string
	pos   int
	names []string // the names a list may refer to
}

func (p *parser) fail(at int, field, format string, args ...any) *Error {
	return &Error{Text: p.src, Offset: at, Field: field, problem: fmt.Sprintf(format, args...)}
}

func (p *parser) space() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

// peek returns the next byte after spaces, or 0 at the end.
func (p *parser) peek() byte {
	p.space()
	if p.pos == len(p.src) {
		return 0
	}
	return p.src[p.pos]
}

// rest returns the next character, for an error.
func (p *parser) rest() string {
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return string(r)
}

func isIdent(b byte, first bool) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || !first && (b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.')
}

// word reads a name: a letter, then letters, digits, '-', '_' or '.'.
func (p *parser) word() string {
	p.space()
	start := p.pos
	for p.pos < len(p.src) && isIdent(p.src[p.pos], p.pos == start) {
		p.pos++
	}
	return p.src[start:p.pos]
}

// value reads an argument's or a setting's text: up to the next ',', ')',
// '(', '@', space or tab.
func (p *parser) value() string {
	p.space()
	start := p.pos
	for p.pos < len(p.src) && !strings.ContainsRune(",()@ \t", rune(p.src[p.pos])) {
		p.pos++
	}
	return p.src[start:p.pos]
}

// ShadowWord introduces a shadow candidate in a line: what follows it is
// a spec that runs observe-only beside the live one (breaker.Shadow).
const ShadowWord = "shadow"

// line reads a spec and the shadows that follow it, each after the word
// shadow. A shadow takes no names of the list: it is a spec of its own.
func (p *parser) line() (s Spec, ref string, err error) {
	if !p.atShadow() {
		if s, ref, err = p.spec(); err != nil {
			return s, "", err
		}
	}
	for p.atShadow() {
		p.word() // shadow
		p.space()
		at := p.pos
		names := p.names
		p.names = nil
		sh, _, err := p.spec()
		p.names = names
		if err != nil {
			return s, "", err
		}
		switch {
		case sh.RampUp != 0:
			return s, "", p.fail(at, "@ramp", "a shadow takes ramp= from the live spec, as a running breaker's Reconfigure does; set it there")
		case sh.MaxRetryAfter != 0:
			return s, "", p.fail(at, "@retry-after-max", "a shadow takes retry-after-max= from the live spec, as a running breaker's Reconfigure does; set it there")
		case len(s.Shadows) == breaker.MaxShadows:
			return s, "", p.fail(at, "", "more than %d shadows: each costs every call a decision", breaker.MaxShadows)
		}
		for _, o := range s.Shadows {
			if o.Equal(sh) {
				return s, "", p.fail(at, "", "the shadow %s is given twice", sh)
			}
		}
		s.Shadows = append(s.Shadows, sh)
	}
	return s, ref, nil
}

// atShadow reports whether the word shadow comes next.
func (p *parser) atShadow() bool {
	save := p.pos
	w := p.word()
	next := p.peek()
	p.pos = save
	return strings.EqualFold(w, ShadowWord) && next != '('
}

// spec reads a policy, or a reference when the parser has names, and its
// settings.
func (p *parser) spec() (s Spec, ref string, err error) {
	if p.peek() != '@' {
		if ref, err = p.ref(); err != nil {
			return s, "", err
		}
		if ref == "" {
			if s.Policy, err = p.policy(0); err != nil {
				return s, "", err
			}
		}
	}
	if p.peek() == '@' {
		p.pos++
		if err := p.settings(&s); err != nil {
			return s, "", err
		}
	}
	return s, ref, nil
}

// ref reads one of the parser's names when one comes next, not followed
// by '('.
func (p *parser) ref() (string, error) {
	save := p.pos
	name := p.word()
	if name != "" && p.peek() != '(' {
		for _, n := range p.names {
			if n == name {
				return name, nil
			}
		}
	}
	p.pos = save
	return "", nil
}

// MaxDepth is how deeply any(...) and all(...) may nest: far more than a
// configuration needs, and few enough that no input can exhaust the
// parser's stack.
const MaxDepth = 32

// policy reads a constructor call, depth combinators deep.
func (p *parser) policy(depth int) (Expr, error) {
	start := p.pos
	name := p.word()
	if name == "" {
		if p.pos == len(p.src) {
			return Expr{}, p.fail(start, "", "expected a policy, such as consecutive(5), at the end")
		}
		return Expr{}, p.fail(start, "", "expected a policy, such as consecutive(5); got %q", p.rest())
	}
	lower := strings.ToLower(name)
	fam := families[lower]
	_, isComb := combinators[lower]
	if p.peek() != '(' {
		if fam != nil || isComb {
			return Expr{}, p.fail(p.pos, "", "%s needs its arguments in parentheses: %s", name, policyHelp)
		}
		return Expr{}, p.fail(start, "", "unknown policy %q: write %s%s", name, policyHelp, p.namesHelp())
	}
	if fam == nil && !isComb {
		return Expr{}, p.fail(start, "", "unknown policy %q: write %s", name, policyHelp)
	}
	open := p.pos
	p.pos++ // '('
	if isComb {
		if depth == MaxDepth {
			return Expr{}, p.fail(start, "", "%s(...) nested more than %d deep", lower, MaxDepth)
		}
		e := Expr{name: lower}
		for {
			kid, err := p.policy(depth + 1)
			if err != nil {
				return Expr{}, err
			}
			e.kids = append(e.kids, kid)
			switch p.peek() {
			case ',':
				p.pos++
				continue
			case ')':
				p.pos++
				return e, nil
			}
			return Expr{}, p.fail(p.pos, "", "expected ',' or ')' in %s(...), opened at column %d", lower, utf8.RuneCountInString(p.src[:open])+1)
		}
	}
	e := Expr{name: lower, fam: fam, args: make([]value, len(fam.params))}
	at := make([]int, len(fam.params))
	for i, prm := range fam.params {
		p.space()
		at[i] = p.pos
		field := fam.goName + "." + prm.name
		text := p.value()
		if text == "" {
			return Expr{}, p.fail(at[i], field, "missing: %s", fam.usage(lower))
		}
		v, err := parseArg(prm.kind, text)
		if err != nil {
			return Expr{}, p.fail(at[i], field, "%s", err)
		}
		e.args[i] = v
		want := byte(',')
		if i == len(fam.params)-1 {
			want = ')'
		}
		switch got := p.peek(); {
		case got == want:
			p.pos++
		case want == ')' && got == ',':
			return Expr{}, p.fail(p.pos, "", "%s, not more", fam.usage(lower))
		case want == ',' && got == ')':
			return Expr{}, p.fail(p.pos, fam.goName+"."+fam.params[i+1].name, "missing: %s", fam.usage(lower))
		default:
			return Expr{}, p.fail(p.pos, "", "expected %q after %s", want, prm.name)
		}
	}
	// The policy's own checks, of arguments together or against limits
	// (LastN's minCalls at most n): point at the argument it names.
	if _, err := policy.Check(e.New()); err != nil {
		field, where := "", start
		var ae *policy.ArgError
		if errors.As(err, &ae) {
			for i, prm := range fam.params {
				if prm.name == ae.Arg() {
					field, where = ae.Field, at[i]
					return Expr{}, p.fail(where, field, "%s", ae.Problem())
				}
			}
		}
		return Expr{}, p.fail(where, field, "%v", err)
	}
	return e, nil
}

// usage says how many arguments a family takes, and which.
func (f *family) usage(name string) string {
	names := make([]string, len(f.params))
	for i, prm := range f.params {
		names[i] = prm.name
	}
	return fmt.Sprintf("%s takes %d arguments (%s)", name, len(f.params), strings.Join(names, ", "))
}

func (p *parser) namesHelp() string {
	if len(p.names) == 0 {
		return ""
	}
	return ", or a name: " + strings.Join(p.names, ", ")
}

// settings reads key=value pairs after '@', then checks them together.
// In a list, a ',' ends them unless a key and '=' follow it.
func (p *parser) settings(s *Spec) error {
	at := p.pos - 1          // the '@'
	seen := map[string]int{} // key: offset of its value
	for {
		p.space()
		kat := p.pos
		key := p.word()
		if key == "" {
			return p.fail(kat, "", "expected a setting, such as open=30s, after '@' or ','")
		}
		if p.peek() != '=' {
			return p.fail(p.pos, "@"+key, "expected '=' and a value")
		}
		p.pos++
		p.space()
		vat := p.pos
		val := p.value()
		st := findSetting(key)
		switch {
		case st == nil:
			return p.fail(kat, "@"+key, "unknown setting; the settings are %s", settingKeys())
		case val == "":
			return p.fail(vat, "@"+key, "missing value")
		}
		if _, dup := seen[st.field]; dup {
			return p.fail(kat, "@"+key, "set twice")
		}
		seen[st.field] = vat
		if err := st.set(s, val); err != nil {
			return p.fail(vat, "@"+key, "%s", err)
		}
		if p.peek() != ',' {
			break
		}
		// A ',' followed by "key=" continues the settings; otherwise the
		// next spec of a list begins.
		save := p.pos
		p.pos++
		p.word()
		isSetting := p.peek() == '='
		p.pos = save
		if !isSetting {
			break
		}
		p.pos++
	}
	return p.check(s, at, seen)
}

// check asks the breaker whether s's settings go together (a backoff's Max
// below the open timeout, say), leaving out what s leaves to defaults,
// and points at the value of the setting at fault.
func (p *parser) check(s *Spec, at int, seen map[string]int) error {
	if s.Backoff != nil && s.Backoff.Max == 0 {
		return p.fail(at, "@backoff", "backoff-factor, backoff-jitter and backoff-forget need backoff=MAX, the longest open period")
	}
	if vat, ok := seen["Backoff.Max"]; ok && s.OpenTimeout != 0 && s.Backoff.Max < s.OpenTimeout {
		return p.fail(vat, "@backoff", "must be at least OpenTimeout (open=%s), the first open period; got %s",
			formatDuration(s.OpenTimeout), formatDuration(s.Backoff.Max))
	}
	cfg := Config[struct{}](Spec{OpenTimeout: s.OpenTimeout, HalfOpenProbes: s.HalfOpenProbes,
		CloseAfter: s.CloseAfter, ProbeTimeout: s.ProbeTimeout, Backoff: s.Backoff,
		RampUp: s.RampUp, MaxRetryAfter: s.MaxRetryAfter})
	if cfg.OpenTimeout == 0 {
		// Left to the breaker's default or the caller's: Backoff.Max is
		// checked against it when the breaker is built.
		cfg.OpenTimeout = 1
	}
	_, err := breaker.New(cfg)
	if err == nil {
		return nil
	}
	var ce *breaker.ConfigError
	if !errors.As(err, &ce) {
		return p.fail(at, "", "%v", err)
	}
	for _, st := range settings {
		if st.field == ce.Field {
			if vat, ok := seen[st.field]; ok {
				at = vat
			}
			return p.fail(at, "@"+st.key, "%s", ce.Problem())
		}
	}
	return p.fail(at, "", "%v", err)
}
