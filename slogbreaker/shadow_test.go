package slogbreaker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/slogbreaker"
)

// TestShadowTransitionsAreLabelled: a candidate's open and a shadow-only
// breaker's are logged at INFO under ShadowMessage, marked shadow, never
// as the WARN of a real open.
func TestShadowTransitionsAreLabelled(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	for _, only := range []bool{false, true} {
		b, err := breaker.New(breaker.Config[int]{
			Name: "payments", Clock: epochs.Mock(epochs.Today), ShadowOnly: only,
			Policy:       policy.Consecutive(5),
			Shadows:      []breaker.Shadow{{Name: "quick", Settings: breaker.Settings{Policy: policy.Consecutive(1)}}},
			OnTransition: slogbreaker.OnTransition(logger),
		})
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("down") })
		}
	}
	type rec struct {
		Level, Msg, To, Candidate string
		Shadow                    bool
	}
	want := []rec{
		{"INFO", slogbreaker.ShadowMessage, "open", "quick", true}, // the live breaker's candidate
		{"WARN", slogbreaker.Message, "open", "", false},           // the live breaker
		{"INFO", slogbreaker.ShadowMessage, "open", "quick", true}, // the shadow-only breaker's candidate
		{"INFO", slogbreaker.ShadowMessage, "open", "", true},      // the shadow-only breaker
	}
	dec := json.NewDecoder(&buf)
	for i, w := range want {
		var got rec
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if got != w {
			t.Errorf("record %d = %+v, want %+v", i, got, w)
		}
	}
}
