package policy

import (
	"errors"
	"time"
)

// Call is one finished call, as the breaker reports it to a [Policy].
//
// Only Failed is always set. The breaker reads its clock only for policies
// that ask for it when they are bound ([Binding.Need]): At is the zero time
// unless the policy needs [NeedTime], and the duration is set only if it
// needs [NeedDuration]. Both mistakes fail loudly at the first call rather
// than silently: a time window given the zero time panics, saying so (not
// by tripping on failures an hour apart), and [Call.Duration] panics,
// saying so, on a call whose duration was not measured (not by reading 0
// and never finding a call slow).
//
// The zero value is a successful call with no time and no duration. A
// test of a policy builds calls as a breaker would:
// Call{Failed: true, At: now}.WithDuration(2 * time.Second).
type Call struct {
	// Failed is true when the call was classified as a failure.
	Failed bool
	// At is when the call finished. Set only for policies that need
	// NeedTime; for one that asked for it with [Binding.NeedTimeWithin],
	// it may be that much earlier.
	At time.Time
	// took is how long the call ran, when timed is set.
	took  time.Duration
	timed bool
}

// Duration returns how long the call ran. The breaker measures it only
// for a policy that asks for it when it is bound ([NeedDuration]); on a
// call it did not measure, Duration panics with a message that says so,
// as a time window given the zero time does: a policy that forgot to ask
// fails at its first call instead of never finding a call slow.
func (c Call) Duration() time.Duration {
	if !c.timed {
		panic("policy: Call.Duration read, but the call's duration was not measured: the policy must ask for it in its Bind method with b.Need(policy.NeedDuration) (in a test, build the Call with WithDuration)")
	}
	return c.took
}

// WithDuration returns c with its duration set to d, as the breaker sets
// it for a policy that needs [NeedDuration]. Tests of a policy use it to
// build the calls they record.
func (c Call) WithDuration(d time.Duration) Call {
	c.took, c.timed = d, true
	return c
}

// HasDuration reports whether c's duration was measured, that is whether
// [Call.Duration] returns it rather than panicking. A policy that reads
// the duration only when it is there (a wrapper that logs calls) asks
// this first.
func (c Call) HasDuration() bool { return c.timed }

// A Policy decides when a closed circuit opens.
//
// The breaker calls Record once for every finished call that was made while
// the circuit was closed and that was not classified as ignored, from as many
// goroutines as there are concurrent calls: implementations must be safe for
// concurrent use. When Record returns true the circuit opens. The breaker
// calls Reset when the circuit closes again, and when the user resets it.
//
// A Policy holds the state of one circuit. Give every breaker its own value:
// a policy shared by two breakers would mix their calls. The built-in
// policies refuse to be shared (see [Bind]); custom policies should do the
// same or document why sharing is harmless.
//
// What a policy needs from the breaker, and what it promises, are its
// terms: a policy states them in a Bind method ([Binder]), which
// breaker.New calls once through [Bind]. A wrapper keeps the terms of what
// it wraps by implementing Unwrap ([Unwrapper]); one that hides a policy
// with terms is refused by breaker.New. The package documentation says
// why.
//
// Record and Reset should not panic. If one does, the panic reaches the
// caller of the breaker method that called it, the breaker holds no lock
// afterwards and stays usable, and its state stays consistent:
//   - a panic in Record loses that one call: the policy does not count it
//     and the circuit stays as it was;
//   - a panic in Reset stops the circuit from closing: Breaker.Reset leaves
//     it in the state it was in, with no transition reported, and a probe
//     whose success would have closed it leaves it half-open, where the
//     next successful probe tries to close it again.
type Policy interface {
	// Record counts one finished call and reports whether the circuit
	// should open now.
	Record(c Call) (trip bool)
	// Reset forgets everything recorded.
	Reset()
}

// Needs says which fields of [Call] a policy reads, so that the breaker
// reads its clock only when some policy needs it. A policy states its
// needs when it is bound ([Binding.Need]).
type Needs uint8

const (
	// NeedTime asks the breaker to set Call.At.
	NeedTime Needs = 1 << iota
	// NeedDuration asks the breaker to measure each call, for
	// [Call.Duration].
	NeedDuration
)

// A ProbeJudge judges a half-open probe by more than its outcome. A policy
// names its judge when it is bound ([Binding.JudgeProbes]); it is not
// found by type assertion, so no wrapper can drop it. A Policy only watches the closed circuit; without
// a judge, the breaker counts a probe that Classify calls a success as a
// success. A slow-call policy must say otherwise: a probe that succeeded
// slowly shows the dependency is still degraded, and closing on it opens
// the circuit again as soon as the policy has seen enough slow calls.
//
// ProbeFailed reports whether a half-open probe that finished as c counts
// as a failure. c.Failed is Classify's verdict, and c.At and c.Duration() are
// set as for Record, by what the policy's terms ask for. The breaker asks
// only about probes that Classify called a success: a failed probe stays
// failed, and an ignored one counts for nothing. A probe judged failed
// opens the circuit again, as any failed probe does. ProbeFailed is called
// from as many goroutines as there are probes in flight, with no lock held;
// it must be safe for concurrent use and should not change the policy's
// state. If it panics, the probe counts as failed and the panic reaches
// the caller that reported the probe.
//
// [Slow] judges probes, and so do [Any] and [All] when their children do;
// [Terms.ProbeFailed] asks the judge a policy's terms name, if any.
type ProbeJudge interface {
	ProbeFailed(c Call) bool
}

// ErrShared is returned by Bind when a policy already belongs to a breaker.
var ErrShared = errors.New("policy: already used by another breaker; give each breaker its own policy")

// ArgError reports an invalid argument of a policy constructor, or a
// policy whose shape would hide another one's terms (see [Bind]). It is the
// shape of every configuration error of tripwire: breaker.New wraps it in
// a breaker.ConfigError whose Field is "Policy." followed by [ArgError.Arg].
type ArgError struct {
	// Field names the argument, after the constructor it was given to,
	// as written in Go: "Rate.ratio", "Window.over", and for a child of a
	// combinator "Any.ps[1].Window.failures".
	Field string
	// arg is Field without the constructors' names: "ratio",
	// "ps[1].failures".
	arg     string
	problem string
	err     error // wrapped: ErrShared for a shared child
}

// Problem says what is wrong with the argument, without naming it.
func (e *ArgError) Problem() string { return e.problem }

// Arg returns the argument's path without the constructors' names:
// "ratio", "ps[1].failures". It is empty when the policy as a whole is at
// fault.
func (e *ArgError) Arg() string { return e.arg }

func (e *ArgError) Error() string { return "policy: " + e.Field + ": " + e.problem }

// Unwrap returns the error this one reports on, if any: [ErrShared] for a
// child of a combinator that belongs to another breaker.
func (e *ArgError) Unwrap() error { return e.err }

// NewArgError returns the error a policy's Bind method reports for a bad
// argument: arg of the constructor named policy, and what is wrong with
// it. NewArgError("Debt", "limit", "must be at least 1, got 0") reads
// "policy: Debt.limit: must be at least 1, got 0", and breaker.New reports
// it with the Field "Policy.limit", as it does for the built-in policies.
// An empty policy or arg is left out of Field.
func NewArgError(policy, arg, problem string) *ArgError {
	if policy == "" || arg == "" {
		return &ArgError{Field: policy + arg, arg: arg, problem: problem}
	}
	return argError(policy, arg, problem)
}

// argError reports the argument arg of the constructor policy.
func argError(policy, arg, problem string) *ArgError {
	return &ArgError{Field: policy + "." + arg, arg: arg, problem: problem}
}
