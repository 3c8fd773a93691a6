package group

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

var errOperatorTest = errors.New("down")

// outlierGroup returns a group with a success-rate detector and a cap of
// half the keys, whose key "bad" is an outlier at the next evaluation,
// due now, and bad's breaker.
func outlierGroup(t *testing.T, forget time.Duration) (*Group[string, int], *breaker.Breaker[int]) {
	t.Helper()
	clk := epochs.Mock(epochs.Today)
	g, err := New(Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1000), OpenTimeout: time.Minute}
		},
		Outliers:     &Outliers{SuccessRate: &SuccessRateTest{}, EjectForget: forget},
		MaxOpenShare: 0.5,
		Clock:        clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	run := func(key string, n, failures int) {
		for i := range n {
			var err error
			if i < failures {
				err = errOperatorTest
			}
			_, _ = g.Execute(context.Background(), key, func(context.Context) (int, error) { return 0, err })
		}
	}
	for i := range 9 {
		run(fmt.Sprint("h", i), 100, 1)
	}
	run("bad", 100, 40)
	bad, _ := g.Get("bad")
	clk.Add(10 * time.Second)
	return g, bad
}

// TestOutlierEjectionOverridesOperator: the detector read that "bad" was
// closed with no mode, then opened it with Adopt(AdoptOpen), which ends
// any mode: an operator's Disable, ForceOpen, Reset or Trip that landed
// between the two was replaced by the detector's open, made on a state
// that no longer held. The operator's word, the last, must stand; the
// key is not ejected this time, its place in the cap and the ejection
// the detector noted are given back.
func TestOutlierEjectionOverridesOperator(t *testing.T) {
	for _, tc := range []struct {
		name  string
		act   func(b *breaker.Breaker[int])
		state breaker.State
		mode  breaker.Mode
		held  int // places held in the cap after
	}{
		{"Disable", (*breaker.Breaker[int]).Disable, breaker.Closed, breaker.ModeDisabled, 0},
		{"ForceOpen", (*breaker.Breaker[int]).ForceOpen, breaker.Open, breaker.ModeForcedOpen, 1},
		{"Reset", (*breaker.Breaker[int]).Reset, breaker.Closed, breaker.ModeNone, 0},
		{"TripFor", func(b *breaker.Breaker[int]) { b.TripFor(time.Hour) }, breaker.Open, breaker.ModeNone, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, bad := outlierGroup(t, time.Hour)
			g.detect.afterStateRead = func() {
				g.detect.afterStateRead = nil
				tc.act(bad)
			}
			found := g.DetectOutliers()
			if len(found) != 1 || found[0].Key != "bad" {
				t.Fatalf("outliers %+v, want bad", found)
			}
			if found[0].Opened {
				t.Errorf("bad reported opened by the detector after the operator's %s", tc.name)
			}
			m := bad.Metrics()
			if m.State != tc.state || m.Mode != tc.mode {
				t.Fatalf("bad is %v (mode %v) after the operator's %s, want %v (mode %v): the detector overrode it",
					m.State, m.Mode, tc.name, tc.state, tc.mode)
			}
			if tc.name == "TripFor" {
				if want := epochs.Today.Add(10*time.Second + time.Hour); !m.Until.Equal(want) {
					t.Fatalf("bad open until %v, want the operator's %v", m.Until, want)
				}
			}
			if open, _ := g.OpenLimit(); open != tc.held {
				t.Fatalf("the cap holds %d places, want %d", open, tc.held)
			}
			g.mu.Lock()
			ej := g.all["bad"].mark.ej
			g.mu.Unlock()
			if ej.ejections != 0 {
				t.Fatalf("the detector remembers %d ejections of bad, which it did not eject", ej.ejections)
			}
			if s := g.OutlierStats(); s.Ejected != 0 {
				t.Fatalf("OutlierStats.Ejected = %d, want 0", s.Ejected)
			}
		})
	}
}

// TestCapCloseOverridesOperator: the cap heard that a key opened with no
// place left and closed it again with Adopt(AdoptClose), which ends a
// forced-open mode: an operator's ForceOpen that landed between, once a
// place was free, was undone by the close decided on the earlier open.
// The close applies to the open it was decided on only; the ForceOpen's
// own transition is checked after it, and finds the place.
func TestCapCloseOverridesOperator(t *testing.T) {
	g, err := New(Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1000), OpenTimeout: time.Minute}
		},
		MaxOpenShare: 0.5,
		Clock:        epochs.Mock(epochs.Today),
	})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := g.Get("a")
	b, _ := g.Get("b")
	a.Trip() // the one place
	g.cap.afterStateRead = func() {
		g.cap.afterStateRead = nil
		a.Reset()     // frees the place
		b.ForceOpen() // the operator's last word on b
	}
	b.Trip() // no place: the cap decides to close b
	if m := b.Metrics(); m.State != breaker.Open || m.Mode != breaker.ModeForcedOpen {
		t.Fatalf("b is %v (mode %v), want forced open: the cap's close undid the operator's ForceOpen", m.State, m.Mode)
	}
	if open, _ := g.OpenLimit(); open != 1 {
		t.Fatalf("the cap holds %d places, want 1 (b's)", open)
	}
}
