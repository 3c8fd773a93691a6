package group

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/goid"
	"github.com/tripwire-go/tripwire/policy"
)

// Defaults used for the zero values of [Config].
const (
	// DefaultMaxBreakers is the most breakers a group keeps when
	// Config.MaxBreakers is zero.
	DefaultMaxBreakers = 10_000
	// DefaultIdleAfter is how long a breaker must go unused before it may
	// be evicted, when Config.IdleAfter is zero.
	DefaultIdleAfter = 10 * time.Minute
)

// Config configures a [Group]. New is required; every other zero field
// means its documented default.
type Config[K comparable, T any] struct {
	// New returns the configuration of the breaker for key. The group calls
	// it when a key is first asked for, and again if the key's breaker was
	// evicted; it may call it more than once for a key asked for by several
	// goroutines at once, and keeps one of the breakers. Each call must
	// return a fresh Policy (or nil, for the default): a policy holds the
	// state of one circuit, and breaker.New rejects one that is already in
	// use. A Config whose Name is empty gets the key, formatted with
	// fmt.Sprint, as its name; one whose Clock is nil gets the group's
	// Clock, if that is set. Required.
	//
	// A New that returns one captured policy would work for the first key
	// and fail for every other, in production. So that this shows when the
	// group is built, [New] calls New twice with the zero K and fails if
	// both configurations hold the same Policy; it builds no breaker from
	// them. New must therefore accept the zero key and have no side effect
	// that matters: a New that panics there fails New with a [ConfigError]
	// for Field "New" that says so. Whatever escapes
	// the check is caught at the second key: Get fails with a [ConfigError]
	// for Field "New".
	New func(key K) breaker.Config[T]

	// OnCreate, if set, is called with each breaker the group builds and
	// keeps, before any Get returns that breaker: the place to hand every
	// breaker of the group to a coordinator or an exporter, which then
	// sees every call made through it. A Get that finds another goroutine
	// running OnCreate or OnEvict waits for it, and for the events before
	// its own. The one exception is a Get made from inside OnCreate or
	// OnEvict (or from a callback they cause on the same goroutine): it
	// returns at once, and the OnCreate of its breaker runs right after
	// the current callback returns. So OnCreate and OnEvict must not wait
	// for a Get that another goroutine makes. OnCreate is also called for a
	// breaker that the group evicted and then took back because its
	// circuit opened (see [Group]). It runs with no lock held.
	OnCreate func(key K, b *breaker.Breaker[T])

	// OnEvict, if set, is called with each breaker the group stops
	// holding, so that whatever OnCreate attached can be detached. It runs
	// with no lock held, after the eviction; for one group the calls of
	// OnCreate and OnEvict are made one at a time, in the order of the
	// events. If one of them panics, the panic goes on up to the caller
	// that was delivering, the event counts as delivered, and the next
	// caller delivers the events after it.
	OnEvict func(key K, b *breaker.Breaker[T])

	// MaxBreakers bounds the number of breakers the group keeps. 0 means
	// DefaultMaxBreakers; negative is invalid.
	MaxBreakers int

	// IdleAfter is how long a breaker must go without a Get before the
	// group may evict it; see [Group] for when it does. 0 means
	// DefaultIdleAfter; negative is invalid.
	IdleAfter time.Duration

	// Clock is where the group reads the time, to tell idle breakers. nil
	// means the real clock. When set, it is also the Clock of every breaker
	// whose Config leaves Clock nil.
	Clock breaker.Clock

	// Outliers, if set, turns on outlier detection: every Interval, each
	// key's calls are compared with its siblings', and a key that stands
	// out opens although its own policy has not tripped. When every key
	// fails alike (the whole service is down), none stands out and the
	// per-key policies decide as before. See [Outliers]; nil means no
	// detection. The detector reads the breakers' call counts, so it turns
	// on breaker.Config.CountCalls for every key. It has no goroutine: Get
	// runs it when it is due (with a Clock of the user's, Get then reads
	// that clock), and so does [Group.DetectOutliers]. With
	// Outliers.Shadow it only reports what it would open.
	Outliers *Outliers

	// OnOutlier, if set, is called with each outlier the detector finds,
	// opened or not, with no lock held, on the goroutine that ran the
	// evaluation, once the evaluation has opened (and counted) every
	// outlier it opens. If it panics, the other outliers are reported all
	// the same, and the first panic goes on up afterwards, to the Get or
	// DetectOutliers that ran the evaluation.
	OnOutlier func(Outlier[K])

	// MaxOpenShare caps the share of the group's keys whose circuit may be
	// open (or half-open) at once, whatever opened them: their policy, the
	// outlier detector, Trip or ForceOpen, a fleet. At least one key may
	// open, whatever the share. A key's own policy is refused before it
	// opens the circuit; other opens are undone at once (see
	// [Group.KeptClosed]). 0 means no cap by share; it must be at most 1.
	// With a cap (this or KeepOneClosed) the group wraps each key's policy
	// so that it asks before a trip: every closed call then goes through
	// the policy's Record, as with any policy but the default one, whose
	// successes the breaker handles without a shared write.
	//
	// The cap bounds how much of the group's traffic is cut off, so it is
	// of the live keys only: a shadow-only key (breaker.Config.ShadowOnly,
	// which Config.New may set for some keys) rejects nothing whatever it
	// decides, takes no place, is not among the keys the share is of, and
	// its policy is not wrapped.
	MaxOpenShare float64

	// KeepOneClosed keeps at least one of the group's live keys (those not
	// shadow-only) closed, so that the group never rejects every call,
	// whatever MaxOpenShare allows. A group of one key then never opens
	// it.
	KeepOneClosed bool
}

