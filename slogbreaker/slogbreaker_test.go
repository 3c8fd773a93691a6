package slogbreaker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/slogbreaker"
)

// record is one JSON log line.
type record struct {
	Level, Msg, Breaker, From, To string
}

func TestOnStateChange(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clk := clock.NewMock()
	b, err := breaker.New(breaker.Config[int]{
		Name:           "payments",
		Policy:         policy.Consecutive(1),
		OpenTimeout:    time.Second,
		HalfOpenProbes: 1,
		Clock:          clk,
		OnStateChange:  slogbreaker.OnStateChange(logger),
	})
	if err != nil {
		t.Fatal(err)
	}
	call := func(err error) {
		b.Execute(context.Background(), func(context.Context) (int, error) { return 0, err })
	}
	call(errors.New("down")) // closed > open
	clk.Add(time.Second)     // open > half-open, on the next call
	call(nil)                // half-open > closed

	want := []record{
		{"WARN", slogbreaker.Message, "payments", "closed", "open"},
		{"INFO", slogbreaker.Message, "payments", "open", "half-open"},
		{"INFO", slogbreaker.Message, "payments", "half-open", "closed"},
	}
	dec := json.NewDecoder(&buf)
	for i, w := range want {
		var got record
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if got != w {
			t.Errorf("record %d = %+v, want %+v", i, got, w)
		}
	}
	if dec.More() {
		t.Errorf("more records than transitions")
	}
}

func TestOnStateChangeNilLoggerUsesDefault(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	defer slog.SetDefault(old)
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))

	slogbreaker.OnStateChange(nil)("db", breaker.Closed, breaker.Open)
	if want := `level=WARN msg="circuit breaker state changed" breaker=db from=closed to=open`; !bytes.Contains(buf.Bytes(), []byte(want)) {
		t.Fatalf("logged %q, want it to contain %q", buf.String(), want)
	}
}

// transitionRecord is one JSON log line of OnTransition.
type transitionRecord struct {
	Level, Msg, Breaker, From, To, Cause, Mode string
	Until                                      time.Time
}

func TestOnTransition(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clk := epochs.Mock(epochs.Today)
	b, err := breaker.New(breaker.Config[int]{
		Name:           "payments",
		Policy:         policy.Consecutive(1),
		OpenTimeout:    time.Second,
		HalfOpenProbes: 1,
		Clock:          clk,
		OnTransition:   slogbreaker.OnTransition(logger),
	})
	if err != nil {
		t.Fatal(err)
	}
	start := clk.Now()
	b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("down") })
	b.TripFor(time.Minute)
	b.Adopt(breaker.Adoption{Kind: breaker.AdoptForceOpen})
	b.Reset()

	want := []transitionRecord{
		{"WARN", slogbreaker.Message, "payments", "closed", "open", "policy", "none", start.Add(time.Second)},
		{"WARN", slogbreaker.Message, "payments", "open", "open", "manual", "none", start.Add(time.Minute)},
		{"WARN", slogbreaker.Message, "payments", "open", "open", "external", "forced-open", time.Time{}},
		{"INFO", slogbreaker.Message, "payments", "open", "closed", "manual", "none", time.Time{}},
	}
	dec := json.NewDecoder(&buf)
	for i, w := range want {
		var got transitionRecord
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !got.Until.Equal(w.Until) {
			t.Errorf("record %d: until %v, want %v", i, got.Until, w.Until)
		}
		got.Until, w.Until = time.Time{}, time.Time{}
		if got != w {
			t.Errorf("record %d = %+v, want %+v", i, got, w)
		}
	}
	if dec.More() {
		t.Errorf("more records than transitions")
	}
}
