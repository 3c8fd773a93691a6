package window

import (
	"time"

	"github.com/tripwire-go/tripwire/internal/windowhook"
)

// The fast path of package policy (see internal/fastrec).
func init() {
	windowhook.RecordHead = func(w *Time, now time.Time) (Counts, bool) { return w.recordHead(now) }
	windowhook.Seal = func(w *Time) { w.seal() }
	windowhook.Unseal = func(w *Time) { w.unseal() }
	windowhook.Renewed = func(w *Time) *Time { return w.renewed() }
}