// Group holds one circuit breaker per key (per host, per tenant, per
// endpoint), each created on first use from Config.New. Build one with
// [New]; the zero value is not usable. All methods are safe for concurrent
// use.
//
// Getting the breaker of a key that exists (and whose OnCreate has run)
// reads a snapshot of the keys, with no lock, no allocation (a test
// asserts it) and, most of the time, no shared write; BenchmarkGroupGet in bench/ measures what it costs.
// That snapshot is refreshed once the Gets that missed it
// have paid for copying it (a quarter of its size), so a key created a
// moment ago may take the locked path a few times first. Creating a
// breaker takes the group's lock; Config.New and the breaker's
// construction run outside it.
//
// # Bounds and eviction
//
// The group counts time in idle periods, each at least IdleAfter long on
// its Clock. A breaker is idle when no Get (or Execute) asked for it during
// a whole period and its circuit is not open: closed, or half-open with no
// probe in flight (an open circuit whose timeout passed while nobody
// called). The group ends a period when it creates a breaker and at least
// IdleAfter has passed since the period began, and evicts the idle breakers
// then: an evicted breaker went at least IdleAfter without a Get. There is
// no background goroutine: a group that creates nothing evicts nothing, and
// it does not need to, since it does not grow.
//
// A group never holds more than MaxBreakers breakers. When it is full and
// needs a new one it evicts, whatever the time, the breakers used least
// recently (by period) among those it may evict (see below), down to seven
// eighths of MaxBreakers so that the next misses find room.
//
// A breaker evicted while a caller still holds it goes on working for that
// caller, but the group forgets it: the next Get of its key builds a new
// one, with a fresh policy. If an evicted breaker's circuit then opens
// (a call through a held reference failed, or Trip), the group takes it
// back, in place of any newer breaker of its key whose circuit is not open,
// and if there is room: the group checks the state, then evicts, while
// calls go on, so without this a circuit that opened in between would be
// forgotten.
//
// A group never evicts a circuit that is open, nor one that is half-open
// with probes in flight: forgetting either would send every call to a
// dependency known to be failing, instead of the few probes. With a cap on
// open keys (Config.MaxOpenShare, Config.KeepOneClosed), it does not evict
// a closed circuit either when one key fewer would leave more keys open
// than the cap allows. If a full group can evict nothing, Get returns
// [ErrFull].
type Group[K comparable, T any] struct {
	// read is a snapshot of all, swapped whole and never written to: Get
	// reads it without a lock.
	read atomic.Pointer[map[K]*entry[T]]

	// period numbers the current idle period. Written under mu, read by
	// Get.
	period atomic.Uint64

	mu          sync.Mutex
	all         map[K]*entry[T] // every breaker; read may lag behind it
	misses      int             // Gets that missed read since it was published
	periodStart time.Time

	// events waits to be handed to OnCreate and OnEvict, in order, by the
	// one goroutine that is delivering: deliverer, a goroutine id (see
	// package internal/goid; 0 when unknown, and then no Get waits). delivered is signalled after each event, for the Gets that
	// wait for the OnCreate of their breaker.
	events     []event[K, T]
	delivering bool
	deliverer  int64
	delivered  sync.Cond

	newConfig func(K) breaker.Config[T]
	onCreate  func(K, *breaker.Breaker[T])
	onEvict   func(K, *breaker.Breaker[T])
	max       int
	idleAfter time.Duration
	clock     breaker.Clock // nil: the real clock

	cap       *capState[K] // nil: no cap on open keys
	detect    *detector    // nil: no outlier detection
	onOutlier func(Outlier[K])
	// memory is what the detector remembers of keys the group evicted,
	// for their next breakers. Guarded by mu.
	memory map[K]ejectRecord
}

