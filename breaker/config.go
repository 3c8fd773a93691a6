package breaker

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/policy"
)

// Defaults used for the zero values of [Config].
const (
	// DefaultFailures is the threshold of the default policy,
	// policy.Consecutive(DefaultFailures).
	DefaultFailures = 5
	// DefaultOpenTimeout is how long a circuit stays open when
	// Config.OpenTimeout is zero.
	DefaultOpenTimeout = 60 * time.Second
	// DefaultHalfOpenProbes is the number of half-open probes when
	// Config.HalfOpenProbes is zero.
	DefaultHalfOpenProbes = 3
	// NoProbeTimeout, as Config.ProbeTimeout, lets half-open probes hold
	// their slots for as long as they run. The default (0) is OpenTimeout.
	NoProbeTimeout time.Duration = -1
	// MaxHalfOpenProbes is the largest Config.HalfOpenProbes accepted.
	MaxHalfOpenProbes = 65535
)

// Config configures a [Breaker]. The zero value is a valid configuration:
// every zero field means its documented default.
type Config[T any] struct {
	// Name identifies the breaker in errors and in OnStateChange. Optional.
	Name string

	// Policy decides when the closed circuit opens. nil means
	// policy.Consecutive(DefaultFailures). A policy holds the state of one
	// circuit: give each breaker its own; New rejects a built-in policy that
	// another breaker already uses. A custom policy that panics leaves the
	// breaker usable and consistent; policy.Policy says what each panic
	// costs.
	//
	// The breaker calls the policy with no lock held. A call admitted before
	// a Reset never reaches the policy after it: the Reset waits for the
	// results already inside Record, and calls that run while it resets the
	// policy are not recorded. So Record must not call the breaker's Reset,
	// Adopt, Reconfigure or Done of a probe (they may wait for that Record),
	// and Reset may call Metrics, State, Trip and the like, but not Reset,
	// Adopt or Reconfigure, or report a probe.
	Policy policy.Policy

	// OpenTimeout is how long the circuit stays open before it lets probes
	// through. 0 means DefaultOpenTimeout (60s); negative is invalid.
	OpenTimeout time.Duration

	// HalfOpenProbes is the most probe calls in flight while half-open;
	// unless CloseAfter says otherwise, that many successful probes close
	// the circuit. 0 means DefaultHalfOpenProbes (3); negative or above
	// MaxHalfOpenProbes is invalid.
	HalfOpenProbes int

	// CloseAfter is the number of successful probes that close a half-open
	// circuit, counted over the half-open period whatever their overlap:
	// with HalfOpenProbes 1 and CloseAfter 3, three probes run one after
	// the other and the third success closes the circuit. A failed probe
	// opens it again at once, whatever the count. 0 means HalfOpenProbes;
	// negative or above MaxHalfOpenProbes is invalid.
	CloseAfter int

	// Classify decides how a finished call counts. nil means: a nil error
	// is a Success, any other error a Failure. Use it to count results by
	// value (an HTTP 503 with a nil error) or to ignore errors that say
	// nothing about the dependency's health (a 404, a validation error).
	//
	// Before Classify, and whether it is set or not, Execute applies the
	// caller-cancellation rule: an error that is context.Canceled while the
	// caller's context is done is Ignored (the caller gave up; the
	// dependency did nothing wrong), and Classify is not called for it.
	// Permit.Done has no context and applies no such rule: a caller that
	// gave up calls Permit.Release instead.
	//
	// The zero Outcome is Failure, and a value other than Success, Failure
	// or Ignored counts as a Failure too; so does the call when Classify
	// panics, and the panic then goes on up to the caller of Execute or
	// Done.
	Classify func(result T, err error) Outcome

	// OnStateChange, when set, is called once after each transition, in
	// order and with no lock held, so it may call the breaker. With a single
	// caller it has run before the call that caused the transition returns.
	//
	// One exception keeps the order: a call made from inside a callback
	// (OnStateChange, OnTransition or a Subscribe listener) that causes a
	// transition returns before that transition's callbacks run, since they
	// must not start while the current one is still running. They run right
	// after the current callback returns, on the same goroutine, before the
	// call that caused the current transition returns. So a callback that
	// calls Reset sees State() == Closed on its return, but its own
	// open>closed callback has not run yet.
	//
	// If it panics the panic reaches that caller; the transition has
	// happened all the same, and transitions queued behind it are delivered,
	// in order, by the next call that delivers transitions.
	OnStateChange func(name string, from, to State)

	// OnTransition, when set, is called for each transition with its
	// details: why it happened (Cause), the manual mode in force, the
	// generation, when, and until when an open circuit stays open. It is
	// called like OnStateChange, from the same ordered queue, right after
	// it. It also sees the changes that OnStateChange does not, because the
	// state stays the same: ForceOpen or TripFor of an open circuit,
	// Disable or Reset of a disabled one. See [Transition].
	OnTransition func(Transition)

	// Backoff, when set, lengthens the open period after repeated trips.
	// nil means every open period lasts OpenTimeout.
	Backoff *Backoff

	// ProbeTimeout bounds how long half-open probes may hold their slots:
	// once every slot has been busy for ProbeTimeout with no probe admitted
	// or finished, the slots are reclaimed, the probes still in flight are
	// forgotten (their results change nothing), and new probes are let in.
	// It keeps a circuit from staying half-open, rejecting every call,
	// forever behind probes that hang or permits that are never reported.
	// 0 means OpenTimeout: a probe may take as long as the dependency was
	// given to recover. NoProbeTimeout (any negative value) turns it off:
	// probes then hold their slots for as long as they run. With a
	// ProbeTimeout, half-open calls read the clock.
	ProbeTimeout time.Duration

	// Clock is where the breaker reads the time. nil means the real clock.
	// A *clock.Mock from github.com/benbjohnson/clock satisfies it, for
	// tests. With a clock of your own the breaker reads it on every call
	// made while the circuit is open; with the real clock it arms a timer
	// for the end of each open period instead, so that rejected calls read
	// no clock at all.
	Clock Clock

	// CountCalls makes the breaker count calls by outcome (successes,
	// failures, ignored and rejected calls) for [Breaker.Metrics] and the
	// exporters built on it. Off by default: counting writes memory on
	// every call, which a breaker without it avoids on its fastest paths (a
	// success while closed, a rejection while open). The counts are sharded
	// over a few cache lines (at most 1 KiB per breaker) so that cores do
	// not contend for one.
	CountCalls bool

	// DescribeError turns the error of a failed call into the text kept
	// in a transition's evidence ([Evidence.Failures]). nil means
	// [DescribeError]: the error's text cut to MaxErrorText bytes. Replace
	// it to keep secrets out of logs, or to name a failure better; what it
	// returns is cut to MaxErrorText too. It is called only when a
	// transition is delivered, with no lock held, never on a call's path.
	DescribeError func(error) string

	// RampUp, when positive, is how long after probes close the circuit it
	// admits only a rising share of calls, from RampFloor (10%) to all of
	// them in a straight line; the others are rejected with an error that
	// wraps both ErrOpen and ErrRampUp. Use it for a dependency that comes
	// back with part of its capacity and would fail again under all of its
	// traffic at once. Calls the ramp rejects never reach the policy; those
	// it admits are judged by it as usual, and a trip ends the ramp. A close
	// by Reset (or Adopt) starts no ramp, and a Reconfigure ends one in
	// progress (it keeps RampUp, which Settings do not carry). 0 means
	// none; negative is invalid.
	RampUp time.Duration

	// MaxRetryAfter, when positive, lets a failed call open the circuit for
	// as long as the dependency asked: when the call's error (or one it
	// wraps) implements [RetryAfterer] with a positive RetryAfter, the
	// circuit opens at once for that long, at most MaxRetryAfter, without
	// waiting for the policy and without stepping the Backoff. httpbreaker
	// and grpcbreaker report a 429 or 503's Retry-After and a gRPC
	// RetryInfo so. The cap keeps a server that asks for hours from cutting
	// its clients off for hours. Reconfigure keeps it. 0 means results'
	// retry times are not honoured; negative is invalid.
	MaxRetryAfter time.Duration

	// Shadows are candidate configurations that run beside the policy,
	// observe-only, on the calls the breaker lets run: each decides what
	// it would have done (tripped, rejected, probed, closed) and reports
	// it, and none rejects, delays or changes a call. See [Shadow] and
	// docs/shadow.md. Their transitions reach OnTransition marked
	// (Transition.Shadow, Transition.Candidate), never OnStateChange,
	// whose signature cannot mark them, nor Subscribe's listeners;
	// [Breaker.Shadows] reports what each did, and
	// [Breaker.ReconfigureShadows] replaces them while the breaker runs.
	// At most MaxShadows. A
	// breaker with candidates takes the slower path of its calls (an
	// admission, a clock read or two and each candidate's decision per
	// call); one without pays nothing for this field.
	Shadows []Shadow

	// ShadowOnly makes the breaker's own policy observe-only: it records,
	// decides and reports as usual (State, transitions, Metrics), but
	// rejects nothing: every call runs, whatever the state or the manual
	// mode, even when forced open. A call it would have rejected runs and
	// counts for nothing, as it would not have run; Metrics counts it in
	// WouldReject and says ShadowOnly. Its transitions are marked
	// Transition.Shadow. Use it to try a breaker on live traffic before
	// trusting it to reject.
	ShadowOnly bool

	// OnCall, when set, is called for every call the breaker let run, once
	// the call has ended and been counted, with when it started and ended
	// and how it counted: a hook to record live traffic, such as the lab's
	// TraceWriter, which writes it in the lab's trace format. It is called
	// with no lock held; a panic in it goes on up to the caller that
	// reported the call. Like Shadows it sends every call through the
	// slower path; nil costs nothing.
	OnCall func(CallRecord)
}

