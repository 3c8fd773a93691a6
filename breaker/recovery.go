package breaker

import (
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/internal/fsm"
	"github.com/tripwire-go/tripwire/policy"
)

// ErrRampUp is wrapped, beside ErrOpen, by the error of a call rejected by
// a ramp-up after a close (Config.RampUp): the circuit is closed, and lets
// a rising share of calls through. Test for it with errors.Is to tell such
// a rejection from one of an open circuit; [RetryAfter] gives a short wait
// for both.
var ErrRampUp = errors.New("breaker: circuit ramping up after close")

// RampFloor is the share of calls a ramp-up admits right after the close;
// it rises in a straight line to all calls at the end of Config.RampUp:
//
//	share(t) = RampFloor + (1 - RampFloor) · t / RampUp
//
// A line asks the dependency for the same increment of load every second,
// where a curve that is steep at its end would ask for most of it at once.
// Which calls are let through is decided by counting, not by chance: of
// any run of calls, the share is let through to within one call.
const RampFloor = 0.1 // fsm.RampFloor; TestRampFloorIsTheMachines keeps them equal

// RetryAfterer is implemented by an error that carries how long its
// dependency asked its callers to wait: an HTTP 429 or 503 with a
// Retry-After header, a gRPC status with RetryInfo. With
// Config.MaxRetryAfter set, a failed call whose error (or one it wraps)
// implements it opens the circuit for that long, clamped; a zero or
// negative RetryAfter asks for nothing.
type RetryAfterer interface {
	RetryAfter() time.Duration
}

// recovery is what a core keeps for ramp-ups and retry-after opens.
type recovery struct {
	ramp          time.Duration
	maxRetryAfter time.Duration
	// asked is the last open period a dependency asked for, kept for the
	// evidence of the transition it caused.
	asked atomic.Pointer[askedOpen]
	// rampErr and shedErr are the rejections of a ramp and of the
	// shedder, built once per generation, apart from core.rejection so
	// that a breaker with both does not rebuild one for the other.
	rampErr, shedErr atomic.Pointer[OpenError]
}

// askedOpen is an open period a dependency asked for: its transition's
// generation, what was asked and what was granted.
type askedOpen struct {
	gen        uint64
	asked, got time.Duration
}

// Ramping reports whether the call was rejected by a ramp-up after a close
// (Config.RampUp): the circuit is closed and lets a share of calls
// through, so a retry soon is likely to pass.
func (e *OpenError) Ramping() bool { return e.ramp }

// Throttled reports whether the call was shed by the policy's throttle
// (policy.Throttle, or any policy.Shedder): the circuit is closed and
// lets most calls through.
func (e *OpenError) Throttled() bool { return e.shed }

// Is reports whether target is ErrRampUp and e a ramp-up's rejection, or
// ErrThrottled and e a shed call's; Unwrap gives ErrOpen for every
// rejection.
func (e *OpenError) Is(target error) bool {
	return e.ramp && target == ErrRampUp || e.shed && target == ErrThrottled
}

// ErrThrottled is wrapped, beside ErrOpen, by the error of a call that the
// policy's throttle shed (see policy.Shedder): the circuit is closed and
// sheds a share of the calls while the dependency struggles.
var ErrThrottled = errors.New("breaker: call shed by the throttle")

// shedRejection returns the error for a call under the closed word w that
// the shedder shed, building it once per generation. Its RetryAfter is
// HalfOpenRetryAfter: the share shed changes with every call that runs.
func (c *core) shedRejection(w fsm.Word) error {
	c.rejected()
	if e := c.rec.shedErr.Load(); e != nil && e.gen == w.Gen() {
		return e
	}
	e := &OpenError{name: c.name, state: Closed, shed: true, gen: w.Gen(), fast: noWord, counted: noWord, hint: HalfOpenRetryAfter}
	circuit := "circuit"
	if c.name != "" {
		circuit += " " + strconv.Quote(c.name)
	}
	e.msg = "breaker: " + circuit + " shed the call: the throttle sheds load while the dependency fails"
	c.rec.shedErr.Store(e)
	return e
}

