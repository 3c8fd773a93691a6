package spec

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/gocode"
	"github.com/tripwire-go/tripwire/policy"
)

// The language is two tables: the policies a spec may call and the
// settings it may give after '@'. A new policy or setting is one entry
// here, with its parsing, checking and printing in one place; the parser
// and String do not change.

// argKind is what a policy argument is.
type argKind uint8

const (
	argCount    argKind = iota // a whole number, at least 1
	argRatio                   // a fraction in (0, 1]
	argDuration                // a positive Go duration
	argFactor                  // a number from 1 to MaxBackoffFactor
)

// value is one argument as parsed: counts and durations (in nanoseconds)
// in i, ratios in f.
type value struct {
	i int64
	f float64
}

// param is one argument of a policy: its name in Go and its kind.
type param struct {
	name string
	kind argKind
}

// family is a policy constructor as the spec spells it.
type family struct {
	goName string // the constructor's name in package policy: "Rate"
	params []param
	build  func(v []value) policy.Policy
}

// families are the policies a spec may call, by their lowercased Go names.
var families = map[string]*family{
	"consecutive": {"Consecutive", []param{{"failures", argCount}},
		func(v []value) policy.Policy { return policy.Consecutive(int(v[0].i)) }},
	"window": {"Window", []param{{"failures", argCount}, {"over", argDuration}},
		func(v []value) policy.Policy { return policy.Window(int(v[0].i), time.Duration(v[1].i)) }},
	"rate": {"Rate", []param{{"ratio", argRatio}, {"minCalls", argCount}, {"over", argDuration}},
		func(v []value) policy.Policy { return policy.Rate(v[0].f, int(v[1].i), time.Duration(v[2].i)) }},
	"lastn": {"LastN", []param{{"ratio", argRatio}, {"minCalls", argCount}, {"n", argCount}},
		func(v []value) policy.Policy { return policy.LastN(v[0].f, int(v[1].i), int(v[2].i)) }},
	"slow": {"Slow", []param{{"threshold", argDuration}, {"ratio", argRatio}, {"minCalls", argCount}, {"over", argDuration}},
		func(v []value) policy.Policy {
			return policy.Slow(time.Duration(v[0].i), v[1].f, int(v[2].i), time.Duration(v[3].i))
		}},
	"throttle": {"Throttle", []param{{"k", argFactor}, {"over", argDuration}},
		func(v []value) policy.Policy { return policy.Throttle(v[0].f, time.Duration(v[1].i)) }},
}

// combinators are the policies a spec may call with policies as
// arguments.
var combinators = map[string]struct {
	goName string
	build  func(ps ...policy.Policy) policy.Policy
}{
	"any": {"Any", func(ps ...policy.Policy) policy.Policy { return policy.Any(ps...) }},
	"all": {"All", func(ps ...policy.Policy) policy.Policy { return policy.All(ps...) }},
}

const policyHelp = "consecutive(N), window(N,over), rate(ratio,minCalls,over), lastn(ratio,minCalls,n), slow(threshold,ratio,minCalls,over), throttle(k,over), any(p,...), all(p,...)"

// parseArg reads one argument of a policy.
func parseArg(kind argKind, text string) (value, error) {
	switch kind {
	case argCount:
		n, err := strconv.Atoi(text)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return value{}, fmt.Errorf("%s is too large", text)
			}
			return value{}, fmt.Errorf("%q is not a whole number", text)
		}
		if n < 1 {
			return value{}, fmt.Errorf("must be at least 1, got %d", n)
		}
		return value{i: int64(n)}, nil
	case argFactor:
		f, err := strconv.ParseFloat(text, 64)
		switch {
		case err != nil:
			return value{}, fmt.Errorf("%q is not a number: write one such as 2", text)
		case !(f >= 1) || f > MaxBackoffFactor:
			return value{}, fmt.Errorf("must be a number from 1 to %d, got %s", MaxBackoffFactor, text)
		}
		return value{f: f}, nil
	case argRatio:
		r, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return value{}, fmt.Errorf("%q is not a number: write a fraction such as 0.25", text)
		}
		if !(r > 0 && r <= 1) {
			return value{}, fmt.Errorf("must be a fraction in (0, 1], got %s", text)
		}
		return value{f: r}, nil
	default:
		d, err := parseDuration(text)
		if err != nil {
			return value{}, err
		}
		if d <= 0 {
			return value{}, fmt.Errorf("must be positive, got %s", text)
		}
		return value{i: int64(d)}, nil
	}
}

func parseDuration(text string) (time.Duration, error) {
	d, err := time.ParseDuration(text)
	if err != nil {
		if _, numErr := strconv.ParseFloat(text, 64); numErr == nil {
			return 0, fmt.Errorf("%q needs a unit: write it like \"10s\" or \"250ms\"", text)
		}
		return 0, fmt.Errorf("%q is not a duration: write it like \"10s\", \"1m30s\" or \"250ms\"", text)
	}
	return d, nil
}

// formatArg writes an argument in its canonical form.
func formatArg(kind argKind, v value) string {
	switch kind {
	case argRatio, argFactor:
		return formatFloat(v.f)
	case argDuration:
		return formatDuration(time.Duration(v.i))
	}
	return strconv.FormatInt(v.i, 10)
}

