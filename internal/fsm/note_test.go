package fsm

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// Note queues a transition that changes nothing, in order with the
// machine's own, and calls noted as it queues it.
func TestNoteChangesNothing(t *testing.T) {
	now := epochs.Today
	m := New(Config{Policy: policy.Consecutive(1), OpenFor: func(int) time.Duration { return time.Second }, Probes: 1, CloseAfter: 1, Notify: true}, now)
	m.Trip(now, CauseManual)
	w := m.Load()
	noted := 0
	m.Note(now.Add(time.Millisecond), func() { noted++ })
	if m.Load() != w || noted != 1 {
		t.Fatalf("word %v → %v, noted %d", w, m.Load(), noted)
	}
	var got []Transition
	m.Flush(func(tr Transition) { got = append(got, tr) })
	if len(got) != 2 || got[0].To != Open || got[1].Cause != CauseNote || got[1].From != Open || got[1].To != Open ||
		got[1].Gen != w.Gen() || got[1].Until != now.Add(time.Second) || got[1].Mode != ModeNone {
		t.Fatalf("transitions %+v", got)
	}
	if st := m.Status(); st.Opens.Manual != 1 || !st.Since.Equal(now) {
		t.Fatalf("status %+v", st)
	}
}
