package peers

import (
	"context"

	"github.com/streadway/handy/breaker"
)

// HandyRatio is the failure ratio Handy trips above.
const HandyRatio = 0.5

// Handy is streadway/handy/breaker, used through its Breaker interface the
// way its HTTP Handler and Transport use it: Allow, call, then Success or
// Failure.
//
// Configuration: NewBreaker(HandyRatio). It can be configured no further:
// its WithCooldown, WithWindow and WithMinObservation change a copy of the
// settings after the breaker's goroutine has taken its own, so they do
// nothing. The defaults therefore hold: it trips once more than 10 calls
// were seen in a rolling 5 s window and more than half of them failed, stays
// open 1 s (not 60), and lets one probe through (not 3), closing on its
// success.
//
// Differences: every Allow, Success and Failure is a channel round trip to
// the breaker's own goroutine, which serialises all callers and is never
// stopped. Durations are reported as 0: the breaker does not use them to
// decide. Allow answers a bool, so a rejection returns ErrRejected. Its
// trip function is unexported: Trip fails calls. Because it stays open only
// 1 s, its open-rejection benchmark must run for less than that (run.sh's
// -benchtime stays well below).
type Handy struct {
	b breaker.Breaker
}

// NewHandy returns a closed Handy.
func NewHandy(Scenario) *Handy {
	return &Handy{b: breaker.NewBreaker(HandyRatio)}
}

// Run asks Allow, calls t, and reports the outcome.
func (a *Handy) Run(ctx context.Context, t *Target) (int, error) {
	if !a.b.Allow() {
		return 0, ErrRejected
	}
	r, err := t.Ctx(ctx)
	if err != nil {
		a.b.Failure(0)
	} else {
		a.b.Success(0)
	}
	return r, err
}

// Trip fails calls until the circuit opens.
func (a *Handy) Trip() error { return tripByFailing(a) }

// Closed reports whether Allow lets calls through. While the circuit is
// closed or open, asking changes nothing; half-open, it would use up the
// one probe, but nothing here keeps a circuit open for its full 1 s.
func (a *Handy) Closed() bool { return a.b.Allow() }
