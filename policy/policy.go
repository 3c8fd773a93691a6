package policy

import (
	"errors"
	"sync/atomic"
	"time"
)

// Call is one finished call, as the breaker reports it to a [Policy].
//
// Only Failed is always set. The breaker reads its clock only for policies
// that ask for it (see [Needer]): At is the zero time unless the policy needs
// [NeedTime], and Duration is zero unless it needs [NeedDuration].
type Call struct {
	// Failed is true when the call was classified as a failure.
	Failed bool
	// At is when the call finished. Set only for policies that need NeedTime.
	At time.Time
	// Duration is how long the call ran. Set only for policies that need
	// NeedDuration.
	Duration time.Duration
}

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
// policies refuse to be shared (see [Claimer]); custom policies should do the
// same or document why sharing is harmless.
//
// Beyond these two methods a policy may implement the optional interfaces
// [Needer], [Validator], [Claimer] and [ProbeJudge], which the breaker
// discovers by type assertion when it is built.
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
// reads its clock only when some policy needs it.
type Needs uint8

const (
	// NeedTime asks the breaker to set Call.At.
	NeedTime Needs = 1 << iota
	// NeedDuration asks the breaker to set Call.Duration.
	NeedDuration
)

// Needer is implemented by policies that read Call.At or Call.Duration.
// A policy that does not implement it gets neither, and the breaker does not
// read its clock for calls made while the circuit is closed.
type Needer interface {
	Needs() Needs
}

// Validator is implemented by policies whose arguments can be invalid.
// breaker.New calls Validate once and refuses a policy that returns an
// error, so that a bad argument is reported when the breaker is built, not
// discovered as a silently wrong breaker later.
type Validator interface {
	Validate() error
}

// Claimer is implemented by policies that must belong to a single breaker.
// breaker.New calls Claim once; a second Claim returns [ErrShared], and the
// second breaker is not built.
type Claimer interface {
	Claim() error
}

// ProbeJudge is implemented by policies that judge a half-open probe by
// more than its outcome. A Policy only watches the closed circuit; without
// a judge, the breaker counts a probe that Classify calls a success as a
// success. A slow-call policy must say otherwise: a probe that succeeded
// slowly shows the dependency is still degraded, and closing on it opens
// the circuit again as soon as the policy has seen enough slow calls.
//
// ProbeFailed reports whether a half-open probe that finished as c counts
// as a failure. c.Failed is Classify's verdict, and c.At and c.Duration are
// set as for Record, by what the policy [Needer] asks for. The breaker asks
// only about probes that Classify called a success: a failed probe stays
// failed, and an ignored one counts for nothing. A probe judged failed
// opens the circuit again, as any failed probe does. ProbeFailed is called
// from as many goroutines as there are probes in flight, with no lock held;
// it must be safe for concurrent use and should not change the policy's
// state. If it panics, the probe counts as failed and the panic reaches
// the caller that reported the probe.
//
// [Slow], [Any] and [All] implement it; use [ProbeFailed] to ask any
// policy.
type ProbeJudge interface {
	ProbeFailed(c Call) bool
}

// ErrShared is returned by Claim when a policy already belongs to a breaker.
var ErrShared = errors.New("policy: already used by another breaker; give each breaker its own policy")

// NeedsOf returns what p needs: p.Needs() when p is a [Needer], else zero.
func NeedsOf(p Policy) Needs {
	if n, ok := p.(Needer); ok {
		return n.Needs()
	}
	return 0
}

// Validate returns p.Validate() when p is a [Validator], else nil.
func Validate(p Policy) error {
	if v, ok := p.(Validator); ok {
		return v.Validate()
	}
	return nil
}

// Claim returns p.Claim() when p is a [Claimer], else nil.
func Claim(p Policy) error {
	if c, ok := p.(Claimer); ok {
		return c.Claim()
	}
	return nil
}

// owner is embedded by the built-in policies to implement [Claimer].
// The zero value is unclaimed.
type owner struct {
	claimed atomic.Bool
}

// Claim marks the policy as used by one breaker; a second call returns
// ErrShared.
func (o *owner) Claim() error {
	if !o.claimed.CompareAndSwap(false, true) {
		return ErrShared
	}
	return nil
}

// argError reports an invalid argument of a policy constructor.
type argError struct {
	policy, arg, why string
}

func (e *argError) Error() string {
	return "policy: " + e.policy + ": " + e.arg + " " + e.why
}
