package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// Memory is a [Store] held in the memory of one process: for tests, and for
// several coordinators of one process that should act as one fleet. It is
// the reference for what each step does; the Redis store runs the same
// steps as scripts on the server. Build one with [NewMemory]; the zero value
// is not usable. Safe for concurrent use.
type Memory struct {
	clock breaker.Clock
	// base is when the store was built: rate buckets are numbered from it
	// by Time.Sub, which follows the monotonic reading, so that a step of
	// the wall clock neither keeps old counts nor drops new ones.
	base time.Time

	mu   sync.Mutex
	recs map[string]*memRecord
	subs map[chan Record]struct{}
}

type memRecord struct {
	inc      string
	gen      uint64
	open     bool
	mode     Mode
	until    time.Time
	opens    int
	ok       int
	leases   map[string]time.Time // lease → expiry
	trips    map[string]time.Time // instance → when it tripped
	closers  map[string]bool      // instances closed on their own probes
	rules    string               // Params.Rules of the last transition
	buckets  map[int64]*[2]uint64 // bucket → successes, failures
	senders  map[string]*taken    // Counts.Sender → the totals taken
	lastUsed time.Time
}

// taken is what a record took from one Counts.Sender, and when it last
// did: kept across transitions, so that a batch sent again after a
// transition adds nothing either.
type taken struct {
	s, f uint64
	at   time.Time
}

// NewMemory returns an empty in-memory store that reads the time from clk
// (nil: the real clock). With a *clock.Mock the test decides when open
// periods end and leases expire.
func NewMemory(clk breaker.Clock) *Memory {
	if clk == nil {
		clk = realClock{}
	}
	return &Memory{clock: clk, base: clk.Now(), recs: map[string]*memRecord{}, subs: map[chan Record]struct{}{}}
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Drop forgets the record of name, as a flushed or restarted server would:
// the next step creates it again with a new incarnation.
func (m *Memory) Drop(name string) {
	m.mu.Lock()
	delete(m.recs, name)
	m.mu.Unlock()
}

// newIncarnation returns a random id for a new record.
func newIncarnation() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// load returns the record of name, creating it if it is missing or expired.
func (m *Memory) load(name string, now time.Time, p Params) *memRecord {
	r := m.recs[name]
	if r == nil || (p.Retention > 0 && now.Sub(r.lastUsed) >= p.Retention) {
		r = &memRecord{inc: newIncarnation(), gen: 1, rules: p.Rules(), senders: map[string]*taken{}}
		r.clear()
		m.recs[name] = r
	}
	r.lastUsed = now
	return r
}

func (r *memRecord) clear() {
	r.ok = 0
	r.leases = map[string]time.Time{}
	r.trips = map[string]time.Time{}
	r.closers = map[string]bool{}
	r.buckets = map[int64]*[2]uint64{}
}

func (r *memRecord) openNow(now time.Time, opens int, p Params) {
	r.gen++
	r.open = true
	r.opens = opens
	r.until = now.Add(p.OpenFor(opens))
	r.rules = p.Rules()
	r.clear()
}

func (r *memRecord) closeNow(p Params) {
	r.gen++
	r.rules = p.Rules()
	r.open = false
	r.opens = 0
	r.until = time.Time{}
	r.clear()
}

func (r *memRecord) expireLeases(now time.Time) {
	for l, exp := range r.leases {
		if !now.Before(exp) {
			delete(r.leases, l)
		}
	}
}

func (r *memRecord) record(name string, now time.Time) Record {
	r.expireLeases(now)
	rec := Record{
		Name: name, Version: ProtocolVersion, Incarnation: r.inc, Generation: r.gen,
		Mode: r.mode, Opens: r.opens, Probing: len(r.leases), Succeeded: r.ok,
		Rules: r.rules,
	}
	switch {
	case !r.open:
		rec.State = breaker.Closed
	case r.mode == ModeForcedOpen:
		rec.State = breaker.Open
	case now.Before(r.until):
		rec.State, rec.Remaining = breaker.Open, r.until.Sub(now)
	default:
		rec.State = breaker.HalfOpen
	}
	return rec
}

// publish sends rec to every subscriber that has room; a full subscriber
// misses it (events are best effort).
func (m *Memory) publish(rec Record) {
	for ch := range m.subs {
		select {
		case ch <- rec:
		default:
		}
	}
}

// step runs f on the record of name under the lock and returns the record
// after it, publishing it if f changed the generation.
func (m *Memory) step(ctx context.Context, name string, p Params, f func(r *memRecord, now time.Time)) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	r := m.load(name, now, p)
	gen := r.gen
	if f != nil {
		f(r, now)
	}
	rec := r.record(name, now)
	if r.gen != gen {
		m.publish(rec)
	}
	return rec, nil
}

// Trip implements [Store.Trip].
func (m *Memory) Trip(ctx context.Context, name string, t TripRequest, p Params) (Record, error) {
	return m.step(ctx, name, p, func(r *memRecord, now time.Time) {
		if r.mode != ModeNone || (r.open && now.Before(r.until)) {
			return // open, forced open or disabled: nothing to add
		}
		if t.Incarnation == r.inc && t.Generation < r.gen {
			return // tripped before the change it has not heard of
		}
		r.trips[t.Instance] = now
		for inst, at := range r.trips {
			if now.Sub(at) >= p.QuorumWindow {
				delete(r.trips, inst)
			}
		}
		if len(r.trips) >= p.Quorum {
			opens := 1
			if r.open {
				opens = r.opens + 1 // half-open: a reopening
			}
			r.openNow(now, opens, p)
		}
	})
}

