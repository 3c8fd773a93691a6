// Package exporttest holds the test fixtures that prombreaker and
// otelbreaker share: the same breakers, groups and calls behind each
// exporter's tests, so that the two report on one scenario.
package exporttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// MockClock is the part of the mock clock epochs.Mock returns that the
// tests use.
type MockClock interface{ Add(time.Duration) }

// Hosts returns a group of hosts on a mock clock at today's date, with a
// success-rate detector (in shadow or not), whose keys' own policies never
// trip in these tests.
func Hosts(t testing.TB, shadow bool) (*group.Group[string, int], MockClock) {
	t.Helper()
	clk := epochs.Mock(epochs.Today)
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1000), OpenTimeout: time.Minute}
		},
		Outliers: &group.Outliers{SuccessRate: &group.SuccessRateTest{}, Shadow: shadow},
		Clock:    clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g, clk
}

// OneBadHost runs an interval of calls on g: nine hosts failing 1% of 100
// calls, "bad" failing 40%; then it moves the clock past the interval and
// runs the detector.
func OneBadHost(g *group.Group[string, int], clk MockClock) {
	down := errors.New("503")
	for h := range 10 {
		key, failures := fmt.Sprint("h", h), 1
		if h == 9 {
			key, failures = "bad", 40
		}
		for i := range 100 {
			var err error
			if i < failures {
				err = down
			}
			g.Execute(context.Background(), key, func(context.Context) (int, error) { return 0, err })
		}
	}
	clk.Add(10 * time.Second)
	g.DetectOutliers()
}

// TrialAndLive returns two groups of Hosts after one interval of
// OneBadHost each: trial's detector in shadow, live's enforcing.
func TrialAndLive(t testing.TB) (trial, live *group.Group[string, int]) {
	t.Helper()
	trial, clk := Hosts(t, true)
	OneBadHost(trial, clk)
	live, clk = Hosts(t, false)
	OneBadHost(live, clk)
	return trial, live
}

// Panicky is a candidate's policy with a bug: it panics on every Record.
type Panicky struct{}

// Record panics.
func (Panicky) Record(policy.Call) bool { panic("panicky policy") }

// Reset does nothing.
func (Panicky) Reset() {}

// Quick is a candidate that opens at the first failure, for a minute, and
// probes with one call.
func Quick() breaker.Shadow {
	return breaker.Shadow{Name: "quick", Settings: breaker.Settings{
		Policy: policy.Consecutive(1), OpenTimeout: time.Minute, HalfOpenProbes: 1}}
}

// WithCandidates returns a breaker named "solo" and a group of hosts whose
// breakers are configured alike: a live policy that never opens, and two
// candidates that do, "c2" and "w".
func WithCandidates(t testing.TB) (*breaker.Breaker[int], *group.Group[string, int]) {
	t.Helper()
	cfg := func(string) breaker.Config[int] {
		return breaker.Config[int]{Policy: policy.Consecutive(1 << 20), Shadows: []breaker.Shadow{
			{Name: "c2", Settings: breaker.Settings{Policy: policy.Consecutive(2), OpenTimeout: time.Nanosecond}},
			{Name: "w", Settings: breaker.Settings{Policy: policy.Window(3, time.Second)}},
		}}
	}
	hosts, err := group.New(group.Config[string, int]{New: cfg})
	if err != nil {
		t.Fatal(err)
	}
	solo := cfg("")
	solo.Name = "solo"
	b, err := breaker.New(solo)
	if err != nil {
		t.Fatal(err)
	}
	return b, hosts
}

// CallsPerWorker is the number of calls each worker of StartCalls makes on
// the solo breaker and, as many, on the group's keys.
const CallsPerWorker = 300

// StartCalls starts workers goroutines, each making CallsPerWorker calls
// on solo and as many on the keys "h0" to "h3" of hosts, one in three
// failing with fail. The caller collects while they run, then calls the
// wait returned (also on its way out, should a collection fail the test).
func StartCalls(solo *breaker.Breaker[int], hosts *group.Group[string, int], workers int, fail error) (wait func()) {
	call := func(b *breaker.Breaker[int], err error) {
		b.Execute(context.Background(), func(context.Context) (int, error) { return 0, err })
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range CallsPerWorker {
				var err error
				if i%3 == 0 {
					err = fail
				}
				call(solo, err)
				h, _ := hosts.Get(fmt.Sprint("h", (w+i)%4))
				call(h, err)
			}
		}()
	}
	return wg.Wait
}

// DetectAndAdd starts, in wg, two workers that each run five intervals of
// OneBadHost on g, one interval at a time since the clock moves between
// them, and after each call add with a name not used before. The caller
// collects in wg beside them, then waits for wg: g has then been judged
// ten times.
func DetectAndAdd(t testing.TB, wg *sync.WaitGroup, g *group.Group[string, int], clk MockClock, add func(name string) error) {
	var mu sync.Mutex
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				mu.Lock()
				OneBadHost(g, clk)
				mu.Unlock()
				if err := add(fmt.Sprint("more", w, i)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
}
