package fsm

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// resetHook is a policy whose Reset runs a hook first: the close of an
// open circuit runs the policy's Reset with no lock held, which is where a
// real-clock timer may flag the word as due.
type resetHook struct {
	policy.Policy
	hook func()
}

func (p *resetHook) Reset() {
	if h := p.hook; h != nil {
		p.hook = nil
		h()
	}
	p.Policy.Reset()
}

// TestCloseSurvivesDueFlag: a Reset (or a Close) of an open circuit whose
// timer flags the word as due while the policy is being reset must still
// close the circuit. The due flag is a hint on the same open period, not a
// transition; close took it for one and gave up, so the Reset was lost and
// the circuit stayed open, then went half-open, with its policy reset and
// its mode and backoff untouched.
func TestCloseSurvivesDueFlag(t *testing.T) {
	for _, e := range epochs.All() {
		for _, c := range []struct {
			name  string
			close func(m *Machine, now time.Time)
		}{
			{"Reset", func(m *Machine, now time.Time) { m.Reset(now, CauseManual) }},
			{"Close", func(m *Machine, now time.Time) { m.Close(now, CauseExternal) }},
		} {
			t.Run(e.Name+"/"+c.name, func(t *testing.T) {
				now := e.At
				p := &resetHook{Policy: policy.Consecutive(1)}
				m := New(Config{
					Policy:     p,
					OpenFor:    func(int) time.Duration { return time.Second },
					Probes:     1,
					CloseAfter: 1,
					Notify:     true,
				}, now)
				m.Trip(now, CauseManual)
				open := m.Load()
				if open.State() != Open {
					t.Fatalf("after Trip: %v", open.State())
				}
				p.hook = func() { m.MarkDue(open) }
				c.close(m, now)
				if w := m.Load(); w.State() != Closed || w.Muted() {
					t.Fatalf("after %s with the open period flagged due meanwhile: state %v, muted %v; want closed", c.name, w.State(), w.Muted())
				}
				var got []Transition
				m.Flush(func(tr Transition) { got = append(got, tr) })
				if n := len(got); n != 2 || got[1].From != Open || got[1].To != Closed {
					t.Fatalf("transitions %+v, want the trip then open to closed", got)
				}
			})
		}
	}
}
