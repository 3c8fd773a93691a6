package policy_test

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// wrapped hides nothing: it wraps a policy and says so with Unwrap.
type wrapped struct{ policy.Policy }

func (w wrapped) Unwrap() policy.Policy { return w.Policy }

// TestTakeOver checks what each built-in takes over from each kind, at
// every epoch: the streak, the calls of a time window within the new span,
// the last calls of a LastN, child by child for Any and All, through
// wrappers on either side; and that other pairs start empty.
func TestTakeOver(t *testing.T) {
	for _, e := range epochs.For(time.Minute) {
		t.Run(e.Name, func(t *testing.T) {
			now := e.At
			rec := func(p policy.Policy, failed bool, at time.Time) bool {
				return p.Record(policy.Call{Failed: failed, At: at})
			}

			c := policy.Consecutive(3)
			rec(c, true, now)
			rec(c, true, now)
			next := policy.Consecutive(3)
			if !policy.TakeOver(wrapped{next}, wrapped{c}, now) || next.Streak() != 2 || !rec(next, true, now) {
				t.Errorf("Consecutive: streak %d after the take-over, want 2 and a trip at the third", next.Streak())
			}

			// A Rate over 10s with 4 failures of 4, then a minute: they
			// count in the longer window.
			r := policy.Rate(0.5, 10, 10*time.Second)
			for range 4 {
				rec(r, true, now)
			}
			longer := policy.Rate(0.5, 5, time.Minute)
			if !policy.TakeOver(longer, r, now) || !rec(longer, true, now) {
				t.Errorf("Rate 10s → 1m: the 4 failures did not carry over")
			}
			// A Window over a minute with failures 40s apart, then
			// one over 10s: only the recent ones stay.
			w := policy.Window(100, time.Minute)
			for range 3 {
				rec(w, true, now)
			}
			later := now.Add(40 * time.Second)
			rec(w, true, later)
			shorter := policy.Window(2, 10*time.Second)
			if !policy.TakeOver(shorter, w, later) || !rec(shorter, true, later) {
				t.Errorf("Window 1m → 10s: the recent failure did not carry over")
			}
			shorter2 := policy.Window(3, 10*time.Second)
			policy.TakeOver(shorter2, w, later)
			if rec(shorter2, true, later) {
				t.Errorf("Window 1m → 10s: failures older than 10s carried over")
			}

			l := policy.LastN(0.5, 2, 8)
			for _, f := range []bool{false, false, true, true} {
				rec(l, f, now)
			}
			l2 := policy.LastN(1, 2, 2) // the last two: both failed
			if !policy.TakeOver(l2, l, now) || !rec(l2, true, now) {
				t.Errorf("LastN 8 → 2: the last two failures did not carry over")
			}

			a := policy.Any(policy.Consecutive(2), policy.Rate(0.5, 100, time.Minute))
			rec(a, true, now)
			a2 := policy.Any(policy.Consecutive(2), policy.Rate(0.5, 100, time.Minute))
			if !policy.TakeOver(a2, a, now) || !rec(a2, true, now) {
				t.Errorf("Any: the streak of its first child did not carry over")
			}

			for _, pair := range []struct {
				name       string
				next, prev policy.Policy
			}{
				{"LastN from Consecutive", policy.LastN(0.5, 1, 4), policy.Consecutive(1)},
				{"Consecutive from Rate", policy.Consecutive(1), policy.Rate(0.5, 1, time.Second)},
				{"Rate from LastN", policy.Rate(0.5, 1, time.Second), policy.LastN(0.5, 1, 4)},
				{"Any of 2 from Any of 1", policy.Any(policy.Consecutive(1), policy.Consecutive(1)), policy.Any(policy.Consecutive(1))},
				{"a custom policy", wrapped{nil}, policy.Consecutive(1)},
			} {
				if policy.TakeOver(pair.next, pair.prev, now) {
					t.Errorf("%s: took over", pair.name)
				}
			}
		})
	}
}
