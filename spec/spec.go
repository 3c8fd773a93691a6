package spec

import (
	"strings"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// Spec is a breaker configuration read from text: a policy and the
// breaker settings that shape the open and half-open periods. Get one
// from [Parse], or as a flag (it is a [flag.Value]) or a field of a config
// file (it reads and writes itself as text); turn it into a
// breaker.Config with [Config].
//
// A zero setting is one the spec does not set: the breaker's default
// applies, as in [breaker.Config]. The zero Spec sets nothing, not even a
// policy. A Spec is a value: copying one and changing a setting of the
// copy leaves the original as it was, except for what Backoff points to,
// which Spec never changes but the caller may. Its methods that do not
// change it (String, Equal, MarshalText) and Config are safe for
// concurrent use; Set, SetSetting and UnmarshalText change it.
type Spec struct {
	// Policy is the policy, or the zero Expr when the spec gives none
	// (breaker.Config's default policy then applies).
	Policy Expr
	// OpenTimeout is breaker.Config.OpenTimeout, set by open=.
	OpenTimeout time.Duration
	// HalfOpenProbes is breaker.Config.HalfOpenProbes, set by probes=.
	HalfOpenProbes int
	// CloseAfter is breaker.Config.CloseAfter, set by close-after=.
	CloseAfter int
	// Backoff is breaker.Config.Backoff: its Max is set by backoff=, its
	// Factor by backoff-factor=, its Jitter by backoff-jitter= and its
	// Forget by backoff-forget=. nil
	// means none. A spec does not write Rand.
	Backoff *breaker.Backoff
	// ProbeTimeout is breaker.Config.ProbeTimeout, set by probe-timeout=
	// (off for breaker.NoProbeTimeout).
	ProbeTimeout time.Duration
	// RampUp is breaker.Config.RampUp, set by ramp=.
	RampUp time.Duration
	// MaxRetryAfter is breaker.Config.MaxRetryAfter, set by
	// retry-after-max=.
	MaxRetryAfter time.Duration
	// Shadows are the candidates written after the word shadow, in order:
	// specs that run observe-only beside this one (breaker.Config.Shadows),
	// each without shadows of its own, ramp= or retry-after-max= (a
	// candidate takes those from the live breaker). A copy of a Spec shares
	// this slice with the original: replace it rather than change it.
	Shadows []Spec
}

// String writes s in the canonical form of the language: no spaces,
// settings in a fixed order (open, probes, close-after, backoff,
// backoff-factor, backoff-jitter, probe-timeout, ramp, backoff-forget,
// retry-after-max), durations without
// their zero units ("1m", not "1m0s") and in ASCII ("250us"), numbers as
// strconv.FormatFloat(v, 'g', -1, 64) writes them. Parse reads it back to
// an equal Spec, as time.ParseDuration reads Duration.String. The zero Spec
// is "". A Spec that Parse could not have returned (a Backoff without
// Max, a negative count) prints as well as it can, and Parse may refuse
// the result.
func (s Spec) String() string {
	out := s.Policy.String() + s.settingsString()
	for _, sh := range s.Shadows {
		if out != "" {
			out += " "
		}
		out += ShadowWord + " " + sh.Policy.String() + sh.settingsString()
	}
	return out
}

// settingsString writes s's settings as "@key=value,...", or "" when it
// sets none.
func (s Spec) settingsString() string {
	var b strings.Builder
	for _, st := range settings {
		if v, ok := st.get(&s); ok {
			if b.Len() == 0 {
				b.WriteByte('@')
			} else {
				b.WriteByte(',')
			}
			b.WriteString(st.key + "=" + v)
		}
	}
	return b.String()
}

// Config returns the breaker configuration s describes, with a fresh
// policy (a policy holds the state of one circuit, so each breaker needs
// its own: call Config once per breaker) and a copy of s's Backoff. The
// fields s does not describe (Name, Classify, Clock, the callbacks) are
// zero, for the caller to fill in:
//
//	cfg := spec.Config[*http.Response](s)
//	cfg.Name = "payments"
//	b, err := breaker.New(cfg)
func Config[T any](s Spec) breaker.Config[T] {
	cfg := breaker.Config[T]{
		OpenTimeout:    s.OpenTimeout,
		HalfOpenProbes: s.HalfOpenProbes,
		CloseAfter:     s.CloseAfter,
		ProbeTimeout:   s.ProbeTimeout,
		RampUp:         s.RampUp,
		MaxRetryAfter:  s.MaxRetryAfter,
	}
	if p := s.Policy.New(); p != nil {
		cfg.Policy = p
	}
	if s.Backoff != nil {
		bo := *s.Backoff
		cfg.Backoff = &bo
	}
	cfg.Shadows = Shadows(s)
	return cfg
}

// Shadows returns the candidates of s (its Shadows), each with a fresh
// policy and named by its spec, as [Config] puts them in
// breaker.Config.Shadows: what Breaker.ReconfigureShadows takes to put
// the candidates of a line in force on a running breaker. Call it once
// per breaker. nil when s has none.
//
//	s, err := spec.Parse("shadow rate(0.3,20,10s)@open=30s shadow lastn(0.5,10,20)")
//	...
//	err = b.ReconfigureShadows(spec.Shadows(s), "alice", "try a rate policy")
func Shadows(s Spec) []breaker.Shadow {
	var out []breaker.Shadow
	for _, sh := range s.Shadows {
		out = append(out, breaker.Shadow{Name: sh.String(), Settings: sh.Settings()})
	}
	return out
}

// SetSetting sets one setting of s from its key and value as a spec
// writes them after '@' ("open", "30s"), as a command's flag for that
// setting would. It checks the value alone: Parse also checks the
// settings against each other (a backoff shorter than open). The error is
// an [*Error] whose Text is the value (the key, for an unknown key) and
// whose Problem says what is wrong with it, for a message of the
// caller's own: "-open: must be positive, got -1s".
func (s *Spec) SetSetting(key, value string) error {
	st := findSetting(key)
	if st == nil {
		return NewError(key, 0, "@"+key, "unknown setting; the settings are "+settingKeys())
	}
	if err := st.set(s, value); err != nil {
		return NewError(value, 0, "@"+key, err.Error())
	}
	return nil
}

// Set parses text into s, for [flag.Value]: flag.Var(&s, "breaker", "...").
// On error s is unchanged.
func (s *Spec) Set(text string) error {
	v, err := Parse(text)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalText writes s.String(), for [encoding.TextMarshaler]: a Spec in
// a JSON config file (or any format whose library honours text
// marshalers) is a string in the language.
func (s Spec) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses text into s, for [encoding.TextUnmarshaler]. Empty
// text gives the zero Spec, so that a zero Spec written by MarshalText
// reads back; Parse and Set refuse it. On error s is unchanged.
func (s *Spec) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*s = Spec{}
		return nil
	}
	return s.Set(string(text))
}