// goArg writes an argument as Go code.
func goArg(kind argKind, v value) string {
	if kind == argDuration {
		return gocode.Duration(time.Duration(v.i))
	}
	return formatArg(kind, v)
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// formatDuration writes d as time.Duration.String does, but in ASCII
// ("us", not "µs") and without zero minutes and seconds: "5m", not
// "5m0s"; "1h", not "1h0m0s". time.ParseDuration reads it back.
func formatDuration(d time.Duration) string {
	s := strings.Replace(d.String(), "µs", "us", 1)
	for _, suffix := range []string{"m0s", "h0m"} {
		s = strings.Replace(s, suffix, suffix[:1], 1)
	}
	return s
}

// setting is one breaker setting a spec may give after '@'.
type setting struct {
	key   string // as the spec writes it: "open"
	field string // the breaker.Config field it sets: "OpenTimeout"
	set   func(s *Spec, text string) error
	get   func(s *Spec) (text string, ok bool) // ok: the spec sets it
}

// settings are in the order String writes them.
var settings = []setting{
	{"open", "OpenTimeout",
		func(s *Spec, v string) (err error) { s.OpenTimeout, err = positiveDuration(v); return err },
		func(s *Spec) (string, bool) { return formatDuration(s.OpenTimeout), s.OpenTimeout != 0 }},
	{"probes", "HalfOpenProbes",
		func(s *Spec, v string) (err error) { s.HalfOpenProbes, err = probeCount(v); return err },
		func(s *Spec) (string, bool) { return strconv.Itoa(s.HalfOpenProbes), s.HalfOpenProbes != 0 }},
	{"close-after", "CloseAfter",
		func(s *Spec, v string) (err error) { s.CloseAfter, err = probeCount(v); return err },
		func(s *Spec) (string, bool) { return strconv.Itoa(s.CloseAfter), s.CloseAfter != 0 }},
	{"backoff", "Backoff.Max",
		func(s *Spec, v string) (err error) { backoff(s).Max, err = positiveDuration(v); return err },
		func(s *Spec) (string, bool) {
			return formatDuration(backoffOf(s).Max), s.Backoff != nil
		}},
	{"backoff-factor", "Backoff.Factor",
		func(s *Spec, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			switch {
			case err != nil:
				return fmt.Errorf("%q is not a number", v)
			case !(f >= 1) || f > MaxBackoffFactor:
				return fmt.Errorf("must be a number from 1 to %d, got %s", MaxBackoffFactor, v)
			}
			backoff(s).Factor = f
			return nil
		},
		func(s *Spec) (string, bool) {
			return formatFloat(backoffOf(s).Factor), backoffOf(s).Factor != 0
		}},
	{"backoff-jitter", "Backoff.Jitter",
		func(s *Spec, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			switch {
			case err != nil:
				return fmt.Errorf("%q is not a number", v)
			case !(f >= 0 && f < 1):
				return fmt.Errorf("must be a fraction in [0, 1), got %s", v)
			}
			backoff(s).Jitter = f
			return nil
		},
		func(s *Spec) (string, bool) {
			return formatFloat(backoffOf(s).Jitter), backoffOf(s).Jitter != 0
		}},
	{"probe-timeout", "ProbeTimeout",
		func(s *Spec, v string) (err error) {
			if v == "off" {
				s.ProbeTimeout = breaker.NoProbeTimeout
				return nil
			}
			s.ProbeTimeout, err = positiveDuration(v)
			return err
		},
		func(s *Spec) (string, bool) {
			if s.ProbeTimeout < 0 {
				return "off", true
			}
			return formatDuration(s.ProbeTimeout), s.ProbeTimeout != 0
		}},
	{"ramp", "RampUp",
		func(s *Spec, v string) (err error) { s.RampUp, err = positiveDuration(v); return err },
		func(s *Spec) (string, bool) { return formatDuration(s.RampUp), s.RampUp != 0 }},
	{"backoff-forget", "Backoff.Forget",
		func(s *Spec, v string) error {
			d, err := positiveDuration(v)
			if err == nil {
				backoff(s).Forget = d
			}
			return err
		},
		func(s *Spec) (string, bool) {
			return formatDuration(backoffOf(s).Forget), backoffOf(s).Forget != 0
		}},
	{"retry-after-max", "MaxRetryAfter",
		func(s *Spec, v string) (err error) { s.MaxRetryAfter, err = positiveDuration(v); return err },
		func(s *Spec) (string, bool) { return formatDuration(s.MaxRetryAfter), s.MaxRetryAfter != 0 }},
}

// MaxBackoffFactor is the largest backoff-factor a spec accepts: beyond
// it a second open period would already dwarf any sensible Max.
const MaxBackoffFactor = 1000

func positiveDuration(v string) (time.Duration, error) {
	d, err := parseDuration(v)
	if err == nil && d <= 0 {
		err = fmt.Errorf("must be positive, got %s", v)
	}
	return d, err
}

// probeCount reads HalfOpenProbes or CloseAfter.
func probeCount(v string) (int, error) {
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a whole number", v)
	case n < 1 || n > breaker.MaxHalfOpenProbes:
		return 0, fmt.Errorf("must be between 1 and %d, got %d", breaker.MaxHalfOpenProbes, n)
	}
	return n, nil
}

// backoff returns s's Backoff, made if it has none. It copies one it has,
// so that setting a spec never changes a Backoff another value shares.
func backoff(s *Spec) *breaker.Backoff {
	bo := backoffOf(s)
	s.Backoff = &bo
	return s.Backoff
}

// backoffOf returns s's Backoff, or the zero Backoff if it has none.
func backoffOf(s *Spec) breaker.Backoff {
	if s.Backoff == nil {
		return breaker.Backoff{}
	}
	return *s.Backoff
}

func settingKeys() string {
	keys := make([]string, len(settings))
	for i, st := range settings {
		keys[i] = st.key
	}
	return strings.Join(keys, ", ")
}

func findSetting(key string) *setting {
	for i := range settings {
		if settings[i].key == key {
			return &settings[i]
		}
	}
	return nil
}
