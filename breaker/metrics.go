package breaker

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/internal/stripe"
)

// Metrics is a snapshot of a breaker, for dashboards and exporters: see
// [Breaker.Metrics]. The zero value describes a closed breaker that has seen
// nothing.
type Metrics struct {
	// Name is the breaker's name.
	Name string
	// State is the circuit's state. An open circuit whose timeout has
	// passed is reported half-open, as State reports it.
	State State
	// Since is when the circuit entered State (for a breaker that never
	// changed state, when it was built).
	Since time.Time
	// Until is when an open circuit lets probes through; the zero time in
	// the other states, and while the circuit is forced open.
	Until time.Time
	// Mode is the manual mode in force: ModeForcedOpen after ForceOpen,
	// ModeDisabled after Disable, until Reset or another manual action.
	Mode Mode
	// Generation is the circuit's generation, read with State and Mode:
	// every decision and every change of state starts a new one (see
	// Transition.Generation). A coordinator that decides on this snapshot
	// applies its decision with [Breaker.AdoptAt] at this generation, so
	// that it never replaces a change made since. An open circuit that
	// Metrics reports half-open (its period over) keeps the open
	// period's generation until a call or State moves it.
	Generation uint64
	// The times the circuit opened since the breaker was built, counted
	// apart by what opened it, so that an alert on trips does not count an
	// operator's action or a failed probe. Trips: the policy opened a
	// closed circuit. Reopens: a failed half-open probe opened it again.
	// ManualOpens: Trip, TripFor or ForceOpen; TripFor and ForceOpen count
	// on a circuit already open too (it gets a new period or mode), while
	// Trip of an open circuit changes nothing and counts nothing, unless it
	// ends a forced mode. ExternalOpens: an open or
	// forced-open decision adopted with Adopt.
	Trips, Reopens, ManualOpens, ExternalOpens uint64
	// ProbesInFlight is the number of half-open probes running now, and
	// ProbesSucceeded the number of this half-open period's probes that
	// succeeded. Both are zero unless the circuit is half-open.
	ProbesInFlight, ProbesSucceeded int

	// Counted reports whether the breaker counts calls (Config.CountCalls).
	// When it is false the four counts below stay zero.
	Counted bool
	// Successes, Failures and Ignored count the calls that finished, by
	// Outcome, whatever the state they finished in (a late result that the
	// circuit no longer heeds is counted all the same). Rejected counts the
	// calls refused with an error wrapping ErrOpen. A call that Execute did
	// not start because its context was already done counts nowhere. Each
	// count only grows.
	Successes, Failures, Ignored, Rejected uint64

	// TripRule and TripPath name the rule of the policy that decided the
	// last trip (policy.Account's Rule and Path: "rate", "any[1]"), empty
	// before the first. They come from the policy's shape, never from a
	// call, so exporters may use them as labels. The full account is in
	// the evidence of the trip's transition ([Breaker.Transitions]).
	TripRule, TripPath string

	// ShadowOnly reports a breaker built with Config.ShadowOnly: it
	// decides but rejects nothing, so its State and opens are what it
	// would have done. WouldReject counts the calls it would have
	// rejected, which ran all the same (and are counted by outcome, with
	// CountCalls); Rejected stays zero.
	ShadowOnly  bool
	WouldReject uint64
}

// Metrics returns a snapshot of the breaker. State, Since, Until, Trips and
// the probe counts are read together, under the state machine's lock, and
// are consistent with one another; the call counts are read one after the
// other while calls go on, so they may be a few calls apart.
//
// Metrics has no effect on the circuit: unlike State, it does not move an
// expired open circuit to half-open (it only reports it so), and it never
// calls OnStateChange. That makes it safe to call from anywhere, including
// with a lock held, as exporters do. It is meant for scrapes, not for the
// path of every call: it takes a lock and, with CountCalls, sums a few
// cache lines.
func (b *Breaker[T]) Metrics() Metrics { return b.metrics() }