type entry[T any] struct {
	b *breaker.Breaker[T]
	// seen is the last period in which a Get asked for b. It only grows;
	// Get writes it only when the period changed, so a key in steady use
	// costs no shared write.
	seen atomic.Uint64
	// evicted is set, under the group's lock, while the group does not
	// hold b after holding it.
	evicted bool
	// creating counts the OnCreate events of b queued and not yet
	// delivered. Written under the group's lock; Get reads it without,
	// and hands b out only once it is zero.
	creating atomic.Int32
	// mark is what the cap and the outlier detector keep of b.
	mark entryMark
	// shadowOnly: b was built with Config.ShadowOnly. It rejects nothing,
	// so it is no key of the cap (it takes no place and does not count
	// among the keys the share is of), never counts as open for the
	// detector, and the detector only reports what it would do to it.
	// Set before the group holds b; read-only after.
	shadowOnly bool
}

type event[K comparable, T any] struct {
	key     K
	e       *entry[T]
	created bool // else evicted
}

// touch records a use of e in the current period.
func (g *Group[K, T]) touch(e *entry[T]) { touchAt(e, g.period.Load()) }

// touchAt records a use of e in period p. A Get that read the period just
// before it moved on must not store it over the newer one a later Get
// stored: e would look idle in the period it was used in.
func touchAt[T any](e *entry[T], p uint64) {
	for {
		s := e.seen.Load()
		if s >= p || e.seen.CompareAndSwap(s, p) {
			return
		}
	}
}

// ErrFull is returned by Get and Execute when the group holds MaxBreakers
// breakers, each of them open or half-open with probes in flight (or
// closed, but needed to keep the share of open keys under the group's
// cap), and a new key comes.
var ErrFull = errors.New("group: full: every breaker is open or probing; raise MaxBreakers")

// ConfigError is the error New returns for an invalid Config, and Get when
// Config.New proves to share a policy between keys. It wraps
// breaker.ErrInvalidConfig and, when it has one, the error that revealed
// the problem. Use errors.As with it to learn the field at fault.
type ConfigError struct {
	// Field is the Config field at fault, as written in Go: "New",
	// "MaxBreakers", "IdleAfter", "Clock", "Outliers.Interval".
	Field string

	problem string
	cause   error
}

// Problem says what is wrong with the field, without naming it.
func (e *ConfigError) Problem() string { return e.problem }

// Error names the field and says what is wrong with it.
func (e *ConfigError) Error() string {
	return "group: invalid config: " + e.Field + ": " + e.problem
}

// Unwrap returns breaker.ErrInvalidConfig and the error that revealed the
// problem, if any.
func (e *ConfigError) Unwrap() []error {
	if e.cause != nil {
		return []error{breaker.ErrInvalidConfig, e.cause}
	}
	return []error{breaker.ErrInvalidConfig}
}

