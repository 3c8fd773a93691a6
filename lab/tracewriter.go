package lab

import (
	"encoding/csv"
	"io"
	"sync"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// TraceWriter records a breaker's live traffic in the trace format that
// [ReplayTrace] (and the command's -trace) reads, so that the lab can be
// fed the calls a breaker saw: hook its Record to breaker.Config.OnCall,
//
//	tw := lab.NewTraceWriter(file)
//	cfg.OnCall = tw.Record
//	...
//	err := tw.Flush()
//
// and replay the file with the breaker's spec line as the candidates
// (ParseCandidates reads its shadows): each shadow's row then says what
// the lab makes of the very calls the breaker's candidate saw, which is
// what [breaker.Breaker.Shadows] reports live.
//
// It writes a header, then one row per call the breaker let run, as it
// ends: start (RFC 3339 with nanoseconds, UTC), duration (a Go duration)
// and outcome (ok or error). The rows are in order of end, which the
// trace reader takes (Trace.Reorder bounds how far a call may start
// before one written earlier: a minute by default). Calls the breaker
// rejected are not written: they did not run, and have no outcome. Nor
// are Ignored calls (a trace has no word for them), so a replay does not
// see an ignored probe hold its slot while it ran.
//
// Record writes under a lock of its own, on the path of the call that
// ended (the breaker holds no lock then); w should be buffered or fast.
// It is safe for concurrent use. The zero value is not usable: build one
// with NewTraceWriter.
type TraceWriter struct {
	mu     sync.Mutex
	w      *csv.Writer
	header bool
	err    error
	rows   int
}

// NewTraceWriter returns a TraceWriter that writes to w.
func NewTraceWriter(w io.Writer) *TraceWriter {
	return &TraceWriter{w: csv.NewWriter(w)}
}

// Record writes the call r, for breaker.Config.OnCall. After an error of
// the underlying writer it writes nothing more; Flush returns that error.
func (tw *TraceWriter) Record(r breaker.CallRecord) {
	var outcome string
	switch r.Outcome {
	case breaker.Success:
		outcome = "ok"
	case breaker.Ignored:
		return
	default:
		outcome = "error"
	}
	row := [3]string{
		r.Start.UTC().Format(time.RFC3339Nano),
		max(r.End.Sub(r.Start), 0).String(),
		outcome,
	}
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.err != nil {
		return
	}
	if !tw.header {
		tw.header = true
		tw.err = tw.w.Write([]string{"start", "duration", "outcome"})
	}
	if tw.err == nil {
		tw.err = tw.w.Write(row[:])
	}
	if tw.err == nil {
		tw.rows++
	}
}

// Flush writes what is buffered to the underlying writer, and returns the
// first error met, if any.
func (tw *TraceWriter) Flush() error {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.err != nil {
		return tw.err
	}
	tw.w.Flush()
	tw.err = tw.w.Error()
	return tw.err
}

// Rows returns the number of calls written so far.
func (tw *TraceWriter) Rows() int {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	return tw.rows
}
