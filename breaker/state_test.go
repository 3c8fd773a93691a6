package breaker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

func TestStateText(t *testing.T) {
	for s, text := range map[breaker.State]string{breaker.Closed: "closed", breaker.HalfOpen: "half-open", breaker.Open: "open"} {
		got, err := s.MarshalText()
		if err != nil || string(got) != text {
			t.Errorf("%d.MarshalText() = %q, %v; want %q", s, got, err, text)
		}
		for _, in := range []string{text, strings.ToUpper(text)} {
			var back breaker.State = 7
			if err := back.UnmarshalText([]byte(in)); err != nil || back != s {
				t.Errorf("UnmarshalText(%q) = %v, %v; want %v", in, back, err, s)
			}
		}
	}
	if _, err := breaker.State(3).MarshalText(); err == nil {
		t.Error("State(3) marshals")
	}
	var s breaker.State
	if err := s.UnmarshalText([]byte("halfopen")); err == nil || !strings.Contains(err.Error(), `"halfopen"`) {
		t.Errorf("UnmarshalText(halfopen) = %v, want an error naming it", err)
	}
}

func TestOutcomeText(t *testing.T) {
	for o, text := range map[breaker.Outcome]string{breaker.Success: "success", breaker.Failure: "failure", breaker.Ignored: "ignored"} {
		got, err := o.MarshalText()
		if err != nil || string(got) != text {
			t.Errorf("%d.MarshalText() = %q, %v; want %q", o, got, err, text)
		}
		var back breaker.Outcome = 9
		if err := back.UnmarshalText([]byte(text)); err != nil || back != o {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", text, back, err, o)
		}
	}
	if _, err := breaker.Outcome(3).MarshalText(); err == nil {
		t.Error("Outcome(3) marshals")
	}
	var o breaker.Outcome
	if err := o.UnmarshalText([]byte("ok")); err == nil {
		t.Error(`UnmarshalText("ok") succeeded`)
	}
}

// Issue 15: json.Marshal(b.Metrics()) writes the state as text.
func TestMetricsJSONStateIsText(t *testing.T) {
	b, _ := newAt(t, epochs.Today, breaker.Config[int]{})
	b.Execute(context.Background(), fail)
	out, err := json.Marshal(b.Metrics())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"State":"open"`) {
		t.Fatalf("json.Marshal(Metrics) = %s, want \"State\":\"open\"", out)
	}
	var back breaker.Metrics
	if err := json.Unmarshal(out, &back); err != nil || back.State != breaker.Open {
		t.Fatalf("Metrics back from JSON: state %v, %v", back.State, err)
	}
}

// The zero Outcome is Failure: a Classify that decides nothing counts the
// call against the dependency, never for its health.
func TestZeroOutcomeIsFailure(t *testing.T) {
	if o := *new(breaker.Outcome); o != breaker.Failure {
		t.Fatalf("zero Outcome = %v, want failure", o)
	}
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		careless := func(status int, err error) breaker.Outcome {
			var o breaker.Outcome
			switch {
			case status == 200:
				o = breaker.Success
			case status == 404:
				o = breaker.Ignored
			}
			return o // 503 falls through
		}
		b, _ := newAt(t, start, breaker.Config[int]{Policy: policy.Consecutive(2), Classify: careless, CountCalls: true})
		for range 2 {
			b.Execute(context.Background(), func(context.Context) (int, error) { return 503, nil })
		}
		if m := b.Metrics(); m.State != breaker.Open || m.Failures != 2 {
			t.Fatalf("two fall-through results: %v with %d failures; want open after 2", m.State, m.Failures)
		}
	})
}

// A State and an Outcome marshal to their names, so that JSON logs and
// metrics read as words, and unmarshal back.
func ExampleState_MarshalText() {
	type event struct {
		Circuit string
		State   breaker.State
		Outcome breaker.Outcome
	}
	out, _ := json.Marshal(event{"payments", breaker.HalfOpen, breaker.Ignored})
	fmt.Println(string(out))

	var back event
	json.Unmarshal([]byte(`{"Circuit":"db","State":"open","Outcome":"failure"}`), &back)
	fmt.Println(back.State == breaker.Open, back.Outcome == breaker.Failure)
	// Output:
	// {"Circuit":"payments","State":"half-open","Outcome":"ignored"}
	// true true
}

func TestModeAndCauseText(t *testing.T) {
	for m, text := range map[breaker.Mode]string{breaker.ModeNone: "none", breaker.ModeForcedOpen: "forced-open", breaker.ModeDisabled: "disabled"} {
		got, err := m.MarshalText()
		var back breaker.Mode = 9
		if err != nil || string(got) != text || back.UnmarshalText([]byte(strings.ToUpper(text))) != nil || back != m {
			t.Errorf("Mode %d: MarshalText %q, %v; back %v", m, got, err, back)
		}
	}
	causes := map[breaker.Cause]string{breaker.CausePolicy: "policy", breaker.CauseProbe: "probe", breaker.CauseTimeout: "timeout", breaker.CauseManual: "manual", breaker.CauseExternal: "external", breaker.CauseReconfigure: "reconfigure"}
	for c, text := range causes {
		got, err := c.MarshalText()
		var back breaker.Cause
		if err != nil || string(got) != text || back.UnmarshalText([]byte(text)) != nil || back != c {
			t.Errorf("Cause %d: MarshalText %q, %v; back %v", c, got, err, back)
		}
	}
	for _, bad := range []interface{ MarshalText() ([]byte, error) }{breaker.Mode(3), breaker.Cause(0), breaker.Cause(7)} {
		if _, err := bad.MarshalText(); err == nil {
			t.Errorf("%v marshals", bad)
		}
	}
	var m breaker.Mode
	if err := m.UnmarshalText([]byte("forced")); err == nil {
		t.Error(`Mode.UnmarshalText("forced") succeeded`)
	}
	var c breaker.Cause
	if err := c.UnmarshalText([]byte("")); err == nil {
		t.Error(`Cause.UnmarshalText("") succeeded`)
	}
}

// json.Marshal of Metrics and of a Transition writes every enum as a word.
func TestMetricsAndTransitionJSON(t *testing.T) {
	var last breaker.Transition
	b, _ := newAt(t, epochs.Today, breaker.Config[int]{OnTransition: func(tr breaker.Transition) { last = tr }})
	b.ForceOpen()
	out, err := json.Marshal(b.Metrics())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"State":"open"`, `"Mode":"forced-open"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("json.Marshal(Metrics) = %s, want %s", out, want)
		}
	}
	out, err = json.Marshal(last)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"From":"closed"`, `"To":"open"`, `"Cause":"manual"`, `"Mode":"forced-open"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("json.Marshal(Transition) = %s, want %s", out, want)
		}
	}
	var back breaker.Transition
	if err := json.Unmarshal(out, &back); err != nil || back.Cause != breaker.CauseManual || back.Mode != breaker.ModeForcedOpen {
		t.Fatalf("Transition back from JSON: %+v, %v", back, err)
	}
}