// New returns an empty group configured by cfg. An invalid cfg gives an
// error that wraps breaker.ErrInvalidConfig and names the field at fault.
func New[K comparable, T any](cfg Config[K, T]) (*Group[K, T], error) {
	g := &Group[K, T]{
		all:       make(map[K]*entry[T]),
		newConfig: cfg.New,
		onCreate:  cfg.OnCreate,
		onEvict:   cfg.OnEvict,
		max:       cfg.MaxBreakers,
		idleAfter: cfg.IdleAfter,
		clock:     cfg.Clock,
	}
	switch {
	case cfg.New == nil:
		return nil, &ConfigError{Field: "New", problem: "is nil; it must return the configuration of a key's breaker"}
	case cfg.MaxBreakers < 0:
		return nil, &ConfigError{Field: "MaxBreakers", problem: "must not be negative, got " + strconv.Itoa(cfg.MaxBreakers)}
	case cfg.IdleAfter < 0:
		return nil, &ConfigError{Field: "IdleAfter", problem: "must not be negative, got " + cfg.IdleAfter.String()}
	case isNilPointer(cfg.Clock):
		return nil, &ConfigError{Field: "Clock", problem: fmt.Sprintf("is a nil %T; leave it nil for the real clock", cfg.Clock)}
	case !(cfg.MaxOpenShare >= 0 && cfg.MaxOpenShare <= 1):
		return nil, &ConfigError{Field: "MaxOpenShare", problem: "must be in [0, 1], got " + strconv.FormatFloat(cfg.MaxOpenShare, 'g', -1, 64)}
	}
	if cfg.Outliers != nil {
		o := *cfg.Outliers
		if err := o.validate(); err != nil {
			return nil, err
		}
		g.detect = &detector{cfg: o}
		g.onOutlier = cfg.OnOutlier
	}
	if (cfg.MaxOpenShare > 0 && cfg.MaxOpenShare < 1) || cfg.KeepOneClosed {
		g.cap = &capState[K]{share: cmp.Or(cfg.MaxOpenShare, 1), keepOne: cfg.KeepOneClosed, kept: map[K]*KeptClosed[K]{}}
	}
	if problem := checkNew(cfg.New); problem != "" {
		return nil, &ConfigError{Field: "New", problem: problem}
	}
	if g.max == 0 {
		g.max = DefaultMaxBreakers
	}
	if g.idleAfter == 0 {
		g.idleAfter = DefaultIdleAfter
	}
	g.delivered.L = &g.mu
	g.periodStart = g.now()
	g.publishLocked()
	if g.detect != nil {
		g.startDetector(g.periodStart)
	}
	return g, nil
}

// isNilPointer reports whether v, held in an interface, is a nil pointer
// (or another nil reference): an interface that is not nil, and whose
// methods would panic.
func isNilPointer(v any) bool {
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func:
		return rv.IsNil()
	}
	return false
}

// checkNew calls newConfig twice with the zero key and says what is wrong
// with it, or "" when nothing is: a panic (New must accept the zero key),
// or the same policy twice (a pointer to the same variable), which only the
// first key's breaker could use.
func checkNew[K comparable, T any](newConfig func(K) breaker.Config[T]) (problem string) {
	defer func() {
		if r := recover(); r != nil {
			problem = fmt.Sprintf("panicked when called with the zero key (%v); group.New calls it with the zero key "+
				"to check that it builds a fresh policy each time, so it must accept that key", r)
		}
	}()
	var zero K
	p1, p2 := newConfig(zero).Policy, newConfig(zero).Policy
	if p1 == nil || p2 == nil {
		return ""
	}
	if isNilPointer(p1) {
		return fmt.Sprintf("returned a nil %T as the Policy; return a policy, or nil for the default", p1)
	}
	v1, v2 := reflect.ValueOf(p1), reflect.ValueOf(p2)
	// Distinct zero-size variables may share an address, and a policy
	// held by value is copied: only a pointer to something tells.
	if v1.Kind() != reflect.Pointer || v1.Type() != v2.Type() || v1.Type().Elem().Size() == 0 {
		return ""
	}
	if v1.Pointer() == v2.Pointer() {
		return "returned the same Policy twice; it must build a fresh one on every call, " +
			"since a policy holds the state of one circuit (only the first key's breaker could be built)"
	}
	return ""
}

