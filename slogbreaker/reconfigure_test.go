package slogbreaker_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/slogbreaker"
)

// TestReconfigureIsLogged: a Reconfigure is logged with who, why, and the
// settings before and after.
func TestReconfigureIsLogged(t *testing.T) {
	var buf bytes.Buffer
	b, err := breaker.New(breaker.Config[int]{Name: "db", OnTransition: slogbreaker.OnTransition(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})))})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Reconfigure(breaker.Settings{Policy: policy.Consecutive(3)}, "alice", "fewer trips"); err != nil {
		t.Fatal(err)
	}
	want := `breaker=db from=closed to=closed cause=reconfigure mode=none why="reconfigure by alice: fewer trips; consecutive(5)@open=1m,probes=3 → consecutive(3)@open=1m,probes=3; counts carried over" action=reconfigure who=alice old="consecutive(5)@open=1m,probes=3" new="consecutive(3)@open=1m,probes=3"`
	if got := buf.String(); !strings.Contains(got, want) {
		t.Errorf("logged\n%s\nwant\n%s", got, want)
	}
}
