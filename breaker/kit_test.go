package breaker_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// What the fuzz targets, the soak and the stress test share.

// policyArgs are the arguments of every policy constructor, as one value, so
// that one fuzz input can build any policy. Each constructor takes those it
// needs; the combinators give the same ones to each child.
type policyArgs struct {
	N     int           // Consecutive's and Window's failures; Rate's, LastN's and Slow's minCalls
	M     int           // LastN's n
	Over  time.Duration // the trailing span of Window, Rate and Slow
	Slow  time.Duration // Slow's threshold
	Ratio float64       // the ratio of Rate, LastN and Slow
}

// policyKind is one way to give a breaker its policy: leave it nil (the
// default) or build one of the built-ins. Adding a built-in policy to the
// config fuzzer, its seeds and the soak is one entry in policyKinds.
type policyKind struct {
	name  string
	build func(policyArgs) policy.Policy
	// typical builds a valid policy that trips under a burst of failures
	// and recovers under successes, for the soak and the fuzz seeds. Slow
	// is the exception: it counts slow calls, not failures, and on the
	// frozen clocks of the soak and the fuzz targets no call takes any
	// time, so it trips only with the help of a failure policy (any,
	// nested) or by Trip.
	typical policyArgs
}

// The builders of the policies that take part in the combinations.
func consecutiveOf(a policyArgs) policy.Policy { return policy.Consecutive(a.N) }
func windowOf(a policyArgs) policy.Policy      { return policy.Window(a.N, a.Over) }
func rateOf(a policyArgs) policy.Policy        { return policy.Rate(a.Ratio, a.N, a.Over) }
func lastNOf(a policyArgs) policy.Policy       { return policy.LastN(a.Ratio, a.N, a.M) }
func slowOf(a policyArgs) policy.Policy        { return policy.Slow(a.Slow, a.Ratio, a.N, a.Over) }

// typicalArgs trip every policy that counts failures within ten calls, and
// count a call as slow after a second.
var typicalArgs = policyArgs{N: 5, M: 10, Over: 10 * time.Second, Slow: time.Second, Ratio: 0.5}

var policyKinds = []policyKind{
	{"default", func(policyArgs) policy.Policy { return nil }, policyArgs{}},
	{"consecutive", consecutiveOf, policyArgs{N: 5}},
	{"window", windowOf, policyArgs{N: 5, Over: 10 * time.Second}},
	{"rate", rateOf, policyArgs{N: 10, Over: 10 * time.Second, Ratio: 0.5}},
	{"lastn", lastNOf, policyArgs{N: 10, M: 20, Ratio: 0.5}},
	{"slow", slowOf, policyArgs{N: 10, Over: 10 * time.Second, Slow: time.Second, Ratio: 0.5}},
	// The lab's combination: hard outages and slowness.
	{"any", func(a policyArgs) policy.Policy { return policy.Any(consecutiveOf(a), slowOf(a)) }, typicalArgs},
	// A high rate that is also a large number of failures.
	{"all", func(a policyArgs) policy.Policy { return policy.All(rateOf(a), windowOf(a)) }, typicalArgs},
	// The combinators within each other.
	{"nested", func(a policyArgs) policy.Policy {
		return policy.All(policy.Any(consecutiveOf(a), slowOf(a)), lastNOf(a))
	}, typicalArgs},
}

// A clockStart is where a time-based test's clock starts, and how its wall
// clock steps while the test runs.
type clockStart struct {
	name string
	at   time.Time
	// wallStep, when set, steps the wall clock by this much at every move
	// of the clock, leaving the monotonic reading alone, as NTP or a
	// resumed virtual machine does to the real clock. Only for starts with
	// a monotonic reading.
	wallStep time.Duration
}

// clockStarts are where every time-based test of the breaker runs from:
// each epoch of epochs.All (today, past 2038 and 2106, the ends of int64
// nanoseconds, 1970, and today and 2038 with a monotonic reading), and
// those with a monotonic reading again with the wall clock stepping an
// hour back, and an hour forward, at every move of the clock. The breaker
// compares times by their monotonic readings: it must not see the steps.
func clockStarts() []clockStart {
	var cs []clockStart
	for _, e := range epochs.All() {
		cs = append(cs, clockStart{name: e.Name, at: e.At})
		if epochs.HasMono(e.At) {
			cs = append(cs,
				clockStart{name: e.Name + "/wall-1h", at: e.At, wallStep: -time.Hour},
				clockStart{name: e.Name + "/wall+1h", at: e.At, wallStep: time.Hour})
		}
	}
	return cs
}