// Expr is a policy as a spec writes it: a constructor of package policy,
// lowercased, and its arguments. The zero Expr is no policy. Get one from
// [Parse]; it cannot be changed, so it is safe for concurrent use.
type Expr struct {
	name string  // "rate", or a combinator's "any"
	fam  *family // nil for a combinator
	args []value // the family's arguments
	kids []Expr  // a combinator's policies
}

// IsZero reports whether e is the zero Expr: no policy.
func (e Expr) IsZero() bool { return e.name == "" }

// Name returns the constructor's name as the spec writes it ("rate",
// "any"), or "" for the zero Expr.
func (e Expr) Name() string { return e.name }

// New returns a fresh policy built from e, each call a new one, or nil for
// the zero Expr. Parse has checked the arguments, so breaker.New accepts
// the policy.
func (e Expr) New() policy.Policy {
	switch {
	case e.name == "":
		return nil
	case e.fam != nil:
		return e.fam.build(e.args)
	}
	ps := make([]policy.Policy, len(e.kids))
	for i, k := range e.kids {
		ps[i] = k.New()
	}
	return combinators[e.name].build(ps...)
}

// String writes e in canonical form: "rate(0.3,20,10s)", "" for the zero
// Expr.
func (e Expr) String() string {
	var b strings.Builder
	e.write(&b, func(k argKind, v value) string { return formatArg(k, v) }, "", ",")
	return b.String()
}

