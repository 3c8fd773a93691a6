// Package fastrec lets the state machine record a closed success of a
// time-window policy without the Record fence's two locked instructions.
//
// The fence (internal/fsm's recorders) keeps a result admitted before a
// Reset or a Reconfigure from reaching the policy after it: Record
// registers while it checks its word and records, and a close or a
// reconfiguration waits for the registered. A policy that implements
// Recorder keeps that guarantee by itself, for successes, at the cost of
// a load:
//
//   - Reset gives the policy a new window, and the state machine reads
//     the window (Recorder.Window) before it checks its word the last
//     time. A success that passed the check was admitted before the close
//     muted the word, so it read the window before the Reset replaced it:
//     it counts into a window that nobody reads any more.
//   - Reconfigure seals the old policy's window (Recorder.Seal) once the
//     registered calls are drained and before its successor takes the
//     counts over. A success counts with one compare-and-swap on one word,
//     and sealing a word is a compare-and-swap on it: the success either
//     landed before the seal, and is taken over with the word, or fails,
//     counts nothing, and goes through the fenced path, which hands it to
//     the successor.
//
// So a success costs the window's one compare-and-swap; everything else
// (failures, a head that moves on, a lost race) takes the fenced path.
package fastrec

import (
	"time"

	"github.com/tripwire-go/tripwire/window"
)

// Recorder is a policy's fast path for closed successes.
type Recorder interface {
	// Window returns the window a success is counted into now: read
	// before the caller checks its word, and passed to RecordSuccess.
	Window() *window.Time
	// RecordSuccess counts a success at at into w, if that takes one
	// compare-and-swap on a word of w's head bucket, and reports whether
	// the policy trips. ok false: it counted nothing, and the caller
	// records the call on the fenced path.
	RecordSuccess(w *window.Time, at time.Time) (trip, ok bool)
	// Seal makes every later RecordSuccess into the current window fail
	// without counting; the window's counts stay readable. Unseal undoes
	// it, for a reconfiguration that failed; Retire gives the policy a
	// new window once its successor has taken the old one over.
	Seal()
	Unseal()
	Retire()
}

// Of returns p's Recorder, or nil if p has none. Package policy sets it.
var Of = func(p any) Recorder { return nil }
