package group_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// mustPanic runs f and fails the test unless it panics.
func mustPanic(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	f()
}

// Regression tests for faults found by a review of the group's per-host
// features: outlier detection, the cap on open keys, ejections that
// remember, and their interplay.

// A user's OnTransition that panics must not cost the group its
// bookkeeping: the group's part of the callback used to run after the
// user's, so a panic skipped it, and the cap never heard of the open. The
// key stayed open without a place, and the next key opened beyond the cap.
func TestCapHoldsWhenUserOnTransitionPanics(t *testing.T) {
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{
				Policy: policy.Consecutive(1), OpenTimeout: time.Minute,
				OnTransition: func(breaker.Transition) { panic("user's OnTransition") },
			}
		},
		MaxOpenShare: 0.5,
		Clock:        epochs.Mock(epochs.Today),
	})
	if err != nil {
		t.Fatal(err)
	}
	a, b := mustGet(t, g, "a"), mustGet(t, g, "b")
	mustPanic(t, a.Trip)
	mustPanic(t, b.Trip)
	if n := openKeys(g); n > 1 {
		t.Fatalf("%d of 2 keys open, the cap allows 1", n)
	}
	open, _ := g.OpenLimit()
	if _, actual := countOpen(g); open != actual {
		t.Fatalf("the cap counts %d keys open, the breakers say %d", open, actual)
	}
}

// The same with OnStateChange: the group takes back an evicted breaker
// whose circuit opens from its part of OnStateChange, which a panicking
// user callback skipped, so the open circuit was forgotten.
func TestEvictedBreakerThatOpensIsKeptWhenUserOnStateChangePanics(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{
				Policy: policy.Consecutive(1), OpenTimeout: time.Minute,
				OnStateChange: func(string, breaker.State, breaker.State) { panic("user's OnStateChange") },
			}
		},
		IdleAfter: time.Minute,
		Clock:     clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	held := mustGet(t, g, "a")
	clk.Add(time.Minute)
	mustGet(t, g, "b") // ends the period in which a was used
	clk.Add(time.Minute)
	mustGet(t, g, "c") // a went a whole period unused: evicted
	for k := range g.All() {
		if k == "a" {
			t.Fatal("a was not evicted")
		}
	}
	mustPanic(t, held.Trip)
	if got := mustGet(t, g, "a"); got != held {
		t.Fatalf("the group forgot a's open circuit: Get gives a new breaker, %v", got.State())
	}
}

// twoOutliers returns a group of ten keys on a mock clock with a
// failure-rate detector that may open two of them, whose OnOutlier panics
// at its first call; and runs an interval in which two keys fail every call.
func twoOutliers(t *testing.T, shadow bool) (*group.Group[string, int], *[]group.Outlier[string]) {
	t.Helper()
	clk := epochs.Mock(epochs.Today)
	var seen []group.Outlier[string]
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1000), OpenTimeout: time.Minute}
		},
		Outliers: &group.Outliers{FailureRate: &group.FailureRateTest{}, MaxEjectedShare: 0.2, Shadow: shadow},
		OnOutlier: func(o group.Outlier[string]) {
			seen = append(seen, o)
			if len(seen) == 1 {
				panic("OnOutlier")
			}
		},
		Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		calls(t, g, fmt.Sprint("h", i), 50, 0)
	}
	calls(t, g, "bad1", 50, 50)
	calls(t, g, "bad2", 50, 50)
	clk.Add(10 * time.Second)
	mustPanic(t, func() { g.DetectOutliers() })
	return g, &seen
}

// An OnOutlier that panicked at the first outlier of an evaluation used
// to leave the others unopened, uncounted and unreported; in shadow they
// were noted as ejected (and not judged while they would have been out)
// without a word.
func TestOutlierPanicInOnOutlierLosesNoOutlier(t *testing.T) {
	for _, shadow := range []bool{false, true} {
		t.Run(fmt.Sprint("shadow=", shadow), func(t *testing.T) {
			g, seen := twoOutliers(t, shadow)
			if len(*seen) != 2 {
				t.Fatalf("OnOutlier saw %d outliers, want 2: %+v", len(*seen), *seen)
			}
			for _, o := range *seen {
				if !o.Opened {
					t.Errorf("%s not opened: %v", o.Key, o)
				}
				if st := mustGet(t, g, o.Key).State(); shadow != (st == breaker.Closed) {
					t.Errorf("%s is %v (shadow %v)", o.Key, st, shadow)
				}
			}
			if s := g.OutlierStats(); s.Found != 2 || s.Ejected != 2 {
				t.Fatalf("stats %+v, want 2 found and 2 ejected", s)
			}
		})
	}
}