// Get returns the breaker of key, creating it if there is none. It fails
// only when Config.New gives a configuration that breaker.New refuses (the
// error wraps breaker.ErrInvalidConfig and names the key), or with
// ErrFull. A breaker it returns has been passed to Config.OnCreate (see
// there for the one exception).
func (g *Group[K, T]) Get(key K) (*breaker.Breaker[T], error) {
	if g.detect != nil && g.detectDue() {
		g.DetectOutliers()
	}
	if e := (*g.read.Load())[key]; e != nil && e.creating.Load() == 0 {
		g.touch(e)
		return e.b, nil
	}
	return g.getSlow(key)
}

// Execute runs fn through the breaker of key: Get, then the breaker's
// Execute.
func (g *Group[K, T]) Execute(ctx context.Context, key K, fn func(context.Context) (T, error)) (T, error) {
	b, err := g.Get(key)
	if err != nil {
		var zero T
		return zero, err
	}
	return b.Execute(ctx, fn)
}

func (g *Group[K, T]) getSlow(key K) (*breaker.Breaker[T], error) {
	g.mu.Lock()
	if e := g.all[key]; e != nil {
		g.touch(e)
		if (*g.read.Load())[key] != e {
			g.missedLocked()
		}
		g.unlockAndDeliver(e)
		return e.b, nil
	}
	g.mu.Unlock()
	// Build the breaker without the lock: Config.New and a policy's
	// Validate and Claim are user code.
	cfg := g.newConfig(key)
	if cfg.Name == "" {
		cfg.Name = fmt.Sprint(key)
	}
	if cfg.Clock == nil && g.clock != nil {
		cfg.Clock = g.clock
	}
	e := &entry[T]{shadowOnly: cfg.ShadowOnly}
	e.mark.out = true // until the group holds it
	if g.detect != nil {
		cfg.CountCalls = true
	}
	// A nil pointer is left unwrapped for breaker.New to refuse: wrapped,
	// it would reach the policy's Bind. A shadow-only key's opens cut
	// nothing off: the cap neither gates nor counts them.
	if g.cap != nil && !isNilPointer(cfg.Policy) && !cfg.ShadowOnly {
		p := cfg.Policy
		if p == nil {
			p = policy.Consecutive(breaker.DefaultFailures)
		}
		cfg.Policy = &gated[K, T]{p: p, g: g, key: key, e: e}
		userT := cfg.OnTransition
		cfg.OnTransition = func(t breaker.Transition) {
			// Deferred, so that a user's callback that panics does not
			// cost the cap its count (the breaker sends the panic on up
			// after every listener has run).
			if t.Candidate == "" { // a shadow candidate's opens reject nothing
				defer g.capTransition(key, e, t)
			}
			if userT != nil {
				userT(t)
			}
		}
	}
	user := cfg.OnStateChange
	cfg.OnStateChange = func(name string, from, to breaker.State) {
		if to == breaker.Open { // deferred, as above: an open must not be forgotten
			defer g.opened(key, e)
		}
		if user != nil {
			user(name, from, to)
		}
	}
	b, err := breaker.New(cfg)
	if errors.Is(err, policy.ErrShared) {
		return nil, &ConfigError{Field: "New", cause: err, problem: fmt.Sprintf(
			"returned for key %v a Policy that another breaker holds; it must build a fresh one on every call", key)}
	}
	if err != nil {
		return nil, fmt.Errorf("group: breaker for key %v: %w", key, err)
	}
	e.b = b

	now := g.now()
	g.mu.Lock()
	if old := g.all[key]; old != nil {
		// Another goroutine built one first; ours was never used.
		g.touch(old)
		g.unlockAndDeliver(old)
		return old.b, nil
	}
	if now.Before(g.periodStart) {
		// The clock went back: the period starts again, rather than
		// last until the clock catches up with its start.
		g.periodStart = now
	}
	if now.Sub(g.periodStart) >= g.idleAfter {
		g.endPeriodLocked(now)
	}
	if len(g.all) >= g.max && !g.makeRoomLocked() {
		g.unlockAndDeliver(nil)
		return nil, ErrFull
	}
	g.touch(e)
	g.all[key] = e
	g.recallLocked(key, e)
	g.capInLocked(e)
	g.missedLocked()
	g.queueLocked(key, e, true)
	g.unlockAndDeliver(e)
	return b, nil
}

