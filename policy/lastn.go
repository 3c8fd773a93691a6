package policy

import (
	"strconv"

	"github.com/tripwire-go/tripwire/window"
)

// LastNPolicy trips when a large enough share of the last n calls failed.
// Build one with [LastN]; the zero value is not usable.
//
// It is safe for concurrent use. Record takes no lock and does not
// allocate, and the policy reads neither Call.At nor Call.Duration, so the
// breaker reads no clock for it.
type LastNPolicy struct {
	owner
	share
	n int64
	w *window.Last
}

// MaxLastN is the largest n that LastN accepts. Each verdict counts the set
// bits of two n-bit rings, so its cost grows with n/64: past this size a
// time window ([Rate]) is the better tool.
const MaxLastN = 1 << 16

// LastN returns a policy that trips when, of the last n calls (or of all
// calls since the last Reset while there were fewer), at least minCalls
// finished and failed/total >= ratio: LastN(0.5, 10, 100) opens the circuit
// once half of the last 100 calls failed, judging from the 10th call on.
// It is resilience4j's count-based sliding window.
//
// Use it when a dependency's traffic is too uneven for a time window: the
// verdict always rests on the same number of calls, so a quiet hour is
// judged as surely as a busy minute, and old calls only leave the window
// when new ones come. A ratio outside (0, 1], a minCalls below 1 or above n,
// or an n below 1 or above MaxLastN is reported by breaker.New as an
// invalid configuration.
func LastN(ratio float64, minCalls, n int) *LastNPolicy {
	// The ring is sized within bounds even for an invalid n, so that the
	// constructor never panics or exhausts memory; Bind reports it.
	return &LastNPolicy{share: share{ratio, int64(minCalls)}, n: int64(n), w: window.NewLast(min(n, MaxLastN))}
}

// Record counts c and reports whether the share of failures among the
// last n calls reaches the ratio.
func (p *LastNPolicy) Record(c Call) bool {
	s := p.w.RecordSum(window.Mark(c.Failed, false))
	return p.reached(s.Failures, s.Calls)
}

// Reset forgets every call recorded.
func (p *LastNPolicy) Reset() { p.w.Reset() }

// Bind reports a ratio outside (0, 1], a minCalls below 1 or above n, or
// an n outside [1, MaxLastN], and claims the policy for one breaker.
func (p *LastNPolicy) Bind(b *Binding) error {
	if err := firstError(
		p.share.validate("LastN"),
		atLeast("LastN", "n", p.n, 1),
		atMost("LastN", "n", p.n, "MaxLastN", MaxLastN),
		atMost("LastN", "minCalls", p.minCalls, "n", p.n),
	); err != nil {
		return err
	}
	b.Explain(p)
	return p.claim(b)
}

// String describes the policy, for logs and the lab.
func (p *LastNPolicy) String() string {
	return "lastn(" + p.share.String() + ", " + strconv.FormatInt(p.n, 10) + ")"
}