// evictAll makes every key of g that has no open circuit go a whole idle
// period (IdleAfter: a minute) unused, and so evicted.
func evictAll(t *testing.T, g *group.Group[string, int], clk interface{ Add(time.Duration) }, key string) {
	t.Helper()
	clk.Add(time.Minute)
	mustGet(t, g, "x1") // ends the period in which the keys were used
	clk.Add(time.Minute)
	mustGet(t, g, "x2") // ends a period in which they were not
	for k := range g.All() {
		if k == key {
			t.Fatalf("%s was not evicted", key)
		}
	}
}

// A key's ejections were remembered on its breaker only: once the key
// came back, went an idle period unused and was evicted, its next breaker
// started with a clean record, and a host that fails on and off for longer
// than IdleAfter was ejected for EjectFor each time.
func TestEjectionMemorySurvivesEviction(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1000), OpenTimeout: time.Minute}
		},
		Outliers:  &group.Outliers{SuccessRate: &group.SuccessRateTest{}, EjectForget: time.Hour},
		IdleAfter: time.Minute,
		Clock:     clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	eject := func() time.Duration {
		t.Helper()
		for i := range 9 {
			calls(t, g, fmt.Sprint("h", i), 100, 1)
		}
		calls(t, g, "bad", 100, 40)
		clk.Add(10 * time.Second)
		g.DetectOutliers()
		ts := mustGet(t, g, "bad").Transitions()
		if len(ts) == 0 || ts[len(ts)-1].To != breaker.Open {
			t.Fatalf("bad not ejected: %+v", ts)
		}
		return ts[len(ts)-1].Until.Sub(ts[len(ts)-1].At)
	}
	if d := eject(); d != time.Minute {
		t.Fatalf("first ejection %v, want 1m", d)
	}
	clk.Add(time.Minute)
	calls(t, g, "bad", 3, 0) // three probes close it
	evictAll(t, g, clk, "bad")
	if d := eject(); d != 2*time.Minute {
		t.Fatalf("ejected again within EjectForget, after an eviction: %v, want 2m", d)
	}
}

// The same for a detector in shadow: a key it would have opened is really
// closed, so the group may evict it while the shadow holds it out; its
// next breaker was judged, and found, at once.
func TestShadowEjectionSurvivesEviction(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1000), OpenTimeout: time.Minute}
		},
		Outliers:  &group.Outliers{SuccessRate: &group.SuccessRateTest{}, EjectFor: time.Hour, Shadow: true},
		IdleAfter: time.Minute,
		Clock:     clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	interval := func() []group.Outlier[string] {
		for i := range 9 {
			calls(t, g, fmt.Sprint("h", i), 100, 1)
		}
		calls(t, g, "bad", 100, 40)
		clk.Add(10 * time.Second)
		return g.DetectOutliers()
	}
	if got := interval(); len(got) != 1 || !got[0].Opened {
		t.Fatalf("first interval: %+v", got)
	}
	evictAll(t, g, clk, "bad")
	if got := interval(); len(got) != 0 {
		t.Fatalf("found again within the hour the shadow holds it out: %+v", got)
	}
}

// A Clock of the user's that goes back (a wall clock stepped by NTP, a
// mock set back) used to stop the detector until it caught up with the
// time of the next evaluation: an hour back, an hour without detection.
// Now the interval starts again from the earlier time.
func TestDetectorGoesOnAfterTheClockGoesBack(t *testing.T) {
	g, clk, _ := newDetecting(t, group.Outliers{SuccessRate: &group.SuccessRateTest{}}, 0)
	clk.Add(10 * time.Second)
	mustGet(t, g, "h0")
	if n := g.OutlierStats().Evaluations; n != 1 {
		t.Fatalf("%d evaluations, want 1", n)
	}
	clk.Set(clk.Now().Add(-time.Hour))
	mustGet(t, g, "h0") // sees the clock went back: the next evaluation is an interval away
	clk.Add(10 * time.Second)
	mustGet(t, g, "h0")
	if n := g.OutlierStats().Evaluations; n != 2 {
		t.Fatalf("%d evaluations an interval after the clock went back an hour, want 2", n)
	}
}

