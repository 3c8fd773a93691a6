package policy_test

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/window"
	"github.com/tripwire-go/tripwire/window/windowtest"
)

// reference is a brute-force model of a policy: the windows are the
// windowtest models, plain slices of calls that know the bucket boundaries,
// so the verdicts must agree exactly.
type reference struct {
	record func(policy.Call) bool
	reset  func()
}

// pair is a policy and its reference, built from the same drawn arguments.
type pair struct {
	real policy.Policy
	ref  reference
}

// params are drawn once per test case, so that the clock steps can aim at
// the edges of the windows the policies use.
type params struct {
	over, threshold time.Duration
}

func ratios() *rapid.Generator[float64] {
	return rapid.OneOf(
		rapid.SampledFrom([]float64{0.1, 0.25, 0.3, 1.0 / 3, 0.5, 2.0 / 3, 0.75, 1}),
		rapid.Float64Range(0.01, 1),
	)
}

// timed pairs a time-window policy with a reference over the model of its
// window: slow says which calls count as slow, verdict judges the sums.
func timed(real policy.Policy, over time.Duration, slow func(policy.Call) bool, verdict func(window.Counts) bool) pair {
	m := windowtest.NewTime(over)
	return pair{real, reference{
		record: func(c policy.Call) bool {
			m.Record(c.At, window.Mark(c.Failed, slow(c)))
			return verdict(m.Sum(c.At))
		},
		reset: m.Reset,
	}}
}

// share is the definition every ratio policy states: at least minCalls
// calls, and part/calls >= ratio.
func share(part, calls int64, minCalls int, ratio float64) bool {
	return calls >= int64(minCalls) && float64(part)/float64(calls) >= ratio
}

func never(policy.Call) bool { return false }

// near draws a duration within off nanoseconds of d, to aim at an edge.
func near(d time.Duration, off int64) *rapid.Generator[time.Duration] {
	return rapid.Custom(func(t *rapid.T) time.Duration {
		return d + time.Duration(rapid.Int64Range(-off, off).Draw(t, "off"))
	})
}

// policies draws any built-in policy, combinators up to depth levels deep.
func policies(p params, depth int) *rapid.Generator[pair] {
	return rapid.Custom(func(t *rapid.T) pair {
		kinds := []string{"consecutive", "window", "rate", "lastn", "slow", "when"}
		if depth > 0 {
			kinds = append(kinds, "any", "all")
		}
		over := rapid.SampledFrom([]time.Duration{p.over, p.over / 3, 2 * p.over}).Draw(t, "over")
		switch kind := rapid.SampledFrom(kinds).Draw(t, "kind"); kind {
		case "consecutive":
			n, streak := rapid.IntRange(1, 6).Draw(t, "failures"), 0
			return pair{policy.Consecutive(n), reference{
				record: func(c policy.Call) bool {
					if !c.Failed {
						streak = 0
						return false
					}
					streak++
					return streak >= n
				},
				reset: func() { streak = 0 },
			}}
		case "when":
			n, streak := int64(rapid.IntRange(1, 6).Draw(t, "failures")), int64(rapid.IntRange(0, 4).Draw(t, "streak"))
			countSlow := rapid.Bool().Draw(t, "countSlow")
			over := max(over, p.threshold)
			trip := func(c policy.Counts) bool {
				return c.Failures >= n && c.ConsecutiveFailures >= streak || countSlow && c.Slow >= n && c.ConsecutiveSuccesses >= streak
			}
			var opts []policy.WhenOption
			if countSlow {
				opts = append(opts, policy.SlowerThan(p.threshold))
			}
			m, run := windowtest.NewTime(over), int64(0)
			return pair{policy.When(over, trip, opts...), reference{
				record: func(c policy.Call) bool {
					m.Record(c.At, window.Mark(c.Failed, countSlow && c.Duration() > p.threshold))
					s := m.Sum(c.At)
					switch {
					case c.Failed && run > 0:
						run++
					case c.Failed:
						run = 1
					case run < 0:
						run--
					default:
						run = -1
					}
					return trip(policy.Counts{Calls: s.Calls, Failures: s.Failures, Slow: s.Slow,
						ConsecutiveFailures: max(run, 0), ConsecutiveSuccesses: max(-run, 0)})
				},
				reset: func() { m.Reset(); run = 0 },
			}}
		case "window":
			n := rapid.IntRange(1, 8).Draw(t, "failures")
			return timed(policy.Window(n, over), over, never, func(s window.Counts) bool { return s.Failures >= int64(n) })
		case "rate":
			ratio, minCalls := ratios().Draw(t, "ratio"), rapid.IntRange(1, 8).Draw(t, "minCalls")
			return timed(policy.Rate(ratio, minCalls, over), over, never, func(s window.Counts) bool {
				return share(s.Failures, s.Calls, minCalls, ratio)
			})
		case "slow":
			ratio, minCalls := ratios().Draw(t, "ratio"), rapid.IntRange(1, 8).Draw(t, "minCalls")
			slow := func(c policy.Call) bool { return c.Duration() > p.threshold }
			over := max(over, p.threshold) // a threshold longer than the window is refused
			return timed(policy.Slow(p.threshold, ratio, minCalls, over), over, slow, func(s window.Counts) bool {
				return share(s.Slow, s.Calls, minCalls, ratio)
			})
		case "lastn":
			n := rapid.IntRange(1, 70).Draw(t, "n")
			ratio, minCalls := ratios().Draw(t, "ratio"), rapid.IntRange(1, n).Draw(t, "minCalls")
			m := windowtest.NewLast(n)
			return pair{policy.LastN(ratio, minCalls, n), reference{
				record: func(c policy.Call) bool {
					m.Record(window.Mark(c.Failed, false))
					s := m.Sum()
					return share(s.Failures, s.Calls, minCalls, ratio)
				},
				reset: m.Reset,
			}}
		default: // any, all
			children := rapid.SliceOfN(policies(p, depth-1), 1, 3).Draw(t, "children")
			reals := make([]policy.Policy, len(children))
			for i, c := range children {
				reals[i] = c.real
			}
			real := policy.Policy(policy.Any(reals...))
			if kind == "all" {
				real = policy.All(reals...)
			}
			return pair{real, reference{
				record: func(c policy.Call) bool {
					trips := 0
					for _, child := range children {
						if child.ref.record(c) {
							trips++
						}
					}
					if kind == "any" {
						return trips > 0
					}
					return trips == len(children)
				},
				reset: func() {
					for _, child := range children {
						child.ref.reset()
					}
				},
			}}
		}
	})
}

