package breaker_test

import (
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/policy"
)

// What the fuzz targets, the soak and the stress test share.

// policyArgs are the arguments of every policy constructor, as one value, so
// that one fuzz input can build any policy.
type policyArgs struct {
	N     int           // Consecutive's failures; Window's failures; Rate's minCalls
	Over  time.Duration // Window's and Rate's trailing span
	Ratio float64       // Rate's ratio
}

// policyKind is one way to give a breaker its policy: leave it nil (the
// default) or build one of the built-ins. Adding a built-in policy to the
// config fuzzer, its seeds and the soak is one entry in policyKinds.
type policyKind struct {
	name  string
	build func(policyArgs) policy.Policy
	// typical builds a valid policy that trips under a burst of failures
	// and recovers under successes, for the soak and the fuzz seeds.
	typical policyArgs
}

var policyKinds = []policyKind{
	{"default", func(policyArgs) policy.Policy { return nil }, policyArgs{}},
	{"consecutive", func(a policyArgs) policy.Policy { return policy.Consecutive(a.N) }, policyArgs{N: 5}},
}

// manualClock is a breaker.Clock that moves only when told to. Unlike
// clock.Mock, whose Add pauses for a millisecond of real time, it costs
// nothing, which the fuzz targets and the soak need; and Now is one atomic
// load, so that hundreds of goroutines reading it do not queue on a lock.
type manualClock struct {
	now atomic.Pointer[time.Time]
}

// clockStart is where every manualClock starts.
var clockStart = time.Unix(1_000_000, 0).UTC()

func newManualClock() *manualClock {
	c := &manualClock{}
	start := clockStart
	c.now.Store(&start)
	return c
}

func (c *manualClock) Now() time.Time { return *c.now.Load() }

// Add moves the clock d forward.
func (c *manualClock) Add(d time.Duration) {
	for {
		old := c.now.Load()
		next := old.Add(d)
		if c.now.CompareAndSwap(old, &next) {
			return
		}
	}
}

// countingPolicy counts the calls its breaker records, and passes
// everything on to the policy it wraps, including the optional interfaces.
type countingPolicy struct {
	policy.Policy
	records atomic.Uint64
}

func (p *countingPolicy) Record(c policy.Call) bool {
	p.records.Add(1)
	return p.Policy.Record(c)
}

func (p *countingPolicy) Needs() policy.Needs { return policy.NeedsOf(p.Policy) }
func (p *countingPolicy) Validate() error     { return policy.Validate(p.Policy) }
func (p *countingPolicy) Claim() error        { return policy.Claim(p.Policy) }