// The same for the group's idle periods: a clock that went back an hour
// used to keep every idle breaker for that hour more.
func TestIdlePeriodsGoOnAfterTheClockGoesBack(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	g, err := group.New(group.Config[string, int]{
		New:       func(string) breaker.Config[int] { return breaker.Config[int]{} },
		IdleAfter: time.Minute,
		Clock:     clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	mustGet(t, g, "a")
	clk.Set(clk.Now().Add(-time.Hour))
	mustGet(t, g, "b") // sees the clock went back: the period starts again
	clk.Add(time.Minute)
	mustGet(t, g, "c") // ends the period in which a and b were used
	clk.Add(time.Minute)
	mustGet(t, g, "d") // a went a whole period unused
	for k := range g.All() {
		if k == "a" {
			t.Fatal("a, unused for two minutes of a one-minute IdleAfter, is kept")
		}
	}
}

// Every float field of the config, given NaN, an infinity or a negative
// value, fails New with a ConfigError that names it: none is taken in, to
// panic or misjudge later.
func TestEveryFloatFieldRefusesNaNInfAndNegative(t *testing.T) {
	newCfg := func(string) breaker.Config[int] { return breaker.Config[int]{} }
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -0.5} {
		for field, cfg := range map[string]group.Config[string, int]{
			"MaxOpenShare":                     {MaxOpenShare: v},
			"Outliers.MaxEjectedShare":         {Outliers: &group.Outliers{SuccessRate: &group.SuccessRateTest{}, MaxEjectedShare: v}},
			"Outliers.SuccessRate.StdevFactor": {Outliers: &group.Outliers{SuccessRate: &group.SuccessRateTest{StdevFactor: v}}},
			"Outliers.SuccessRate.MinGap":      {Outliers: &group.Outliers{SuccessRate: &group.SuccessRateTest{MinGap: v}}},
			"Outliers.FailureRate.Threshold":   {Outliers: &group.Outliers{FailureRate: &group.FailureRateTest{Threshold: v}}},
		} {
			cfg.New = newCfg
			_, err := group.New(cfg)
			var ce *group.ConfigError
			if !errors.As(err, &ce) || ce.Field != field || !errors.Is(err, breaker.ErrInvalidConfig) {
				t.Errorf("%s = %v: got %v", field, v, err)
			}
		}
		if v < 0 && !math.IsInf(v, 0) {
			continue // a negative NoiseFactor turns the noise test off
		}
		_, err := group.New(group.Config[string, int]{New: newCfg,
			Outliers: &group.Outliers{SuccessRate: &group.SuccessRateTest{NoiseFactor: v}}})
		var ce *group.ConfigError
		if !errors.As(err, &ce) || ce.Field != "Outliers.SuccessRate.NoiseFactor" {
			t.Errorf("NoiseFactor = %v: got %v", v, err)
		}
	}
}

// A key's breaker reconfigured with a new policy no longer asks the cap
// before it trips (the group wraps the policy it builds, not one given
// later), but the cap still holds: the open is undone at its transition,
// as Trip's is, and counted right.
func TestCapHoldsAfterReconfigure(t *testing.T) {
	g := newCapped(t, 0.5, false)
	a, b := mustGet(t, g, "a"), mustGet(t, g, "b")
	if err := b.Reconfigure(breaker.Settings{Policy: policy.Consecutive(1), OpenTimeout: time.Minute}, "test", "new policy"); err != nil {
		t.Fatal(err)
	}
	a.Trip()
	fail(g, "b")
	if sa, sb := a.State(), b.State(); sa != breaker.Open || sb != breaker.Closed {
		t.Fatalf("a is %v, b is %v: want a open and b kept closed", sa, sb)
	}
	if kc := g.KeptClosed(); len(kc) != 1 || kc[0].Key != "b" || kc[0].By != "policy" {
		t.Fatalf("KeptClosed: %+v", kc)
	}
	a.Reset()
	fail(g, "b")
	if st := b.State(); st != breaker.Open {
		t.Fatalf("b is %v with room under the cap", st)
	}
	open, _ := g.OpenLimit()
	if _, actual := countOpen(g); open != actual {
		t.Fatalf("the cap counts %d keys open, the breakers say %d", open, actual)
	}
}

// KeptClosed's doc says a key leaves the list when its circuit opens. One
// kept closed once and then opened by Trip, ForceOpen or a fleet, with room
// under the cap, stayed listed as kept closed while it was open.
func TestKeptClosedForgetsAKeyThatOpens(t *testing.T) {
	for name, open := range map[string]func(*breaker.Breaker[int]){
		"Trip":      (*breaker.Breaker[int]).Trip,
		"ForceOpen": (*breaker.Breaker[int]).ForceOpen,
		"Adopt": func(b *breaker.Breaker[int]) {
			b.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: time.Minute})
		},
	} {
		t.Run(name, func(t *testing.T) {
			g := newCapped(t, 0.5, false)
			a, b := mustGet(t, g, "a"), mustGet(t, g, "b")
			a.Trip()
			fail(g, "b")
			if kc := g.KeptClosed(); len(kc) != 1 || kc[0].Key != "b" {
				t.Fatalf("KeptClosed: %+v", kc)
			}
			a.Reset()
			open(b)
			if st := b.State(); st != breaker.Open {
				t.Fatalf("b is %v", st)
			}
			if kc := g.KeptClosed(); len(kc) != 0 {
				t.Fatalf("b is open, and KeptClosed lists it: %+v", kc)
			}
		})
	}
}