// start draws where a run starts: an epoch of internal/epochs for the
// buckets of a window over over.
func start(t *rapid.T, over time.Duration) time.Time {
	return epochs.Gen(epochs.For(over/window.Buckets)).Draw(t, "epoch").At
}

// wallStep steps the wall clock of now by an hour or a second either way,
// if now has a monotonic reading: the policies must not see it.
func wallStep(t *rapid.T, now time.Time) time.Time {
	if !epochs.HasMono(now) {
		return now
	}
	d := rapid.SampledFrom([]time.Duration{-time.Hour, -time.Second, time.Second, time.Hour}).Draw(t, "wallStep")
	if !epochs.HasMono(now.Add(d)) {
		return now
	}
	return epochs.StepWall(now, d)
}

// TestPoliciesMatchReference feeds each drawn policy and its reference the
// same random calls, with clock steps that aim at bucket and window edges
// and sometimes go back, and compares every verdict.
func TestPoliciesMatchReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := params{
			over:      rapid.SampledFrom([]time.Duration{time.Second, time.Minute, 17 * time.Millisecond}).Draw(t, "over"),
			threshold: rapid.SampledFrom([]time.Duration{time.Millisecond, 100 * time.Millisecond}).Draw(t, "threshold"),
		}
		pr := policies(p, 2).Draw(t, "policy")
		if err := check(pr.real); err != nil {
			t.Fatalf("drawn arguments are invalid: %v", err)
		}
		steps := rapid.OneOf(
			rapid.Just(time.Duration(0)),
			near(p.over/window.Buckets, 2), near(p.over, 2), near(p.over/3, 2), near(2*p.over, 2),
			near(p.over-p.over/window.Buckets, 2), near(-p.over/window.Buckets, 2),
			rapid.Custom(func(t *rapid.T) time.Duration {
				return time.Duration(rapid.Int64Range(-int64(p.over)/4, 3*int64(p.over)).Draw(t, "any"))
			}),
		)
		durations := rapid.OneOf(
			rapid.SampledFrom([]time.Duration{0, p.threshold - 1, p.threshold, p.threshold + 1}),
			rapid.Custom(func(t *rapid.T) time.Duration {
				return time.Duration(rapid.Int64Range(0, 2*int64(p.threshold)).Draw(t, "took"))
			}),
		)
		now := start(t, p.over)
		goroutines := newGoroutines(4)
		defer goroutines.stop()
		t.Repeat(map[string]func(*rapid.T){
			"wallStep": func(t *rapid.T) { now = wallStep(t, now) },
			"record": func(t *rapid.T) {
				now = now.Add(steps.Draw(t, "step"))
				c := policy.Call{Failed: rapid.Bool().Draw(t, "failed"), At: now}.WithDuration(durations.Draw(t, "took"))
				// Runs of the same call, so that thresholds are reached,
				// each from a goroutine of its own stack: the windows
				// count calls into a stripe per stack.
				on := rapid.IntRange(0, len(goroutines.in)-1).Draw(t, "goroutine")
				for range rapid.IntRange(1, 4).Draw(t, "times") {
					if got, want := goroutines.record(on, pr.real, c), pr.ref.record(c); got != want {
						t.Fatalf("%v: Record(%+v) = %v, reference says %v", pr.real, c, got, want)
					}
				}
			},
			"reset": func(t *rapid.T) {
				pr.real.Reset()
				pr.ref.reset()
			},
		})
	})
}

