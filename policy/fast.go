package policy

import (
	"time"

	"github.com/tripwire-go/tripwire/internal/fastrec"
	"github.com/tripwire-go/tripwire/internal/windowhook"
	"github.com/tripwire-go/tripwire/window"
)

// The window operations of the fast path, which package window sets.
var (
	recordHead   = windowhook.RecordHead.(func(*window.Time, time.Time) (window.Counts, bool))
	sealWindow   = windowhook.Seal.(func(*window.Time))
	unsealWindow = windowhook.Unseal.(func(*window.Time))
	renewed      = windowhook.Renewed.(func(*window.Time) *window.Time)
)

func init() {
	fastrec.Of = func(p any) fastrec.Recorder {
		switch q := p.(type) {
		case *RatePolicy:
			return rateFast{timedFast{&q.timed}, q}
		case *WindowPolicy:
			return windowFast{timedFast{&q.timed}, q}
		}
		return nil
	}
}

// timedFast is the part of a fastrec.Recorder that Window and Rate share.
type timedFast struct{ p *timed }

func (f timedFast) Window() *window.Time { return f.p.win() }
func (f timedFast) Seal()                { sealWindow(f.p.win()) }
func (f timedFast) Unseal()              { unsealWindow(f.p.win()) }
func (f timedFast) Retire()              { f.p.Reset() }

// rateFast records a success into a Rate as Record does.
type rateFast struct {
	timedFast
	p *RatePolicy
}

func (f rateFast) RecordSuccess(w *window.Time, at time.Time) (trip, ok bool) {
	s, ok := recordHead(w, at)
	if !ok {
		return false, false
	}
	return f.p.judge(w, at, s.Failures, s.Calls, false, false), true
}

// windowFast records a success into a Window as Record does.
type windowFast struct {
	timedFast
	p *WindowPolicy
}

func (f windowFast) RecordSuccess(w *window.Time, at time.Time) (trip, ok bool) {
	s, ok := recordHead(w, at)
	if !ok {
		return false, false
	}
	return s.Failures >= max(f.p.failures, 1), true
}