// The detector, its ejections that remember and their memory across an
// eviction, from every epoch, with the longest ejections there are and,
// on a clock with a monotonic reading, the wall clock stepped back an hour
// between evaluations (which the detector must not see).
func TestDetectorAtEveryEpoch(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		for _, ejectFor := range []time.Duration{0, math.MaxInt64 / 3} {
			var clk interface {
				Now() time.Time
				Add(time.Duration)
			}
			var step func()
			if epochs.HasMono(start) {
				c := epochs.NewClock(start)
				clk, step = c, func() { c.StepWall(-time.Hour) }
			} else {
				m := epochs.Mock(start)
				clk, step = m, func() {}
			}
			g, err := group.New(group.Config[string, int]{
				New: func(string) breaker.Config[int] {
					return breaker.Config[int]{Policy: policy.Consecutive(1000), OpenTimeout: time.Minute}
				},
				Outliers:  &group.Outliers{SuccessRate: &group.SuccessRateTest{}, EjectFor: ejectFor, EjectForget: time.Hour},
				IdleAfter: time.Minute,
				Clock:     clk,
			})
			if err != nil {
				t.Fatal(err)
			}
			eject := func() time.Duration {
				t.Helper()
				for i := range 9 {
					calls(t, g, fmt.Sprint("h", i), 100, 1)
				}
				calls(t, g, "bad", 100, 40)
				clk.Add(10 * time.Second)
				step()
				if got := g.DetectOutliers(); len(got) != 1 || got[0].Key != "bad" || !got[0].Opened {
					t.Fatalf("EjectFor %v: outliers %+v", ejectFor, got)
				}
				ts := mustGet(t, g, "bad").Transitions()
				return ts[len(ts)-1].Until.Sub(ts[len(ts)-1].At)
			}
			first := eject()
			if want := cmpOr(ejectFor, time.Minute); first != want {
				t.Fatalf("first ejection %v, want %v", first, want)
			}
			if ejectFor != 0 {
				continue // it never comes back
			}
			clk.Add(time.Minute)
			calls(t, g, "bad", 3, 0)
			evictAll(t, g, clk, "bad")
			if d := eject(); d != 2*time.Minute {
				t.Fatalf("second ejection %v, want 2m", d)
			}
		}
	})
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// KeptClosed.Times counts the requests turned down since the key was first
// kept closed. A Trip refused twice counted 1: the close that undoes an
// open resets the key's policy, which dropped the record before the
// refusal was noted again.
func TestKeptClosedCountsEveryRefusedTrip(t *testing.T) {
	g := newCapped(t, 0.5, false)
	a, b := mustGet(t, g, "a"), mustGet(t, g, "b")
	a.Trip()
	b.Trip()
	b.Trip()
	if kc := g.KeptClosed(); len(kc) != 1 || kc[0].Key != "b" || kc[0].By != "manual" || kc[0].Times != 2 {
		t.Fatalf("KeptClosed: %+v, want b kept closed twice", kc)
	}
}