// TestRateCachedVerdictsMatchFullEvaluation aims at the cache behind the
// time-window policies: a window sums its older buckets once per bucket and
// judges the calls after that from the cache. Long runs of calls within a
// bucket, with failures now and then, cross minCalls on a success (which
// can trip a Rate without any roll), and steps onto bucket and window edges
// let old calls leave (after which a success can trip it too). Every
// verdict must be the one a full evaluation of the reference gives.
func TestRateCachedVerdictsMatchFullEvaluation(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		over := rapid.SampledFrom([]time.Duration{16, 50, 17 * time.Millisecond, time.Minute}).Draw(t, "over")
		ratio, minCalls := ratios().Draw(t, "ratio"), rapid.IntRange(1, 40).Draw(t, "minCalls")
		pr := timed(policy.Rate(ratio, minCalls, over), over, never, func(s window.Counts) bool {
			return share(s.Failures, s.Calls, minCalls, ratio)
		})
		width := over / window.Buckets
		// Between the calls of a run: mostly none, else within a bucket.
		within := rapid.OneOf(rapid.Just(time.Duration(0)), rapid.Just(time.Duration(0)),
			rapid.Custom(func(t *rapid.T) time.Duration {
				return time.Duration(rapid.Int64Range(0, int64(width)/4).Draw(t, "tick"))
			}))
		// Between runs: onto the edges.
		steps := rapid.OneOf(near(width, 1), near(2*width, 1), near(over-width, 1), near(over, 1), near(-width, 1),
			rapid.Custom(func(t *rapid.T) time.Duration {
				return time.Duration(rapid.Int64Range(0, 2*int64(over)).Draw(t, "any"))
			}))
		now := start(t, over)
		goroutines := newGoroutines(4)
		defer goroutines.stop()
		t.Repeat(map[string]func(*rapid.T){
			"run": func(t *rapid.T) {
				failures := rapid.IntRange(0, 4).Draw(t, "failures") // out of 8
				for range rapid.IntRange(1, 60).Draw(t, "calls") {
					now = now.Add(within.Draw(t, "tick"))
					c := policy.Call{Failed: rapid.IntRange(0, 7).Draw(t, "draw") < failures, At: now}
					on := rapid.IntRange(0, len(goroutines.in)-1).Draw(t, "goroutine")
					if got, want := goroutines.record(on, pr.real, c), pr.ref.record(c); got != want {
						t.Fatalf("%v: Record(%+v) = %v, full evaluation says %v", pr.real, c, got, want)
					}
				}
			},
			"wait": func(t *rapid.T) { now = now.Add(steps.Draw(t, "step")) },
			"reset": func(t *rapid.T) {
				pr.real.Reset()
				pr.ref.reset()
			},
		})
	})
}

// goroutines records calls on a few goroutines of their own, one call at
// a time: as calls from different goroutines, in an order the test draws.
// A time window counts the calls of each goroutine's stack into a stripe
// of its own, and a verdict from one stripe must be the one the reference
// gives for all of them.
type goroutines struct {
	in  []chan func()
	out chan struct{}
}

func newGoroutines(n int) *goroutines {
	g := &goroutines{in: make([]chan func(), n), out: make(chan struct{})}
	for i := range g.in {
		g.in[i] = make(chan func())
		go func() {
			for f := range g.in[i] {
				f()
				g.out <- struct{}{}
			}
		}()
	}
	return g
}

// record calls p.Record(c) on goroutine i and returns its verdict.
func (g *goroutines) record(i int, p policy.Policy, c policy.Call) (trip bool) {
	g.in[i] <- func() { trip = p.Record(c) }
	<-g.out
	return trip
}

// stop ends the goroutines.
func (g *goroutines) stop() {
	for _, in := range g.in {
		close(in)
	}
}