// Clock tells the time. Library code reads time only through it, so that
// tests can drive a breaker with a mock clock.
type Clock interface {
	Now() time.Time
}

// realClock is the real time at half the price of time.Now, which reads
// two clocks (wall and monotonic) where one will do: it reads the monotonic
// clock alone (time.Since) and adds it to a base taken with time.Now. The
// breaker compares times by their monotonic readings, which are exact; the
// wall time it reports (OpenError.Until, Metrics) follows the system clock
// to within what the clock can be slewed in rebaseEvery, under a
// millisecond, because the base is taken again that often. On this
// project's benchmark machines time.Now costs ~68 ns and this Now ~52 ns
// (BenchmarkClock), and the time-window policies read the clock on every call.
type realClock struct {
	base atomic.Pointer[time.Time]
}

// rebaseEvery is how often realClock takes a new base from time.Now.
const rebaseEvery = time.Second

func newRealClock() *realClock {
	c := &realClock{}
	now := time.Now()
	c.base.Store(&now)
	return c
}

func (c *realClock) Now() time.Time {
	base := c.base.Load()
	if d := time.Since(*base); d >= 0 && d < rebaseEvery {
		return base.Add(d)
	}
	now := time.Now()
	c.base.Store(&now)
	return now
}

// ErrInvalidConfig is wrapped by every error New returns. The error's text
// names the field or policy argument at fault.
var ErrInvalidConfig = errors.New("breaker: invalid config")