// OnOutlier may call back into the group and the breaker it reports: no
// lock of the group is held while it runs.
func TestOnOutlierMayCallTheGroup(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	var g *group.Group[string, int]
	var seen int
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1000), OpenTimeout: time.Minute}
		},
		Outliers:     &group.Outliers{FailureRate: &group.FailureRateTest{}},
		MaxOpenShare: 0.5,
		OnOutlier: func(o group.Outlier[string]) {
			seen++
			b := mustGet(t, g, o.Key)
			g.KeptClosed()
			g.OpenLimit()
			g.OutlierStats()
			g.DetectOutliers()
			for range g.All() {
			}
			b.Reset()
			mustGet(t, g, "new")
		},
		Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		calls(t, g, fmt.Sprint("h", i), 50, 0)
	}
	calls(t, g, "bad", 50, 50)
	clk.Add(10 * time.Second)
	g.DetectOutliers()
	if seen != 1 {
		t.Fatalf("OnOutlier ran %d times", seen)
	}
	if st := mustGet(t, g, "bad").State(); st != breaker.Closed {
		t.Fatalf("bad is %v after OnOutlier reset it", st)
	}
	open, _ := g.OpenLimit()
	if _, actual := countOpen(g); open != actual {
		t.Fatalf("the cap counts %d open, the breakers %d", open, actual)
	}
}

// docs/group.md said that one bad key among n stands at most (n-1)/√n
// population standard deviations from the mean, so that with the default
// factor of 1.9 a single outlier needed 6 keys. It stands √(n-1) away:
// with 5 keys, 2 deviations, and it is found; with 4, √3 ≈ 1.73, and not.
func TestSuccessRateOneOutlierAmongFiveKeysIsFound(t *testing.T) {
	for n, want := range map[int]int{4: 0, 5: 1} {
		g, clk, _ := newDetecting(t, group.Outliers{
			SuccessRate: &group.SuccessRateTest{MinKeys: 4, NoiseFactor: group.NoNoiseTest},
		}, 0)
		for i := range n - 1 {
			calls(t, g, fmt.Sprint("h", i), 100, 0)
		}
		calls(t, g, "bad", 100, 100)
		clk.Add(10 * time.Second)
		if got := g.DetectOutliers(); len(got) != want {
			t.Errorf("%d keys: %d outliers %v, want %d", n, len(got), got, want)
		}
	}
}

// A Clock that is a nil pointer of a type that implements it (a
// *clock.Mock never set) is bad input, which breaker.New refuses with a
// ConfigError for "Clock"; group.New read it at once, and panicked.
func TestNilPointerClockIsAConfigError(t *testing.T) {
	var clk *clock.Mock
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("group.New panicked: %v", r)
		}
	}()
	_, err := group.New(group.Config[string, int]{
		New:   func(string) breaker.Config[int] { return breaker.Config[int]{} },
		Clock: clk,
	})
	var ce *group.ConfigError
	if !errors.As(err, &ce) || ce.Field != "Clock" || !errors.Is(err, breaker.ErrInvalidConfig) {
		t.Fatalf("got %v, want a ConfigError for Clock", err)
	}
}

// A New that returns a nil pointer as its Policy (a *ConsecutivePolicy
// never built) is bad input. group.New blamed it as "the same Policy
// twice" (two nil pointers share address 0), and with a cap, whose wrapper
// hid the nil from breaker.New, Get panicked deep in the policy's Bind.
func TestNilPointerPolicyIsAConfigError(t *testing.T) {
	for _, share := range []float64{0, 0.5} {
		for _, atZero := range []bool{true, false} {
			t.Run(fmt.Sprint("share=", share, "/atZeroKey=", atZero), func(t *testing.T) {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				g, err := group.New(group.Config[string, int]{
					New: func(k string) breaker.Config[int] {
						if k == "" && !atZero {
							return breaker.Config[int]{}
						}
						var p *policy.ConsecutivePolicy
						return breaker.Config[int]{Policy: p}
					},
					MaxOpenShare: share,
				})
				if err == nil {
					_, err = g.Get("a")
				}
				if !errors.Is(err, breaker.ErrInvalidConfig) || !strings.Contains(err.Error(), "nil *policy.ConsecutivePolicy") {
					t.Fatalf("got %v, want an error that says the Policy is a nil *policy.ConsecutivePolicy", err)
				}
			})
		}
	}
}
