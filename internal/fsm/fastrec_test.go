package fsm

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/internal/fastrec"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/window"
)

// fakeFast is a policy with a fast path that logs what the machine asks
// of it, in order; onWindow runs when the machine reads its window, as a
// concurrent Reset or Reconfigure could at that moment.
type fakeFast struct {
	log      []string
	win      *window.Time
	onWindow func()
}

func (f *fakeFast) Record(policy.Call) bool { f.log = append(f.log, "record"); return false }
func (f *fakeFast) Reset()                  { f.log = append(f.log, "reset") }
func (f *fakeFast) Window() *window.Time {
	if g := f.onWindow; g != nil {
		f.onWindow = nil
		g()
	}
	return f.win
}
func (f *fakeFast) RecordSuccess(*window.Time, time.Time) (bool, bool) {
	f.log = append(f.log, "fast")
	return false, true
}
func (f *fakeFast) Seal()   { f.log = append(f.log, "seal") }
func (f *fakeFast) Unseal() { f.log = append(f.log, "unseal") }
func (f *fakeFast) Retire() { f.log = append(f.log, "retire") }

// withFakeFast makes the fakeFast policies the only ones with a fast path
// for the test.
func withFakeFast(t *testing.T) {
	of := fastrec.Of
	fastrec.Of = func(p any) fastrec.Recorder {
		if f, ok := p.(*fakeFast); ok {
			return f
		}
		return nil
	}
	t.Cleanup(func() { fastrec.Of = of })
}

func fastMachine(p policy.Policy, now time.Time) *Machine {
	return New(Config{Policy: p, OpenFor: func(int) time.Duration { return time.Second }, Probes: 1, CloseAfter: 1}, now)
}

func logIs(t *testing.T, f *fakeFast, want ...string) {
	t.Helper()
	if len(f.log) != len(want) {
		t.Fatalf("the policy was asked %q, want %q", f.log, want)
	}
	for i := range want {
		if f.log[i] != want[i] {
			t.Fatalf("the policy was asked %q, want %q", f.log, want)
		}
	}
}

// A closed success goes the fast way, and a failure the fenced way.
func TestFastPathTakesSuccessesOnly(t *testing.T) {
	withFakeFast(t)
	now := epochs.Today
	f := &fakeFast{win: window.NewTime(time.Minute)}
	m := fastMachine(f, now)
	w := m.Load()
	m.Record(w, policy.Call{At: now})
	m.Record(w, policy.Call{At: now, Failed: true})
	logIs(t, f, "fast", "record")
}

// The machine reads the policy's window before it checks the word the last
// time: a Reset that replaces the window just after it was read changes
// the word, and the success, admitted before the Reset, is dropped rather
// than counted after it.
func TestFastPathChecksTheWordAfterReadingTheWindow(t *testing.T) {
	withFakeFast(t)
	now := epochs.Today
	f := &fakeFast{win: window.NewTime(time.Minute)}
	m := fastMachine(f, now)
	w := m.Load()
	f.onWindow = func() { m.Reset(now, CauseManual) }
	m.Record(w, policy.Call{At: now})
	logIs(t, f, "reset")
}

// A Reconfigure seals the old policy's window before the handover and
// gives it a new one after; a handover that panics unseals it, and the
// old policy goes on with its fast path.
func TestReconfigureSealsTheOldWindow(t *testing.T) {
	withFakeFast(t)
	now := epochs.Today
	old, next := &fakeFast{win: window.NewTime(time.Minute)}, &fakeFast{win: window.NewTime(time.Minute)}
	m := fastMachine(old, now)
	cfg := Config{Policy: next, OpenFor: func(int) time.Duration { return time.Second }, Probes: 1, CloseAfter: 1}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the handover's panic did not go on up")
			}
		}()
		m.Reconfigure(cfg, now, func() {
			old.log = append(old.log, "handover")
			panic("handover")
		})
	}()
	logIs(t, old, "seal", "handover", "unseal")
	if m.fast.Load().r != fastrec.Recorder(old) {
		t.Fatal("after a failed handover the fast path is not the old policy's")
	}
	old.log = nil
	m.Reconfigure(cfg, now, func() { old.log = append(old.log, "handover") })
	logIs(t, old, "seal", "handover", "retire")
	if m.fast.Load().r != fastrec.Recorder(next) {
		t.Fatal("after a Reconfigure the fast path is not the new policy's")
	}
	m.Record(m.Load(), policy.Call{At: now})
	logIs(t, next, "fast")
}