// opened is called when the circuit of e's breaker has opened. If the
// group evicted it meanwhile (it was closed when the group looked, and
// opened before or after the group forgot it), the group takes it back in
// place of a newer breaker of its key whose circuit is not open, if it can
// make room: an open circuit is what the group must not forget.
func (g *Group[K, T]) opened(key K, e *entry[T]) {
	g.mu.Lock()
	if !e.evicted {
		g.mu.Unlock()
		return
	}
	cur := g.all[key]
	if cur != nil && cur.b.Metrics().State == breaker.Open { // Metrics, unlike State, calls back nothing
		g.mu.Unlock()
		return
	}
	if cur == nil && len(g.all) >= g.max && !g.makeRoomLocked() {
		g.unlockAndDeliver(nil)
		return
	}
	if cur != nil {
		g.evictLocked(key, cur)
	}
	e.evicted = false
	g.touch(e)
	g.all[key] = e
	g.recallLocked(key, e)
	g.capInLocked(e)
	g.publishLocked()
	g.queueLocked(key, e, true)
	g.unlockAndDeliver(nil)
}

// evictLocked forgets the breaker of key.
func (g *Group[K, T]) evictLocked(key K, e *entry[T]) {
	g.capOutLocked(key, e)
	g.forgetLocked(key, e)
}

// forgetLocked forgets the breaker of key, the cap's count of it aside.
func (g *Group[K, T]) forgetLocked(key K, e *entry[T]) {
	delete(g.all, key)
	e.evicted = true
	g.keepMemoryLocked(key, e)
	g.queueLocked(key, e, false)
}

// queueLocked queues an event for OnCreate or OnEvict.
func (g *Group[K, T]) queueLocked(key K, e *entry[T], created bool) {
	switch {
	case created && g.onCreate != nil:
		e.creating.Add(1)
	case !created && g.onEvict != nil:
	default:
		return
	}
	g.events = append(g.events, event[K, T]{key, e, created})
}

// unlockAndDeliver unlocks the group and, unless another goroutine is at
// it, hands the queued events to OnCreate and OnEvict, in order, with no
// lock held. The goroutine that delivers takes what others queue
// meanwhile, so that the calls stay in order and one at a time. With wait
// set, it returns only once the OnCreate events of wait have been
// delivered, by this goroutine or by the one delivering, unless it is
// called from inside a callback on the delivering goroutine, which would
// wait for itself.
func (g *Group[K, T]) unlockAndDeliver(wait *entry[T]) {
	me := int64(-1) // this goroutine's id, found only if it has to wait
	for {
		switch {
		case !g.delivering && len(g.events) > 0:
			g.deliverLocked()
			continue
		case !g.delivering || wait == nil || wait.creating.Load() == 0:
		case me == -1:
			me = goid.Current()
			continue
		case me != g.deliverer:
			g.delivered.Wait()
			continue
		}
		g.mu.Unlock()
		return
	}
}

// deliverLocked hands the queued events to OnCreate and OnEvict, one at a
// time and with no lock held, until none is left. It is called, and
// returns, with the lock held. If a callback panics, its event counts as
// delivered, the group is left for the next caller to deliver the rest,
// and the panic goes on up with the lock released.
func (g *Group[K, T]) deliverLocked() {
	g.delivering = true
	g.deliverer = goid.Current()
	for len(g.events) > 0 {
		ev := g.events[0]
		g.events[0] = event[K, T]{} // not kept alive by the backing array
		g.events = g.events[1:]
		g.mu.Unlock()
		g.deliver(ev)
		g.mu.Lock()
		g.deliveredLocked(ev)
	}
	g.events = nil
	g.delivering = false
	g.delivered.Broadcast()
}

