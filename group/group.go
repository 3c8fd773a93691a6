package group

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
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
	New func(key K) breaker.Config[T]

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
}

// Group holds one circuit breaker per key (per host, per tenant, per
// endpoint), each created on first use from Config.New. Build one with
// [New]; the zero value is not usable. All methods are safe for concurrent
// use.
//
// Getting the breaker of a key that exists costs a map lookup and three
// atomic loads (the snapshot below, the current idle period and the key's
// last use), with no lock, no allocation and, most of the time, no shared
// write. That map is a snapshot, refreshed once the Gets that missed it
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
// recently (by period) among those whose circuit is not open, down to seven
// eighths of MaxBreakers so that the next misses find room. An open circuit
// is never evicted: forgetting it would send calls to a dependency known to
// be failing. If every breaker's circuit is open, Get returns [ErrFull].
//
// A breaker evicted while a caller still holds it goes on working for that
// caller, but the group forgets it: the next Get of its key builds a new
// one, with a fresh policy.
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

	newConfig func(K) breaker.Config[T]
	max       int
	idleAfter time.Duration
	clock     breaker.Clock // nil: the real clock
}

type entry[T any] struct {
	b *breaker.Breaker[T]
	// seen is the last period in which a Get asked for b. Get writes it
	// only when the period changed, so a key in steady use costs no shared
	// write.
	seen atomic.Uint64
}

// touch records a use of e.
func (g *Group[K, T]) touch(e *entry[T]) {
	if p := g.period.Load(); e.seen.Load() != p {
		e.seen.Store(p)
	}
}

// ErrFull is returned by Get and Execute when the group holds MaxBreakers
// breakers, all of them open, and a new key comes.
var ErrFull = errors.New("group: full: every breaker is open; raise MaxBreakers")

// New returns an empty group configured by cfg. An invalid cfg gives an
// error that wraps breaker.ErrInvalidConfig and names the field at fault.
func New[K comparable, T any](cfg Config[K, T]) (*Group[K, T], error) {
	g := &Group[K, T]{
		all:       make(map[K]*entry[T]),
		newConfig: cfg.New,
		max:       cfg.MaxBreakers,
		idleAfter: cfg.IdleAfter,
		clock:     cfg.Clock,
	}
	switch {
	case cfg.New == nil:
		return nil, configError("New is nil; it must return the configuration of a key's breaker")
	case cfg.MaxBreakers < 0:
		return nil, configError("MaxBreakers must not be negative, got " + strconv.Itoa(cfg.MaxBreakers))
	case cfg.IdleAfter < 0:
		return nil, configError("IdleAfter must not be negative, got " + cfg.IdleAfter.String())
	}
	if g.max == 0 {
		g.max = DefaultMaxBreakers
	}
	if g.idleAfter == 0 {
		g.idleAfter = DefaultIdleAfter
	}
	g.periodStart = g.now()
	g.publishLocked()
	return g, nil
}

func configError(why string) error {
	return fmt.Errorf("group: invalid config: %s: %w", why, breaker.ErrInvalidConfig)
}

// Get returns the breaker of key, creating it if there is none. It fails
// only when Config.New gives a configuration that breaker.New refuses (the
// error wraps breaker.ErrInvalidConfig and names the key), or with
// ErrFull.
func (g *Group[K, T]) Get(key K) (*breaker.Breaker[T], error) {
	if e := (*g.read.Load())[key]; e != nil {
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
	if b := g.lookup(key); b != nil {
		return b, nil
	}
	// Build the breaker without the lock: Config.New and a policy's
	// Validate and Claim are user code.
	cfg := g.newConfig(key)
	if cfg.Name == "" {
		cfg.Name = fmt.Sprint(key)
	}
	if cfg.Clock == nil && g.clock != nil {
		cfg.Clock = g.clock
	}
	b, err := breaker.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("group: breaker for key %v: %w", key, err)
	}

	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.all[key]; e != nil {
		// Another goroutine built one first; ours was never used.
		g.touch(e)
		return e.b, nil
	}
	if now.Sub(g.periodStart) >= g.idleAfter {
		g.endPeriodLocked(now)
	}
	if len(g.all) >= g.max && !g.makeRoomLocked() {
		return nil, ErrFull
	}
	e := &entry[T]{b: b}
	g.touch(e)
	g.all[key] = e
	g.missedLocked()
	return b, nil
}

// lookup returns the breaker of key from all, or nil.
func (g *Group[K, T]) lookup(key K) *breaker.Breaker[T] {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.all[key]
	if e == nil {
		return nil
	}
	g.touch(e)
	g.missedLocked()
	return e.b
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
// it may be called with the group's lock held.
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
		if e.seen.Load() != p && evictable(e.b) {
			delete(g.all, k)
			evicted = true
		}
	}
	g.period.Store(p + 1)
	g.periodStart = now
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
		delete(g.all, c.key)
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
