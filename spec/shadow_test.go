package spec_test

import (
	"errors"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/spec"
)

func TestShadowLine(t *testing.T) {
	s, err := spec.Parse("consecutive(5)@open=60s shadow rate(0.30, 20, 10s)@open=30s SHADOW lastn(0.5,10,20)")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "consecutive(5)@open=1m shadow rate(0.3,20,10s)@open=30s shadow lastn(0.5,10,20)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got := s.Live().String(); got != "consecutive(5)@open=1m" {
		t.Errorf("Live = %q", got)
	}
	if got := s.Settings().Text; got != "consecutive(5)@open=1m" {
		t.Errorf("Settings().Text = %q, want the live spec alone", got)
	}
	// Config builds fresh policies, the candidates' too, each call: a
	// group calls it once per key.
	for range 2 {
		cfg := spec.Config[int](s)
		if len(cfg.Shadows) != 2 || cfg.Shadows[0].Name != "rate(0.3,20,10s)@open=30s" || cfg.Shadows[1].Settings.Text != "lastn(0.5,10,20)" {
			t.Fatalf("Config's Shadows = %+v", cfg.Shadows)
		}
		b, err := breaker.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if st := b.Shadows(); len(st) != 2 || st[0].Settings != "rate(0.3,20,10s)@open=30s" {
			t.Fatalf("Shadows = %+v", st)
		}
	}
}

func TestShadowLineErrors(t *testing.T) {
	for _, tc := range []struct {
		text, field string
		column      int
	}{
		{"consecutive(5) shadow", "", 22},
		{"consecutive(5) shadow rate(1.5,20,10s)", "Rate.ratio", 28},
		{"consecutive(5) shadow consecutive(2)@ramp=1m", "@ramp", 23},
		{"consecutive(5) shadow consecutive(2)@retry-after-max=1m", "@retry-after-max", 23},
		{"consecutive(5) shadow consecutive(2) shadow consecutive(2)", "", 45},
		{"consecutive(5) shadow consecutive(2) consecutive(3)", "", 38},
		{"consecutive(5) shadow @open=1s,shadow=2", "@shadow", 32},
		{"a shadow b shadow c shadow d shadow e shadow f shadow g shadow h shadow i shadow j", "", 1},
	} {
		_, err := spec.Parse(tc.text)
		var se *spec.Error
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *spec.Error", tc.text, err)
			continue
		}
		if tc.column != 1 && (se.Column() != tc.column || se.Field != tc.field) {
			t.Errorf("Parse(%q): %v; want column %d, field %q\n%s", tc.text, err, tc.column, tc.field, se.Caret())
		}
	}
	many := "consecutive(1)"
	for i := 2; i <= breaker.MaxShadows+2; i++ {
		many += " shadow consecutive(" + string(rune('0'+i%10)) + string(rune('0'+i/10)) + ")"
	}
	if _, err := spec.Parse(many); err == nil {
		t.Errorf("Parse of %d shadows: no error", breaker.MaxShadows+1)
	}
	// In a list, ',' separates items; the shadows stay with theirs.
	items, err := spec.ParseList("consecutive(5) shadow rate(0.3,20,10s)@open=30s,probes=1,lastn(0.5,10,20)", nil)
	if err != nil || len(items) != 2 || len(items[0].Spec.Shadows) != 1 || items[0].Spec.Shadows[0].String() != "rate(0.3,20,10s)@open=30s,probes=1" || len(items[1].Spec.Shadows) != 0 {
		t.Fatalf("ParseList = %+v, %v", items, err)
	}
}

// Shadows gives a line's candidates with fresh policies each call, for a
// running breaker's ReconfigureShadows: applying the same line again keeps
// them (same names, same settings), and the whole line reads back.
func TestShadowsForARunningBreaker(t *testing.T) {
	s, err := spec.Parse("consecutive(5)@open=60s shadow rate(0.3,20,10s)@open=30s shadow lastn(0.5,10,20)")
	if err != nil {
		t.Fatal(err)
	}
	first, again := spec.Shadows(s), spec.Shadows(s)
	if len(first) != 2 || first[0].Name != "rate(0.3,20,10s)@open=30s" || first[1].Name != "lastn(0.5,10,20)" || first[0].Settings.Policy == again[0].Settings.Policy {
		t.Fatalf("Shadows = %+v", first)
	}
	if spec.Shadows(s.Live()) != nil {
		t.Fatal("a line without shadows has candidates")
	}
	b, err := breaker.New(spec.Config[int](s.Live()))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.ReconfigureShadows(first, "", ""); err != nil {
		t.Fatal(err)
	}
	cands := "shadow rate(0.3,20,10s)@open=30s shadow lastn(0.5,10,20)"
	if got, want := b.SettingsLine(), b.Settings().Text+" "+cands; got != want {
		t.Errorf("SettingsLine = %q, want %q", got, want)
	}
	back, err := spec.Parse(b.SettingsLine())
	if err != nil || back.String() != b.SettingsLine() || len(back.Shadows) != 2 || !back.Shadows[0].Equal(s.Shadows[0]) || !back.Shadows[1].Equal(s.Shadows[1]) {
		t.Fatalf("the line does not read back: %v, %v", back, err)
	}
	if err := b.ReconfigureShadows(again, "", ""); err != nil {
		t.Fatal(err)
	}
	ts := b.Transitions()
	if e := ts[len(ts)-1].Evidence; e.Detail != cands+" → "+cands+`; kept "rate(0.3,20,10s)@open=30s", "lastn(0.5,10,20)"` {
		t.Errorf("evidence %q", e.Detail)
	}
}
