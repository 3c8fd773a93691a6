package breaker

import (
	"errors"
	"strconv"
	"time"

	"github.com/tripwire-go/tripwire/internal/fsm"
)

// ErrOpen is wrapped by the error of every call the breaker rejects, in the
// open state and when every half-open probe slot is in use. Test for it with
// errors.Is; errors.As with an *OpenError tells when to retry, and so does
// [RetryAfter].
var ErrOpen = errors.New("breaker: circuit open")

// HalfOpenRetryAfter is the retry hint of a call rejected because every
// half-open probe slot was in use, unless the breaker's probe timeout
// (Config.ProbeTimeout, by default the open timeout) is shorter. A slot frees as soon as a probe finishes, which the breaker cannot
// foresee: a second is about as long as a probe of a networked dependency
// takes to answer or time out, so a caller that waits that long finds a free
// slot or a circuit that has closed or opened again, and callers that wait
// it do not spin.
const HalfOpenRetryAfter = time.Second

// OpenError is the error of a rejected call. It wraps ErrOpen. Get it with
// errors.As; its methods say why the call was rejected and when to try
// again.
//
// The breaker builds one OpenError per open (or half-open) period and
// returns the same pointer for every call it rejects then, so that
// rejecting a call allocates nothing. That is why an OpenError has no
// fields to set: what one caller reads, every later rejection says too. It
// is safe for concurrent use.
type OpenError struct {
	name   string
	state  State
	until  time.Time
	forced bool
	hint   time.Duration // RetryAfter of a half-open or ramp rejection
	ramp   bool          // rejected by a ramp-up: the circuit is closed
	shed   bool          // shed by the policy's throttle: the circuit is closed

	gen uint64
	msg string
	// fast is the one word under which a call may be rejected with this
	// error without further checks (see core.fastRejection), or noWord.
	// counted is the same for a breaker that counts calls, whose
	// rejections take one step more (see core.countedRejection).
	fast, counted fsm.Word
}

// noWord matches no state word: generations never get that high.
const noWord = ^fsm.Word(0)

// newOpenError returns the rejection of calls under w. until is when the
// open period of w ends (or ended), probes the number of probe slots,
// probeTimeout the probe timeout in force (0: none), and forced whether the circuit is
// forced open.
func newOpenError(name string, w fsm.Word, until time.Time, probes int, probeTimeout time.Duration, forced bool) *OpenError {
	e := &OpenError{name: name, state: State(w.State()), gen: w.Gen(), fast: noWord, counted: noWord}
	circuit := "circuit"
	if name != "" {
		circuit += " " + strconv.Quote(name)
	}
	switch {
	case e.state == HalfOpen:
		e.until = until
		e.hint = HalfOpenRetryAfter
		if probeTimeout > 0 {
			e.hint = min(probeTimeout, HalfOpenRetryAfter)
		}
		e.msg = "breaker: " + circuit + " half-open: all " + strconv.Itoa(probes) + " probe slots in use"
	case forced:
		e.forced = true
		e.msg = "breaker: " + circuit + " forced open"
	default:
		e.until = until
		e.msg = "breaker: " + circuit + " open until " + until.Format(time.RFC3339Nano)
	}
	return e
}

// Error says which circuit rejected the call and until when it is open.
func (e *OpenError) Error() string { return e.msg }

// Unwrap returns ErrOpen.
func (e *OpenError) Unwrap() error { return ErrOpen }

// Name returns the name of the breaker that rejected the call.
func (e *OpenError) Name() string { return e.name }

// State returns Open, or HalfOpen when the call was rejected because every
// half-open probe slot was in use, or Closed when a ramp-up after a close
// rejected it (see Ramping).
func (e *OpenError) State() State { return e.state }

// Forced reports whether the circuit was forced open (Breaker.ForceOpen):
// it stays open until someone resets it, so no retry time can be told and
// a retry loop should give up.
func (e *OpenError) Forced() bool { return e.forced }

// Until returns when the open period ends and probes are let through. For a
// half-open rejection it has passed already (see RetryAfter); for a forced
// one it is the zero time: no time is set.
func (e *OpenError) Until() time.Time { return e.until }

// RetryAfter returns how long after now a retry may be let through. It
// suits a Retry-After header.
//
// For a rejection of the open state it is the time left until the open
// period ends, and zero once it has ended. For a half-open rejection it is
// a hint, the same at any now: [HalfOpenRetryAfter], or the probe timeout
// (Config.ProbeTimeout, by default the open timeout) if that is shorter (by then a probe has finished and freed its slot, or
// the slots can be reclaimed). A forced open circuit has no retry time: RetryAfter
// returns zero and Forced true; the package-level [RetryAfter] checks both.
func (e *OpenError) RetryAfter(now time.Time) time.Duration {
	if e.state == HalfOpen {
		return e.hint
	}
	if e.ramp {
		return min(e.hint, max(e.until.Sub(now), 0))
	}
	if e.shed {
		return e.hint
	}
	if e.forced {
		return 0
	}
	return max(e.until.Sub(now), 0)
}