func (c *core) metrics() Metrics {
	st := c.m.Status()
	m := Metrics{
		Name:            c.name,
		State:           State(st.Word.State()),
		Mode:            Mode(st.Mode),
		Generation:      st.Word.Gen(),
		Since:           st.Since,
		Trips:           st.Opens.Trips,
		Reopens:         st.Opens.Reopens,
		ManualOpens:     st.Opens.Manual,
		ExternalOpens:   st.Opens.External,
		ProbesInFlight:  st.InFlight,
		ProbesSucceeded: st.Succeeded,
	}
	if m.State == Open && !st.Forced {
		if c.clock.Now().Before(st.Until) {
			m.Until = st.Until
		} else {
			// What State would report, without making it so.
			m.State, m.Since = HalfOpen, st.Until
		}
	}
	if t := c.ev.lastTrip.Load(); t != nil && t.Evidence != nil && t.Evidence.Account != nil {
		m.TripRule, m.TripPath = t.Evidence.Account.Rule, t.Evidence.Account.Path
	}
	if c.counters != nil {
		m.Counted = true
		m.Successes, m.Failures, m.Ignored, m.Rejected = c.counters.sum()
	}
	c.observeMetrics(&m)
	return m
}

// The call-counting hooks. Every path that finishes or rejects a call of
// a counting breaker calls one: Execute's shortcut for a counted closed
// success and Done's, finish, the callers of countedRejection, and
// rejectionFor. The shortcuts of a breaker without CountCalls carry none.

// count counts a finished call.
func (c *core) count(o Outcome) {
	if c.counters != nil {
		c.counters.add(int(o))
	}
}

// rejected counts a rejected call.
func (c *core) rejected() {
	if c.counters != nil {
		c.counters.add(kindRejected)
	}
}

// kindRejected indexes the rejection count in a shard, after the three
// Outcomes.
const kindRejected = int(Ignored) + 1

// counters counts calls by kind in shards, one cache line each, so that
// calls on different cores do not write to the same line. A call picks its
// shard by its goroutine's stack (see package internal/stripe). Any shard
// is correct (the adds are atomic); the choice only spreads the writes.
//
// The shards are allocated together as one power-of-two block of at most
// 1 KiB, which Go's allocator aligns to its size class, so each shard sits
// on a cache line of its own. There are four shards per core, so that two
// busy goroutines share a line only by bad luck (one chance in eight with
// two cores, where two shards made it one in two), and at most maxShards.
type counters struct {
	shards []shard
	mask   uintptr
	pick   stripe.Picker
}

type shard struct {
	n [kindRejected + 1]atomic.Uint64
	_ [64 - (kindRejected+1)*8]byte
}

// maxShards bounds the memory of a counting breaker (64 bytes a shard): with
// many breakers in a group, a shard per core of a large machine would cost
// more than contention on a few lines does.
const maxShards = 16

func newCounters() *counters {
	n, procs := 1, runtime.GOMAXPROCS(0)
	for procs > 1 && n < 4*procs && n < maxShards {
		n <<= 1
	}
	return &counters{shards: make([]shard, n), mask: uintptr(n - 1)}
}

// add counts one call of kind k. It is kept out of line so that the hooks
// that call it stay small enough to be inlined as a nil check.
//
//go:noinline
func (c *counters) add(k int) {
	n := &c.shards[c.pick.Pick(c.mask)].n[k]
	// A compare-and-swap rather than an Add, which costs the same: its
	// failure tells the picker that another goroutine writes this shard.
	for {
		old := n.Load()
		if n.CompareAndSwap(old, old+1) {
			return
		}
		c.pick.Contended()
	}
}

// sum returns the counts of every kind, over all shards.
func (c *counters) sum() (successes, failures, ignored, rejected uint64) {
	for i := range c.shards {
		s := &c.shards[i]
		successes += s.n[Success].Load()
		failures += s.n[Failure].Load()
		ignored += s.n[Ignored].Load()
		rejected += s.n[kindRejected].Load()
	}
	return
}