// clockStartsFor returns clockStarts and, for a test whose policy cuts
// time into buckets of width, a start a few buckets before each power of
// two of the bucket index (epochs.For), where any tag made of the index's
// low bits wraps.
func clockStartsFor(width time.Duration) []clockStart {
	cs := clockStarts()
	for _, e := range epochs.For(width)[len(epochs.All()):] {
		cs = append(cs, clockStart{name: e.Name, at: e.At})
	}
	return cs
}

// eachClockStart runs test as a subtest from each of starts.
func eachClockStart(t *testing.T, starts []clockStart, test func(t *testing.T, cs clockStart)) {
	t.Helper()
	for _, cs := range starts {
		t.Run("clock="+cs.name, func(t *testing.T) { test(t, cs) })
	}
}

// manualClock is a breaker.Clock that moves only when told to, from a
// clockStart. Unlike clock.Mock, whose Add pauses for a millisecond of real
// time, it costs nothing, which the fuzz targets and the soak need; and
// Now is one atomic load, so that hundreds of goroutines reading it do not
// queue on a lock.
type manualClock struct {
	start    time.Time
	wallStep time.Duration
	now      atomic.Pointer[time.Time]
}

func newManualClock(cs clockStart) *manualClock {
	c := &manualClock{start: cs.at, wallStep: cs.wallStep}
	start := cs.at
	c.now.Store(&start)
	return c
}

func (c *manualClock) Now() time.Time { return *c.now.Load() }

// Add moves the clock d forward, and steps its wall clock by wallStep.
func (c *manualClock) Add(d time.Duration) {
	for {
		old := c.now.Load()
		next := old.Add(d)
		if c.wallStep != 0 {
			next = stepWall(next, c.wallStep)
		}
		if c.now.CompareAndSwap(old, &next) {
			return
		}
	}
}

// stepWall is epochs.StepWall where t and its wall time stepped by d can
// carry a monotonic reading (Go keeps one from 1885 to 2157); elsewhere it
// returns t as it is.
func stepWall(t time.Time, d time.Duration) time.Time {
	if w := t.Round(0).Add(d); !epochs.HasMono(t) || w.Year() < 1900 || w.Year() > 2150 {
		return t
	}
	return epochs.StepWall(t, d)
}

// countingPolicy counts the calls its breaker records, in all and, when
// perPeriod is set, for each closed period: the records made since the
// policy's last Reset (period 0 is the one before the first). It passes
// everything on to the policy it wraps, including the optional interfaces.
type countingPolicy struct {
	policy.Policy
	records   atomic.Uint64
	resets    atomic.Uint64 // Reset calls: the number of the current period
	perPeriod *periodCounts // nil: records are not counted by period
}

func (p *countingPolicy) Record(c policy.Call) bool {
	p.records.Add(1)
	if p.perPeriod != nil {
		p.perPeriod.add(p.resets.Load(), 1)
	}
	return p.Policy.Record(c)
}

// Reset starts a new period first, so that a record made after the
// wrapped policy forgot its calls is counted in the period that follows.
func (p *countingPolicy) Reset() {
	p.resets.Add(1)
	p.Policy.Reset()
}

// periodCounts counts by period, from any goroutine.
type periodCounts struct {
	m sync.Map // uint64 -> *atomic.Uint64
}

func (c *periodCounts) add(period, n uint64) {
	v, ok := c.m.Load(period)
	if !ok {
		v, _ = c.m.LoadOrStore(period, new(atomic.Uint64))
	}
	v.(*atomic.Uint64).Add(n)
}

// take returns the counts of the periods before until and forgets them.
func (c *periodCounts) take(until uint64) map[uint64]uint64 {
	out := map[uint64]uint64{}
	c.m.Range(func(k, v any) bool {
		if k.(uint64) < until {
			out[k.(uint64)] = v.(*atomic.Uint64).Load()
			c.m.Delete(k)
		}
		return true
	})
	return out
}

// Unwrap keeps the terms of the counted policy: policy.Bind binds it.
func (p *countingPolicy) Unwrap() policy.Policy { return p.Policy }
