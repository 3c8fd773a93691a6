package lab

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// MaxCalls is the most calls one scenario may send (Rate × Duration). It
// keeps a mistyped rate or duration from running for hours.
const MaxCalls = 10_000_000

// Scenario describes a dependency's behaviour over time and the traffic sent
// to it. Outside its phases the dependency has the baseline Errors and
// Latency; each [Phase] is a part of the fault and overrides both.
//
// Calls arrive from time 0 until Duration, Rate per second on average. Each
// gap between two calls is 1/Rate stretched or shrunk by a uniform random
// fraction of up to Jitter. A call fails with the error rate in force when
// it arrives, and takes a latency drawn uniformly between half and one and
// a half times the latency in force then. Every draw comes from one random
// stream seeded by [Run]'s seed and the scenario's name, so all policies of
// a run see the very same calls.
//
// The zero value is not a valid scenario; [Scenario.Validate] says why.
type Scenario struct {
	// Name identifies the scenario in tables and file names: letters,
	// digits, '.', '_' and '-', at most 64 of them.
	Name string
	// Description says what the scenario shows, in a sentence. Optional.
	Description string
	// Duration is how long the scenario runs, in virtual time.
	Duration time.Duration
	// Rate is the mean number of calls per second.
	Rate float64
	// Jitter, in [0, 1], randomises the gaps between calls: each is 1/Rate
	// times a uniform draw in [1-Jitter, 1+Jitter]. 0 sends calls like
	// clockwork.
	Jitter float64
	// Errors is the baseline error rate, in [0, 1].
	Errors float64
	// Latency is the baseline mean latency of a call.
	Latency time.Duration
	// SlowCall, when positive, makes calls that take longer than this
	// count as bad in the figures, as failures do: a rejected slow call is
	// not a healthy call lost. It changes nothing in the breaker, which sees
	// a slow success as a success; only a slow-call policy acts on it.
	SlowCall time.Duration
	// OpenTimeout is the breaker's Config.OpenTimeout: 0 means the
	// breaker's default.
	OpenTimeout time.Duration
	// HalfOpenProbes is the breaker's Config.HalfOpenProbes: 0 means the
	// breaker's default.
	HalfOpenProbes int
	// Phases are the parts of the fault, in time order, without overlap.
	// A scenario without phases has no fault: it measures false trips.
	Phases []Phase
}

// Phase is a span of time in which the dependency misbehaves: a part of the
// fault. Its error rate and latency may change linearly from its start to
// its end (a [Ramp]).
type Phase struct {
	// Name labels the phase. Optional.
	Name string
	// Start and End bound the phase: calls arriving at Start or later and
	// before End belong to it.
	Start, End time.Duration
	// Errors is the error rate over the phase, each end in [0, 1].
	Errors Ramp[float64]
	// Latency is the mean latency over the phase.
	Latency Ramp[time.Duration]
}

// Ramp is a value that changes linearly over a [Phase]: From at its start,
// To at its end. Build a constant one with [Steady] and a changing one with
// [Linear]. The zero Ramp is zero throughout.
type Ramp[T float64 | time.Duration] struct {
	From, To T
}

// Steady returns a ramp that stays at v.
func Steady[T float64 | time.Duration](v T) Ramp[T] { return Ramp[T]{v, v} }

// Linear returns a ramp from from to to.
func Linear[T float64 | time.Duration](from, to T) Ramp[T] { return Ramp[T]{from, to} }

// at returns the ramp's value at fraction f of the way, in [0, 1].
func (r Ramp[T]) at(f float64) float64 {
	return float64(r.From) + (float64(r.To)-float64(r.From))*f
}

// FaultStart returns when the first phase begins, and false when the
// scenario has no fault.
func (s *Scenario) FaultStart() (time.Duration, bool) {
	if len(s.Phases) == 0 {
		return 0, false
	}
	return s.Phases[0].Start, true
}

// FaultEnd returns when the last phase ends, and false when the scenario
// has no fault.
func (s *Scenario) FaultEnd() (time.Duration, bool) {
	if len(s.Phases) == 0 {
		return 0, false
	}
	return s.Phases[len(s.Phases)-1].End, true
}

// ScenarioError reports an invalid scenario. It names the scenario (by
// its name when it has one, else by its position in the file) and the
// field at fault, with its path inside phases. Use errors.As with it to
// learn which field is wrong without reading the message.
type ScenarioError struct {
	// Scenario is the scenario's name, or "" when it has none.
	Scenario string
	// Index is the scenario's position in its file, from 1, or 0 when it
	// was not read from an array.
	Index int
	// Field is the field at fault, as named in the JSON format: "rate",
	// "phases[2].errors", "phases[0].fault" for an unknown field. It is ""
	// when the problem is the scenario as a whole (malformed JSON).
	Field string

	problem string
}

// Problem says what is wrong with the field, without naming it.
func (e *ScenarioError) Problem() string { return e.problem }

// Error names the scenario, the field and what is wrong with it:
// "lab: scenario \"x\": phases[1].start: ...".
func (e *ScenarioError) Error() string {
	var b strings.Builder
	b.WriteString("lab: scenario ")
	switch {
	case e.Scenario != "":
		b.WriteString(strconv.Quote(e.Scenario))
	case e.Index > 0:
		b.WriteString("#" + strconv.Itoa(e.Index))
	default:
		b.WriteString("(unnamed)")
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.problem)
	return b.String()
}

