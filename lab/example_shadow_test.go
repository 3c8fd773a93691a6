package lab_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/lab"
	"github.com/tripwire-go/tripwire/spec"
)

// Record a breaker's live traffic with a TraceWriter, then replay it in
// the lab with the breaker's spec line: its shadow's row shows what the
// lab makes of the calls the breaker's candidate saw, beside what the
// candidate reported live.
func ExampleTraceWriter() {
	const line = "consecutive(10)@open=10s shadow consecutive(3)@open=5s,probes=1"
	s, _ := spec.Parse(line)
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC))
	var trace bytes.Buffer
	tw := lab.NewTraceWriter(&trace)
	cfg := spec.Config[string](s)
	cfg.Clock, cfg.OnCall = clk, tw.Record
	b, _ := breaker.New(cfg)
	for i := range 40 {
		b.Execute(context.Background(), func(context.Context) (string, error) {
			clk.Add(100 * time.Millisecond) // the call takes 100ms
			if i >= 10 && i < 20 {
				return "", errors.New("unavailable")
			}
			return "ok", nil
		})
		clk.Add(400 * time.Millisecond)
	}
	_ = tw.Flush()
	live := b.Shadows()[0]
	fmt.Printf("live: %s tripped %d times, would have rejected %d of %d calls\n", live.Name, live.Trips, live.WouldReject, live.Calls)

	cands, _ := lab.ParseCandidates(line, nil)
	rep, _ := lab.ReplayTrace(&trace, lab.Trace{}, cands, lab.Options{})
	for _, r := range rep.Scenarios[0].Results {
		fmt.Printf("lab:  %s tripped %d times, rejected %d of %d calls\n", r.Candidate, r.Trips, r.Rejected, r.Calls)
	}
	// The live breaker tripped at its tenth failure and rejected the 20
	// calls after it: they are not in the trace, and its candidate never
	// saw them.

	// Output:
	// live: consecutive(3)@open=5s,probes=1 tripped 1 times, would have rejected 7 of 20 calls
	// lab:  consecutive(10)@open=10s tripped 1 times, rejected 0 of 20 calls
	// lab:  consecutive(3)@open=5s,probes=1 tripped 1 times, rejected 7 of 20 calls
}