// rampRejection returns the error for a call under the ramping word w that
// the ramp did not admit, building it once per ramp.
func (c *core) rampRejection(w fsm.Word) error {
	c.rejected()
	if e := c.rec.rampErr.Load(); e != nil && e.gen == w.Gen() {
		return e
	}
	e := &OpenError{name: c.name, state: Closed, ramp: true, gen: w.Gen(), fast: noWord, counted: noWord, hint: HalfOpenRetryAfter}
	circuit := "circuit"
	if c.name != "" {
		circuit += " " + strconv.Quote(c.name)
	}
	if r := c.m.RampOf(w); r != nil {
		e.until = r.End()
	}
	e.msg = "breaker: " + circuit + " ramping up after close until " + e.until.Format(time.RFC3339Nano)
	c.rec.rampErr.Store(e)
	return e
}

// retryAfterOf returns the retry time err carries, if any.
func retryAfterOf(err error) (time.Duration, bool) {
	var ra RetryAfterer
	if err == nil || !errors.As(err, &ra) {
		return 0, false
	}
	d := ra.RetryAfter()
	return d, d > 0
}

// done counts the outcome o of a call admitted with t that returned err: a
// failure whose error carries a retry time opens the circuit for it, when
// the breaker honours them; any other goes to finish.
func (c *core) done(t ticket, o Outcome, err error) {
	if t.obs != nil {
		c.observeEnd(t, o, err, false)
		return
	}
	if !c.honoursAsk(t, o) {
		c.finish(t, o)
		return
	}
	asked, ok := retryAfterOf(err)
	if !ok {
		c.finish(t, o)
		return
	}
	c.openAsked(t, asked)
}

// honoursAsk reports whether the breaker honours an open period asked by
// the error of a call admitted with t that ended o: a failure (or an
// out-of-range outcome, which counts as one) under a word neither open
// nor muted. Apart from retryAfterOf so that it inlines: most calls end
// here, and a call more cost each of them.
func (c *core) honoursAsk(t ticket, o Outcome) bool {
	return c.rec.maxRetryAfter > 0 && (o == Failure || o > Ignored) && t.w.State() != fsm.Open && !t.w.Muted()
}

// openAsked opens the circuit, for the call admitted with t, for the
// period asked, clamped to MaxRetryAfter.
func (c *core) openAsked(t ticket, asked time.Duration) {
	c.count(Failure)
	got := min(asked, c.rec.maxRetryAfter)
	now := c.clock.Now()
	w := t.w
	if w.State() == fsm.HalfOpen && t.gate != nil {
		t.gate.g.ProbeDone(w.Gen(), t.probe, Failure)
	}
	opened := false
	defer func() {
		if !opened && w.State() == fsm.HalfOpen {
			c.m.Release(w, fsm.Ignored, now)
		}
		c.flush()
	}()
	opened = c.m.OpenAsked(w, got, now, func(gen uint64) {
		c.rec.asked.Store(&askedOpen{gen: gen, asked: asked, got: got})
	})
}

// askedDetail returns, for a transition of generation gen opened for a
// period its dependency asked for, the account of that period.
func (c *core) askedDetail(gen uint64) (string, bool) {
	a := c.rec.asked.Load()
	if a == nil || a.gen != gen {
		return "", false
	}
	s := "open period " + a.asked.String() + " asked by the dependency (retry-after)"
	if a.got != a.asked {
		s += ", clamped to " + a.got.String()
	}
	return s, true
}

// explainRecovery completes e, the evidence of t, for an open period a
// dependency asked for (its Account, for a closed circuit, has the rule
// "retry-after") and for a close that starts a ramp-up.
func (c *core) explainRecovery(t *Transition, e *Evidence) {
	switch {
	case t.To == Open && (t.Cause == CausePolicy || t.Cause == CauseProbe):
		d, ok := c.askedDetail(t.Generation)
		if !ok {
			return
		}
		e.Account = nil // the policy did not decide: the dependency did
		if t.Cause == CausePolicy {
			// A fixed rule word, as Metrics.TripRule and the exporters'
			// labels want; the text says the rest.
			e.Account = &policy.Account{Rule: "retry-after", Tripped: true, Text: d}
		}
		e.Detail = d
		e.Text = d
		if n := len(e.Failures); n > 0 {
			e.Text += "; last failure: " + e.Failures[n-1].Error
		}
	case t.To == Closed && t.Cause == CauseProbe && c.rec.ramp > 0:
		e.Detail += "; ramping up over " + c.rec.ramp.String()
		e.Text = e.Detail
	}
}