// ErrInvalidScenario is wrapped by every error that reports an invalid
// scenario, so that callers can tell bad input from other failures.
var ErrInvalidScenario = errors.New("lab: invalid scenario")

// Unwrap returns ErrInvalidScenario.
func (e *ScenarioError) Unwrap() error { return ErrInvalidScenario }

// Validate reports the first thing wrong with s: a bad name, a rate or
// duration that is not positive, error rates outside [0, 1], negative
// latencies, phases that run backwards, overlap or end after the scenario,
// more than [MaxCalls] calls, or breaker settings that breaker.New refuses.
func (s *Scenario) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ScenarioError{Scenario: s.Name, Field: field, problem: fmt.Sprintf(format, args...)}
	}
	if err := checkName(s.Name); err != nil {
		e := bad("name", "%q %s", s.Name, err).(*ScenarioError)
		e.Scenario = ""
		return e
	}
	if s.Duration <= 0 {
		return bad("duration", "must be positive, got %v", s.Duration)
	}
	if !(s.Rate > 0) || math.IsInf(s.Rate, 0) {
		return bad("rate", "must be a positive number of calls per second, got %v", s.Rate)
	}
	if calls := s.Rate * s.Duration.Seconds(); calls > MaxCalls {
		return bad("rate", "rate × duration is %.0f calls, more than the %d a scenario may send", calls, MaxCalls)
	}
	if !(s.Jitter >= 0 && s.Jitter <= 1) {
		return bad("jitter", "must be in [0, 1], got %v", s.Jitter)
	}
	if err := checkRate(s.Errors); err != "" {
		return bad("errors", "%s", err)
	}
	if s.Latency < 0 {
		return bad("latency", "must not be negative, got %v", s.Latency)
	}
	if s.SlowCall < 0 {
		return bad("slow_call", "must not be negative, got %v", s.SlowCall)
	}
	if _, err := breaker.New(breaker.Config[struct{}]{OpenTimeout: s.OpenTimeout, HalfOpenProbes: s.HalfOpenProbes}); err != nil {
		var ce *breaker.ConfigError
		if !errors.As(err, &ce) {
			return err
		}
		field := "open_timeout"
		if ce.Field == "HalfOpenProbes" {
			field = "half_open_probes"
		}
		return bad(field, "%s %s", ce.Field, ce.Problem())
	}
	var prevEnd time.Duration
	for i, p := range s.Phases {
		at := func(field string) string { return fmt.Sprintf("phases[%d].%s", i, field) }
		switch {
		case p.Start < 0:
			return bad(at("start"), "must not be negative, got %v", p.Start)
		case p.End <= p.Start:
			return bad(at("end"), "must be after start (%v), got %v: the phase runs backwards or is empty", p.Start, p.End)
		case p.End > s.Duration:
			return bad(at("end"), "%v is after the end of the scenario (duration %v)", p.End, s.Duration)
		case i > 0 && p.Start < prevEnd:
			return bad(at("start"), "%v is before the end of phases[%d] (%v): phases must be in time order and must not overlap", p.Start, i-1, prevEnd)
		}
		prevEnd = p.End
		for _, v := range []float64{p.Errors.From, p.Errors.To} {
			if err := checkRate(v); err != "" {
				return bad(at("errors"), "%s", err)
			}
		}
		if p.Latency.From < 0 || p.Latency.To < 0 {
			return bad(at("latency"), "must not be negative, got %v to %v", p.Latency.From, p.Latency.To)
		}
	}
	return nil
}

func checkRate(v float64) string {
	if !(v >= 0 && v <= 1) {
		return "must be a fraction in [0, 1], got " + strconv.FormatFloat(v, 'g', -1, 64)
	}
	return ""
}

// checkName accepts names that are safe as file names on every system.
func checkName(name string) error {
	if name == "" {
		return errors.New("must not be empty")
	}
	if len(name) > 64 {
		return fmt.Errorf("must be at most 64 characters, got %d", len(name))
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			i > 0 && (r == '-' || r == '_' || r == '.')
		if !ok {
			return fmt.Errorf("%q is not allowed at position %d: use letters, digits, and '-', '_' or '.' after the first character", r, i+1)
		}
	}
	return nil
}

// openTimeout returns how long the scenario's breaker stays open:
// OpenTimeout, or the breaker's default for 0.
func (s *Scenario) openTimeout() time.Duration {
	if s.OpenTimeout == 0 {
		return breaker.DefaultOpenTimeout
	}
	return s.OpenTimeout
}

// conditions returns the error rate and mean latency at time t, in phase i
// (or the baseline for -1).
func (s *Scenario) conditions(t time.Duration, i int) (errRate float64, latency float64) {
	if i < 0 {
		return s.Errors, float64(s.Latency)
	}
	p := &s.Phases[i]
	f := float64(t-p.Start) / float64(p.End-p.Start)
	return p.Errors.at(f), p.Latency.at(f)
}