// deliver calls the callback of ev. If it panics, the event is marked
// delivered and the group is handed on before the panic goes on up: a
// flag that stayed set would keep every later event from being delivered.
func (g *Group[K, T]) deliver(ev event[K, T]) {
	done := false
	defer func() {
		if !done {
			g.mu.Lock()
			g.deliveredLocked(ev)
			g.delivering = false
			g.delivered.Broadcast()
			g.mu.Unlock()
		}
	}()
	if ev.created {
		g.onCreate(ev.key, ev.e.b)
	} else {
		g.onEvict(ev.key, ev.e.b)
	}
	done = true
}

// deliveredLocked notes that ev has been delivered, and wakes the Gets that
// wait for an OnCreate.
func (g *Group[K, T]) deliveredLocked(ev event[K, T]) {
	if ev.created {
		ev.e.creating.Add(-1)
		g.delivered.Broadcast()
	}
}

// missedLocked counts a Get that read missed, and publishes all once the
// misses have paid for the copy: a quarter of its size, as sync.Map does
// with the whole size.
func (g *Group[K, T]) missedLocked() {
	g.misses++
	if g.misses > len(g.all)/4 {
		g.publishLocked()
	}
}

func (g *Group[K, T]) publishLocked() {
	m := maps.Clone(g.all)
	g.read.Store(&m)
	g.misses = 0
}

// evictable reports whether b's circuit may be forgotten: it is closed, or
// half-open with no probe in flight. Metrics runs no user code but Now, so
// it may be called with the group's lock held. The circuit may open right
// after: opened takes the breaker back then.
func evictable[T any](b *breaker.Breaker[T]) bool {
	m := b.Metrics()
	return m.State == breaker.Closed || (m.State == breaker.HalfOpen && m.ProbesInFlight == 0)
}

// endPeriodLocked evicts the breakers idle during the period that ends at
// now, and starts the next.
func (g *Group[K, T]) endPeriodLocked(now time.Time) {
	p := g.period.Load()
	evicted := false
	for k, e := range g.all {
		if e.seen.Load() < p && evictable(e.b) && g.evictIfLocked(k, e) {
			evicted = true
		}
	}
	g.period.Store(p + 1)
	g.periodStart = now
	if g.memory != nil {
		g.pruneMemoryLocked(now)
	}
	if evicted {
		g.publishLocked()
	}
}

// makeRoomLocked evicts the least recently used breakers that are not open
// from a full group, down to seven eighths of MaxBreakers, and reports
// whether there is room now.
func (g *Group[K, T]) makeRoomLocked() bool {
	type candidate struct {
		key  K
		seen uint64
	}
	var cands []candidate
	for k, e := range g.all {
		if evictable(e.b) {
			cands = append(cands, candidate{k, e.seen.Load()})
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int { return cmp.Compare(a.seen, b.seen) })
	target := g.max - max(g.max/8, 1)
	for _, c := range cands {
		if len(g.all) <= target {
			break
		}
		g.evictIfLocked(c.key, g.all[c.key])
	}
	if len(cands) > 0 {
		g.publishLocked()
	}
	return len(g.all) < g.max
}

// Len returns the number of breakers the group holds.
func (g *Group[K, T]) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.all)
}

// All returns an iterator over the keys and breakers of the group, as it
// was when iteration began, in no particular order. It does not count as a
// use of the breakers. The loop body runs with no lock held.
func (g *Group[K, T]) All() iter.Seq2[K, *breaker.Breaker[T]] {
	return func(yield func(K, *breaker.Breaker[T]) bool) {
		g.mu.Lock()
		if g.misses > 0 { // something is in all that read lacks
			g.publishLocked()
		}
		m := *g.read.Load()
		g.mu.Unlock()
		for k, e := range m {
			if !yield(k, e.b) {
				return
			}
		}
	}
}

// Metrics returns an iterator over the metrics of every breaker in the
// group, for exporters (see breaker.Breaker.Metrics).
func (g *Group[K, T]) Metrics() iter.Seq[breaker.Metrics] {
	return func(yield func(breaker.Metrics) bool) {
		for _, b := range g.All() {
			if !yield(b.Metrics()) {
				return
			}
		}
	}
}

func (g *Group[K, T]) now() time.Time {
	if g.clock == nil {
		return time.Now()
	}
	return g.clock.Now()
}
