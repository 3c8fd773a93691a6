package breaker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

var errReshadow = errors.New("dependency failed")

// observedBits returns whether calls go through admission (gated) and
// whether permits must report through the observers (needObserved).
func observedBits(c *core) (gated, observed bool) {
	return c.gated.Load(), c.needs.Load()&needObserved != 0
}

// A breaker built without candidates takes the observed path once it has
// some, and its plain paths again once they are gone and the last call
// that was offered to them ended: not before, or that call's permit would
// take Done's shortcut and drop what it holds.
func TestReconfigureShadowsObservedPathBothWays(t *testing.T) {
	b, err := New(Config[int]{Clock: epochs.NewClock(epochs.Today), Policy: policy.Rate(0.5, 10, time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if g, o := observedBits(b.core); g || o {
		t.Fatalf("built without candidates: gated %v, observed %v", g, o)
	}
	if err := b.ReconfigureShadows([]Shadow{{Name: "a", Settings: Settings{Policy: policy.Consecutive(1)}}}, "", ""); err != nil {
		t.Fatal(err)
	}
	if g, o := observedBits(b.core); !g || !o {
		t.Fatalf("with a candidate: gated %v, observed %v", g, o)
	}
	p, err := b.Allow()
	if err != nil || p.w != inToken || p.tok.t.obs == nil {
		t.Fatalf("Allow: %v, observed %v", err, p.tok.t.obs)
	}
	if err := b.ReconfigureShadows(nil, "", ""); err != nil {
		t.Fatal(err)
	}
	if g, o := observedBits(b.core); g || !o {
		t.Fatalf("candidates gone, a call in flight: gated %v, observed %v; want false, true", g, o)
	}
	p.Done(1, nil)
	if g, o := observedBits(b.core); g || o {
		t.Fatalf("candidates gone, no call in flight: gated %v, observed %v", g, o)
	}
	if n := b.obs.Load().inflight.Load(); n != 0 {
		t.Fatalf("inflight = %d", n)
	}
	// The plain path again: no observed handed out.
	p, _ = b.Allow()
	if p.w == inToken {
		t.Fatal("a plain call holds an observed")
	}
	p.Done(0, errReshadow)
	// A Reconfigure meanwhile keeps what the observers need, and the
	// observers keep what the policy needs.
	if err := b.ReconfigureShadows([]Shadow{{Name: "a"}}, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := b.Reconfigure(Settings{Policy: policy.Slow(time.Second, 0.5, 10, time.Minute)}, "", ""); err != nil {
		t.Fatal(err)
	}
	if g, o := observedBits(b.core); !g || !o || b.needs.Load()&uint32(policy.NeedDuration) == 0 {
		t.Fatalf("after Reconfigure: gated %v, observed %v, needs %b", g, o, b.needs.Load())
	}
	if err := b.ReconfigureShadows(nil, "", ""); err != nil {
		t.Fatal(err)
	}
	if g, o := observedBits(b.core); !g || o || b.needs.Load()&uint32(policy.NeedDuration) == 0 {
		t.Fatalf("Slow without candidates: gated %v (want true: durations), observed %v, needs %b", g, o, b.needs.Load())
	}
}

// TestReconfigureShadowsStress changes the candidates over and over while
// goroutines run calls (Execute, Allow and Done or Release) and read
// Shadows, under -race. Phase one keeps candidate "a" in every set: it
// must have been offered every call that ran. Phase two also empties the
// set: at the end, with no candidate and no call in flight, the breaker
// is back on its plain paths.
func TestReconfigureShadowsStress(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	b, err := New(Config[int]{Clock: clk, Policy: policy.Rate(0.5, 20, 5*time.Second), OpenTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	a := func() Shadow {
		return Shadow{Name: "a", Settings: Settings{Policy: policy.Consecutive(1000), Text: "consecutive(1000)"}}
	}
	others := func(i int) []Shadow {
		switch i % 4 {
		case 0:
			return nil
		case 1:
			return []Shadow{{Name: "b", Settings: Settings{Policy: policy.Consecutive(3), OpenTimeout: time.Second, HalfOpenProbes: 2}}}
		case 2:
			return []Shadow{{Name: "b", Settings: Settings{Policy: policy.LastN(0.3, 5, 20), OpenTimeout: 2 * time.Second}},
				{Name: "c", Settings: Settings{Policy: policy.Slow(time.Millisecond, 0.5, 5, time.Second), ProbeTimeout: 500 * time.Millisecond}}}
		default:
			return []Shadow{{Name: "c", Settings: Settings{Policy: policy.Consecutive(2)}}}
		}
	}
	if err := b.ReconfigureShadows([]Shadow{a()}, "", ""); err != nil {
		t.Fatal(err)
	}
	var ran atomic.Int64
	run := func(phase, g int) {
		for i := range 800 {
			fail := (i+g)%3 == 0 || (i/100)%2 == 0
			if i%2 == 0 {
				_, err := b.Execute(context.Background(), func(context.Context) (int, error) {
					ran.Add(1)
					if fail {
						return 0, errReshadow
					}
					return 1, nil
				})
				_ = err
				continue
			}
			p, err := b.Allow()
			if err != nil {
				continue
			}
			ran.Add(1)
			switch {
			case i%7 == 0:
				p.Release()
			case fail:
				p.Done(0, errReshadow)
			default:
				p.Done(1, nil)
			}
		}
	}
	for phase := range 2 {
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for g := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				run(phase, g)
			}()
		}
		var aux sync.WaitGroup
		aux.Add(1)
		go func() {
			defer aux.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				set := others(i)
				if phase == 0 || i%3 != 0 {
					set = append([]Shadow{a()}, set...)
				}
				if err := b.ReconfigureShadows(set, "stress", ""); err != nil {
					t.Error(err)
					return
				}
				clk.Add(20 * time.Millisecond)
				for _, st := range b.Shadows() {
					if st.Panics != 0 {
						t.Errorf("candidate %s panicked: %s", st.Name, st.LastPanic)
					}
				}
				b.Transitions()
			}
		}()
		wg.Wait()
		close(stop)
		aux.Wait()
		if phase == 0 {
			var st ShadowStatus
			for _, s := range b.Shadows() {
				if s.Name == "a" {
					st = s
				}
			}
			if st.Calls != uint64(ran.Load()) {
				t.Fatalf("a, kept throughout, was offered %d calls; %d ran", st.Calls, ran.Load())
			}
		}
	}
	if err := b.ReconfigureShadows(nil, "", ""); err != nil {
		t.Fatal(err)
	}
	if g, o := observedBits(b.core); g || o {
		t.Fatalf("at the end: gated %v, observed %v", g, o)
	}
	if n := b.obs.Load().inflight.Load(); n != 0 {
		t.Fatalf("inflight = %d", n)
	}
}

// A candidate on the real clock whose policy needs the time only to within
// a tolerance reads a coarse clock, as a breaker with its settings would;
// one too fine for it, or on a Clock of the user's, reads the call's
// shared reading. Its open periods stay exact either way: it arms no timer.
func TestShadowCandidatesTakeACoarseClockWhereABreakerWould(t *testing.T) {
	for _, tc := range []struct {
		name   string
		clock  Clock
		over   time.Duration
		coarse bool
	}{
		{"real clock, rate over 10s", nil, 10 * time.Second, true},
		{"real clock, rate over 500ms", nil, 500 * time.Millisecond, false},
		{"user clock, rate over 10s", epochs.NewClock(epochs.Today), 10 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(Config[int]{Clock: tc.clock, Shadows: []Shadow{{Name: "c",
				Settings: Settings{Policy: policy.Rate(0.5, 10, tc.over)}}}})
			if err != nil {
				t.Fatal(err)
			}
			cd := b.obs.Load().candidates()[0]
			if got := cd.c.coarse.Load() != nil; got != tc.coarse {
				t.Fatalf("candidate has a coarse clock: %v, want %v", got, tc.coarse)
			}
			if !cd.c.exact {
				t.Fatal("a candidate arms timers for its open periods")
			}
			// A breaker with the same settings agrees.
			r, err := New(Config[int]{Clock: tc.clock, Policy: policy.Rate(0.5, 10, tc.over)})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.coarse.Load() != nil; got != tc.coarse {
				t.Fatalf("a breaker with the candidate's settings has a coarse clock: %v, want %v", got, tc.coarse)
			}
			for range 100 {
				_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil })
			}
			if s := b.Shadows()[0]; s.Calls != 100 || s.State != Closed {
				t.Fatalf("candidate saw %d calls and is %v, want 100 and closed", s.Calls, s.State)
			}
		})
	}
}