// ConfigError is the error New returns for an invalid Config. It wraps
// ErrInvalidConfig and, when a policy rejected its own arguments, the
// policy's error. Use errors.As with it to learn which field is at fault
// without reading the message, as a tool that maps fields to its own
// settings does.
type ConfigError struct {
	// Field is the Config field at fault, as written in Go: "OpenTimeout",
	// "HalfOpenProbes", "ProbeTimeout", "Backoff.Max", "Clock", "Policy"...
	Field string

	why   string
	cause error
}

// Problem says what is wrong with the field, without naming it.
func (e *ConfigError) Problem() string {
	if e.cause != nil {
		return e.cause.Error()
	}
	return e.why
}

// Error names the field and says what is wrong with it.
func (e *ConfigError) Error() string {
	if e.cause != nil {
		return "breaker: invalid config: " + e.Field + ": " + e.cause.Error()
	}
	return "breaker: invalid config: " + e.Field + " " + e.why
}

// Unwrap returns ErrInvalidConfig and, if a policy rejected its
// arguments, the policy's error.
func (e *ConfigError) Unwrap() []error {
	if e.cause != nil {
		return []error{ErrInvalidConfig, e.cause}
	}
	return []error{ErrInvalidConfig}
}

// settings is a validated Config with its defaults filled in: what the
// non-generic core of a Breaker needs.
type settings struct {
	name          string
	policy        policy.Policy
	terms         policy.Terms // what policy.Bind found the policy needs
	openTimeout   time.Duration
	probes        int
	closeAfter    int
	onStateChange func(name string, from, to State)
	onTransition  func(Transition)
	clock         Clock
	exactClock    bool
	backoff       *Backoff
	probeTimeout  time.Duration
	countCalls    bool
	describeError func(error) string
	rampUp        time.Duration
	maxRetryAfter time.Duration
	text          string // Settings.Text, for Reconfigure
	// What the observers need; see shadow.go.
	shadows    []shadowSettings
	shadowOnly bool
	onCall     func(CallRecord)
}