// Closed implements [Store.Closed].
func (m *Memory) Closed(ctx context.Context, name string, c CloseRequest, p Params) (Record, error) {
	return m.step(ctx, name, p, func(r *memRecord, now time.Time) {
		if !r.open || r.mode != ModeNone || now.Before(r.until) || c.Incarnation != r.inc || c.Generation != r.gen {
			return
		}
		r.closers[c.Instance] = true
		if len(r.closers) >= p.Quorum {
			r.closeNow(p)
		}
	})
}

// Flush implements [Store.Flush].
func (m *Memory) Flush(ctx context.Context, batch []Counts, p Params) ([]Record, []error, error) {
	recs := make([]Record, len(batch))
	errs := make([]error, len(batch))
	for i, c := range batch {
		rec, err := m.step(ctx, c.Name, p, func(r *memRecord, now time.Time) {
			addS, addF := r.take(c, now, p)
			if p.FailureRate <= 0 || r.open || r.mode != ModeNone {
				return
			}
			width := p.RateWindow / rateBuckets
			if width <= 0 {
				width = 1
			}
			idx := int64(now.Sub(m.base) / width)
			for b := range r.buckets {
				if b <= idx-rateBuckets {
					delete(r.buckets, b)
				}
			}
			if addS+addF > 0 {
				b := r.buckets[idx]
				if b == nil {
					b = new([2]uint64)
					r.buckets[idx] = b
				}
				b[0] += addS
				b[1] += addF
			}
			var total, failed uint64
			for _, b := range r.buckets {
				total += b[0] + b[1]
				failed += b[1]
			}
			// Divided, as policy.Rate divides: 55 of 100 reaches 0.55,
			// where 0.55*100 is a hair above 55.
			if total > 0 && total >= uint64(p.MinCalls) && float64(failed)/float64(total) >= p.FailureRate {
				r.openNow(now, 1, p)
			}
		})
		if err != nil {
			return nil, nil, err
		}
		recs[i] = rec
	}
	return recs, errs, nil
}

// take returns what r adds for c (see [Counts.Take]), and notes what it
// took from c's sender. Senders not heard from for a Retention are
// forgotten: their next batch adds what was never acknowledged.
func (r *memRecord) take(c Counts, now time.Time, p Params) (addS, addF uint64) {
	if c.Sender == "" {
		return c.Successes, c.Failures
	}
	for id, t := range r.senders {
		if p.Retention > 0 && now.Sub(t.at) >= p.Retention {
			delete(r.senders, id)
		}
	}
	t := r.senders[c.Sender]
	if t == nil {
		t = &taken{}
		r.senders[c.Sender] = t
	}
	addS, addF, t.s, t.f = c.Take(t.s, t.f)
	t.at = now
	return addS, addF
}

// rateBuckets is the number of buckets a RateWindow is counted in.
const rateBuckets = 10

// AcquireProbe implements [Store.AcquireProbe].
func (m *Memory) AcquireProbe(ctx context.Context, name string, q ProbeRequest, p Params) (Verdict, Record, error) {
	var v Verdict
	rec, err := m.step(ctx, name, p, func(r *memRecord, now time.Time) {
		v = acquire(r, q, now, p)
	})
	return v, rec, err
}

func acquire(r *memRecord, q ProbeRequest, now time.Time, p Params) Verdict {
	switch {
	case q.Incarnation != r.inc || q.Generation != r.gen || !r.open:
		if r.open {
			return ProbeReopened
		}
		return ProbeStale
	case r.mode == ModeForcedOpen:
		return ProbeReopened
	case now.Before(r.until):
		return ProbeNotDue
	}
	r.expireLeases(now)
	if len(r.leases)+r.ok >= p.Probes {
		return ProbeFull
	}
	r.leases[q.Lease] = now.Add(p.ProbeTimeout)
	return ProbeAdmit
}

// ReportProbe implements [Store.ReportProbe].
func (m *Memory) ReportProbe(ctx context.Context, name string, q ProbeReport, p Params) (Record, error) {
	return m.step(ctx, name, p, func(r *memRecord, now time.Time) {
		if q.Incarnation != r.inc || q.Generation != r.gen || !r.open {
			return
		}
		r.expireLeases(now)
		if _, ok := r.leases[q.Lease]; !ok {
			return // expired: its place went to another probe
		}
		delete(r.leases, q.Lease)
		switch q.Outcome {
		case breaker.Success:
			r.ok++
			if r.ok >= p.Probes {
				r.closeNow(p)
			}
		case breaker.Failure:
			r.openNow(now, r.opens+1, p)
		}
	})
}

// Force implements [Store.Force].
func (m *Memory) Force(ctx context.Context, name string, mode Mode, p Params) (Record, error) {
	return m.step(ctx, name, p, func(r *memRecord, now time.Time) {
		r.closeNow(p)
		r.mode = mode
		if mode == ModeForcedOpen {
			r.open = true
		}
	})
}

// Events implements [Store.Events]. Each call has a channel of its own,
// buffered; a subscriber that falls behind misses events.
func (m *Memory) Events(ctx context.Context) (<-chan Record, error) {
	in := make(chan Record, 64)
	out := make(chan Record)
	m.mu.Lock()
	m.subs[in] = struct{}{}
	m.mu.Unlock()
	go func() {
		defer close(out)
		defer func() {
			m.mu.Lock()
			delete(m.subs, in)
			m.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case rec := <-in:
				select {
				case out <- rec:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
