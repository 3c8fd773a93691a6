// Package windowhook carries the few operations of package window that
// package policy needs for its fast path (see internal/fastrec) and that
// window does not export: window sets them in its init, as functions of
// *window.Time, and policy asserts their types once. It imports nothing,
// so that window can import it.
package windowhook

// RecordHead is a func(w *window.Time, now time.Time) (window.Counts,
// bool): it counts a success at now into w's head bucket if that takes
// one compare-and-swap, and returns what w.RecordBounds would; false:
// it counted nothing.
//
// Seal and Unseal are each a func(w *window.Time): Seal makes RecordHead
// into w fail from then on, leaving w's counts readable; Unseal undoes it.
//
// Renewed is a func(w *window.Time) *window.Time: an empty window that
// keeps what w.Reset would keep, for a Reset that replaces the window.
var RecordHead, Seal, Unseal, Renewed any