// GoCode writes e as the Go expression that builds the same policy:
// "policy.Rate(0.3, 20, 10 * time.Second)", "" for the zero Expr. gofmt
// may space it differently.
func (e Expr) GoCode() string {
	var b strings.Builder
	e.write(&b, goArg, "policy.", ", ")
	return b.String()
}

func (e Expr) write(b *strings.Builder, arg func(argKind, value) string, prefix, sep string) {
	if e.name == "" {
		return
	}
	if prefix == "" {
		b.WriteString(e.name)
	} else if e.fam != nil {
		b.WriteString(prefix + e.fam.goName)
	} else {
		b.WriteString(prefix + combinators[e.name].goName)
	}
	b.WriteByte('(')
	if e.fam != nil {
		for i, v := range e.args {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(arg(e.fam.params[i].kind, v))
		}
	}
	for i, k := range e.kids {
		if i > 0 {
			b.WriteString(sep)
		}
		k.write(b, arg, prefix, sep)
	}
	b.WriteByte(')')
}

// Equal reports whether e and f are the same policy with the same
// arguments.
func (e Expr) Equal(f Expr) bool {
	if e.name != f.name || len(e.args) != len(f.args) || len(e.kids) != len(f.kids) {
		return false
	}
	for i := range e.args {
		if e.args[i] != f.args[i] {
			return false
		}
	}
	for i := range e.kids {
		if !e.kids[i].Equal(f.kids[i]) {
			return false
		}
	}
	return true
}

// Equal reports whether s and t describe the same configuration: equal
// policies and equal settings (Backoffs compared by value, Rand aside),
// and equal shadows in the same order.
func (s Spec) Equal(t Spec) bool {
	if !s.Policy.Equal(t.Policy) || (s.Backoff == nil) != (t.Backoff == nil) || len(s.Shadows) != len(t.Shadows) {
		return false
	}
	for i := range s.Shadows {
		if !s.Shadows[i].Equal(t.Shadows[i]) {
			return false
		}
	}
	if s.Backoff != nil {
		a, b := *s.Backoff, *t.Backoff
		if a.Max != b.Max || a.Factor != b.Factor || a.Jitter != b.Jitter || a.Forget != b.Forget {
			return false
		}
	}
	return s.OpenTimeout == t.OpenTimeout && s.HalfOpenProbes == t.HalfOpenProbes &&
		s.CloseAfter == t.CloseAfter && s.ProbeTimeout == t.ProbeTimeout &&
		s.RampUp == t.RampUp && s.MaxRetryAfter == t.MaxRetryAfter
}

// Settings returns the settings s describes, for a running breaker's
// Reconfigure, with a fresh policy (as [Config] makes one) and a copy of
// s's Backoff, and s's canonical form as their Text, which the breaker
// keeps as the evidence of the change:
//
//	s, err := spec.Parse(text)
//	...
//	err = b.Reconfigure(s.Settings(), who, why)
//
// ramp= and retry-after-max= are not among them: a running breaker keeps
// the RampUp and MaxRetryAfter it was built with. Nor are the shadows: a
// running breaker keeps the candidates it was built with.
func (s Spec) Settings() breaker.Settings {
	cfg := Config[struct{}](s)
	return breaker.Settings{
		Policy:         cfg.Policy,
		OpenTimeout:    cfg.OpenTimeout,
		HalfOpenProbes: cfg.HalfOpenProbes,
		CloseAfter:     cfg.CloseAfter,
		Backoff:        cfg.Backoff,
		ProbeTimeout:   cfg.ProbeTimeout,
		Text:           s.Live().String(),
	}
}

// Live returns s without its shadows: the live spec alone.
func (s Spec) Live() Spec {
	s.Shadows = nil
	return s
}