func (c Config[T]) validate() (settings, error) {
	s, err := c.fields()
	if err != nil {
		return s, err
	}
	if err := c.checkShadows(&s); err != nil {
		return s, err
	}
	// Bind last: it claims the policies, and a Config rejected for another
	// field must not use them up. It checks the policies' arguments first.
	err = s.bind()
	return s, err
}

// fields checks every field of c but the observers' (Shadows, ShadowOnly,
// OnCall) and fills in the defaults, without binding the policy.
func (c Config[T]) fields() (settings, error) {
	s := settings{
		name:          c.Name,
		policy:        c.Policy,
		openTimeout:   c.OpenTimeout,
		probes:        c.HalfOpenProbes,
		closeAfter:    c.CloseAfter,
		onStateChange: c.OnStateChange,
		onTransition:  c.OnTransition,
		clock:         c.Clock,
		probeTimeout:  c.ProbeTimeout,
		countCalls:    c.CountCalls,
		describeError: c.DescribeError,
		rampUp:        c.RampUp,
		maxRetryAfter: c.MaxRetryAfter,
	}
	if c.RampUp < 0 {
		return s, &ConfigError{Field: "RampUp", why: "must not be negative, got " + c.RampUp.String()}
	}
	if c.MaxRetryAfter < 0 {
		return s, &ConfigError{Field: "MaxRetryAfter", why: "must not be negative, got " + c.MaxRetryAfter.String()}
	}
	if c.OpenTimeout < 0 {
		return s, &ConfigError{Field: "OpenTimeout", why: "must not be negative, got " + c.OpenTimeout.String()}
	}
	if c.OpenTimeout == 0 {
		s.openTimeout = DefaultOpenTimeout
	}
	switch {
	case c.HalfOpenProbes < 0:
		return s, &ConfigError{Field: "HalfOpenProbes", why: "must not be negative, got " + strconv.Itoa(c.HalfOpenProbes)}
	case c.HalfOpenProbes > MaxHalfOpenProbes:
		return s, &ConfigError{Field: "HalfOpenProbes", why: fmt.Sprintf("must be at most %d, got %d", MaxHalfOpenProbes, c.HalfOpenProbes)}
	case c.HalfOpenProbes == 0:
		s.probes = DefaultHalfOpenProbes
	}
	switch {
	case c.CloseAfter < 0:
		return s, &ConfigError{Field: "CloseAfter", why: "must not be negative, got " + strconv.Itoa(c.CloseAfter)}
	case c.CloseAfter > MaxHalfOpenProbes:
		return s, &ConfigError{Field: "CloseAfter", why: fmt.Sprintf("must be at most %d, got %d", MaxHalfOpenProbes, c.CloseAfter)}
	case c.CloseAfter == 0:
		s.closeAfter = s.probes
	}
	switch {
	case c.ProbeTimeout < 0:
		s.probeTimeout = 0 // NoProbeTimeout: the machine reclaims nothing
	case c.ProbeTimeout == 0:
		s.probeTimeout = s.openTimeout
	}
	if c.Backoff != nil {
		bo := c.Backoff.withDefaults(s.openTimeout) // read once: later changes have no effect
		if err := bo.validate(s.openTimeout); err != nil {
			return s, err
		}
		s.backoff = &bo
	}
	if c.Clock == nil {
		s.clock = newRealClock()
	} else if isNilPointer(c.Clock) {
		return s, &ConfigError{Field: "Clock", why: fmt.Sprintf("is a nil %T", c.Clock)}
	} else {
		s.exactClock = true
	}
	if c.Policy == nil {
		s.policy = policy.Consecutive(DefaultFailures)
	} else if isNilPointer(c.Policy) {
		// A typed nil (a *T that is nil) is not a nil interface: calling
		// it would panic later, deep inside a call.
		return s, &ConfigError{Field: "Policy", why: fmt.Sprintf("is a nil %T", c.Policy)}
	}
	return s, nil
}

// policyError is the ConfigError for err, an error of policy.Bind: its
// Field names the policy's argument at fault, "Policy.ratio" or
// "Policy.ps[1].failures", when there is one.
func policyError(err error) *ConfigError {
	field := "Policy"
	var ae *policy.ArgError
	if errors.As(err, &ae) && ae.Arg() != "" {
		field += "." + ae.Arg()
	}
	return &ConfigError{Field: field, cause: err}
}

// isNilPointer reports whether v holds a nil pointer, map, slice, channel or
// function: a value whose methods are likely to panic.
func isNilPointer(v any) bool {
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func:
		return rv.IsNil()
	}
	return false
}
