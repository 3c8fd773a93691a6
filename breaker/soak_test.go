package breaker_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

var soakFor = flag.Duration("soak", 0, "run TestSoak for this long in all, on the frozen and on the real clock (0: a short run on the real clock alone); add -v to see what it saw")

// shortSoak is how long TestSoak runs without -soak: on the real clock, so
// that every go test runs the checks that hold under real time (the
// records check above all) on a breaker at today's date.
const shortSoak = 2 * time.Second

// TestSoak runs a contention (see below) with 128 goroutines for the time
// given by -soak, shared between every built-in policy (policyKinds), each
// on the frozen clock (from each of clockStarts in turn) and on the real
// one, with one and with four probes, with and without Classify, and half
// of the runs with CountCalls:
//
//	go test ./breaker -run Soak -soak=30s -v
//
// Without -soak it runs for shortSoak on the real clock alone. Besides the
// contention's own checks, it checks that the heap stays flat while each
// breaker runs and after, and that no goroutine is left behind, and it
// logs what it saw: calls, transitions, and the records check's lost and
// extra counts, which must be 0.
func TestSoak(t *testing.T) {
	total, clocks := *soakFor, []bool{true, false} // frozen, real
	if total <= 0 {
		total, clocks = shortSoak, []bool{false}
	}
	goroutines := runtime.NumGoroutine()
	before := liveHeap()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)

	var all contentionReport
	byClock := map[bool]*contentionReport{true: {}, false: {}}
	runs := 2 * len(policyKinds) * len(clocks)
	for i := range runs {
		pk := policyKinds[i/2/len(clocks)]
		frozen := clocks[i/2%len(clocks)]
		cfg := contentionConfig{
			workers: 128,
			kind:    pk,
			probes:  []int{1, 4}[i%2],
			// Without Classify or CountCalls the fast path of a closed
			// success runs; without CountCalls, that of a rejection.
			classify: i%2 == 1,
			count:    (i+i/2)%2 == 0,
			frozen:   frozen,
			seed:     seed + uint64(i),
		}
		name := fmt.Sprintf("policy=%s/frozen=%v/probes=%d/classify=%v/count=%v", pk.name, frozen, cfg.probes, cfg.classify, cfg.count)
		rep := runContention(t, cfg, time.Now().Add(total/time.Duration(runs)))
		t.Logf("%s: %s; heap %s -> %s while running", name, &rep, mib(rep.heapWarm), mib(rep.heapEnd))
		if grown := int64(rep.heapEnd) - int64(rep.heapWarm); grown > 1<<20 {
			t.Errorf("%s: live heap grew by %s while the breaker ran", name, mib(uint64(grown)))
		}
		all.add(rep)
		byClock[frozen].add(rep)
	}

	after := liveHeap()
	left := settledGoroutines(goroutines)
	for _, frozen := range clocks {
		t.Logf("frozen clock %v: %s", frozen, byClock[frozen])
	}
	t.Logf("all: %s", &all)
	t.Logf("heap before %s, after %s; goroutines before %d, after %d", mib(before), mib(after), goroutines, left)
	if int64(after)-int64(before) > 2<<20 {
		t.Errorf("live heap grew from %s to %s", mib(before), mib(after))
	}
	if left > goroutines {
		t.Errorf("%d goroutines left behind", left-goroutines)
	}
}

// A contention is one breaker called by many goroutines at once, with random
// outcomes, latencies, Trip and Reset, permits reported twice, and fn
// panics. It runs in epochs: the workers start together, each makes a
// random number of calls, and the controller waits for all of them; then,
// with nothing in flight, it checks the breaker at rest, and moves the clock
// or the circuit for the next epoch.
//
// With a frozen clock (a manualClock that only the controller moves, between
// epochs) it can check, without false positives, what is otherwise a race
// between the check and the breaker:
//
//   - Nothing is admitted while the circuit is open before its deadline.
//     Within an epoch an open circuit never reaches its deadline: Reset is
//     its only way out. A worker reads the Reset counter, then State(); if
//     that says Open, no Reset was under way, and none has started by the
//     time its call runs, the call was admitted while open.
//   - No more than HalfOpenProbes calls run at once in half-open. Within an
//     epoch the circuit is half-open at most once, and only first: it
//     leaves half-open for closed or open, and from those cannot come back
//     until the clock moves. (An epoch that starts with every slot held by
//     abandoned permits starts by reclaiming them, which begins a new
//     half-open period before any call is admitted; slots are reclaimed
//     only after ProbeTimeout without a probe admitted, so not again.) An
//     epoch starts with no call in flight. So when a worker reads the
//     number of calls in flight and then State() says half-open, each of
//     those calls was admitted in this half-open period and still holds its
//     probe slot: there can be no more than the limit.
//   - Every admitted call is recorded exactly once. In an epoch that starts
//     and ends closed, with no transition and no Reset, the generation never
//     changes, so every non-ignored report must reach the policy once: the
//     records counted by countingPolicy equal the reports.
//
// Under any clock it checks: each Execute runs fn at most once, and returns
// fn's error or a rejection wrapping ErrOpen; OnStateChange calls form a
// chain (each from is the previous to) that ends in the state State()
// reports at rest; records never outnumber reports; at rest a half-open
// circuit has every one of its probe slots free: exactly HalfOpenProbes
// permits are granted, then closing probes close it; and permits reported
// long after their period ended (abandoned at rest so that ProbeTimeout
// reclaims their slots) change nothing; and Metrics agrees at rest: the
// state, trips as many as the transitions to open, no probe in flight, and
// with CountCalls each epoch's successes, failures, ignored calls and
// rejections exactly as the workers saw them. The breaker backs off
// (Backoff, with jitter from math/rand/v2) and, with the frozen clock, has
// a ProbeTimeout.
type contention struct {
	cfg      contentionConfig
	b        *breaker.Breaker[int]
	clk      *manualClock // nil with the real clock
	counting *countingPolicy

	running atomic.Int64  // calls admitted and not yet reported
	resets  atomic.Uint64 // Reset calls: started<<32 | under way

	calls, rejected, reports atomic.Uint64    // reports: non-ignored, once per call
	outcomes                 [3]atomic.Uint64 // finished calls by the Outcome the breaker sees
	abandons                 uint64           // times every slot was abandoned
	probesSeen               atomic.Int64     // the most calls seen running in half-open

	mu          sync.Mutex // guards the OnStateChange and OnTransition chains
	last        breaker.State
	transitions uint64
	opens       uint64             // transitions to Open, by OnStateChange
	lastTr      breaker.Transition // the last OnTransition
	opensTr     uint64             // transitions to Open, by OnTransition (also open to open)
	openTimeout time.Duration

	// abandoned are permits that took every probe slot at rest and were
	// left unreported while ProbeTimeout passed, so that the next epoch
	// starts by reclaiming the slots; they are reported at the next rest,
	// long after their half-open period ended.
	abandoned []breaker.Permit[int]

	// The records check (see checkRecords): each worker's tally of the
	// calls it reported, and, merged at rest, those of the periods not yet
	// checked.
	tallies        []*tally
	pending        tally
	certain, maybe uint64 // calls checked: certain to be recorded, or maybe
	lost, extra    uint64 // records missing, records too many

	bad violations
}

// tally counts a worker's reported calls by the policy's period (the
// countingPolicy's Reset count): those certain to have been recorded in
// that period, and those that may have been recorded in it.
type tally struct {
	certain, maybe map[uint64]uint64
}

func newTally() *tally { return &tally{certain: map[uint64]uint64{}, maybe: map[uint64]uint64{}} }

type contentionConfig struct {
	workers  int
	kind     policyKind
	probes   int
	classify bool
	count    bool // Config.CountCalls
	frozen   bool // a manual clock, moved by the controller only; else the real clock
	seed     uint64
}

const resetUnderWay = 1<<32 - 1

// probeTimeout is the contentions' Config.ProbeTimeout, on the frozen clock.
const probeTimeout = 2 * time.Second

// contentionReport is what a contention saw.
type contentionReport struct {
	epochs, calls, rejected, transitions, records, reports, abandons uint64
	certain, maybe, lost, extra                                      uint64
	probesSeen                                                       int64
	violations                                                       uint64
	heapWarm, heapEnd                                                uint64
}

func (r *contentionReport) String() string {
	return fmt.Sprintf("%d epochs, %d calls, %d rejected, %d transitions, %d records of %d reports (checked against %d calls certain to be recorded and %d that may be: %d lost, %d extra), %d times all probes abandoned, at most %d calls seen in half-open, %d violations",
		r.epochs, r.calls, r.rejected, r.transitions, r.records, r.reports, r.certain, r.maybe, r.lost, r.extra, r.abandons, r.probesSeen, r.violations)
}

func (r *contentionReport) add(o contentionReport) {
	r.epochs += o.epochs
	r.calls += o.calls
	r.rejected += o.rejected
	r.transitions += o.transitions
	r.records += o.records
	r.reports += o.reports
	r.abandons += o.abandons
	r.certain += o.certain
	r.maybe += o.maybe
	r.lost += o.lost
	r.extra += o.extra
	r.probesSeen = max(r.probesSeen, o.probesSeen)
	r.violations += o.violations
}

// violations collects what went wrong, from any goroutine; it keeps the
// first few messages.
type violations struct {
	n     atomic.Uint64
	mu    sync.Mutex
	first []string
}

func (v *violations) add(format string, args ...any) {
	if v.n.Add(1) > 10 {
		return
	}
	v.mu.Lock()
	v.first = append(v.first, fmt.Sprintf(format, args...))
	v.mu.Unlock()
}

// transitionsSoFar is how many transitions OnStateChange has reported.
func (h *contention) transitionsSoFar() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.transitions
}

// epochParams is what the workers do in one epoch. Rates are per mille.
type epochParams struct {
	ops                  int // most calls per worker
	fail, ignore, panics int // outcomes
	trip, reset          int // ops that are a Trip or a Reset instead of a call
	manual               int // ops that are a TripFor, ForceOpen or Disable
	permit, twice        int // calls made with Allow and Done; those reported twice
	latency              int // most runtime.Gosched a call yields for
	track                int // calls that read Metrics before and after, for the records check
}

var (
	errSoakPanic = errors.New("soak: fn panicked")
	errFailed    = errors.New("soak: call failed")
)

// runContention runs a contention until the deadline (real time) and
// reports what it saw; violations fail t.
func runContention(t *testing.T, cfg contentionConfig, deadline time.Time) contentionReport {
	t.Helper()
	h := &contention{cfg: cfg}
	bcfg := breaker.Config[int]{
		Name:           "soak",
		OpenTimeout:    time.Second,
		HalfOpenProbes: cfg.probes,
		ProbeTimeout:   probeTimeout,
		// Rand is left to math/rand/v2: it is called under the breaker's
		// lock by whichever goroutine trips it.
		Backoff:       &breaker.Backoff{Max: 8 * time.Second, Jitter: 0.5},
		OnStateChange: h.changed,
		OnTransition:  h.transitioned,
		CountCalls:    cfg.count,
	}
	if p := cfg.kind.build(cfg.kind.typical); p != nil {
		h.counting = &countingPolicy{Policy: p, perPeriod: &periodCounts{}}
		h.pending = *newTally()
		bcfg.Policy = h.counting
	}
	if cfg.frozen {
		starts := clockStarts()
		h.clk = newManualClock(starts[cfg.seed%uint64(len(starts))])
		bcfg.Clock = h.clk
	} else {
		// The timer path, many times over. No ProbeTimeout (its default is
		// the open period): with real time passing, slots could be
		// reclaimed under the check at rest.
		bcfg.OpenTimeout, bcfg.Backoff.Max = 100*time.Microsecond, 800*time.Microsecond
		bcfg.ProbeTimeout = breaker.NoProbeTimeout
	}
	if cfg.classify {
		bcfg.Classify = func(result int, _ error) breaker.Outcome { return breaker.Outcome(result) }
	}
	h.openTimeout = bcfg.OpenTimeout
	b, err := breaker.New(bcfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.b = b
	h.lastTr = breaker.Transition{To: breaker.Closed}

	// Workers live for the whole run and take one epoch at a time.
	work := make([]chan *epochParams, cfg.workers)
	var epochDone, exited sync.WaitGroup
	for i := range work {
		work[i] = make(chan *epochParams, 1)
		tl := newTally()
		h.tallies = append(h.tallies, tl)
		exited.Add(1)
		go func(in <-chan *epochParams, r *rand.Rand) {
			defer exited.Done()
			for e := range in {
				for n := 1 + r.IntN(e.ops); n > 0; n-- {
					h.op(r, e, tl)
				}
				epochDone.Done()
			}
		}(work[i], rand.New(rand.NewPCG(cfg.seed, uint64(i))))
	}

	r := rand.New(rand.NewPCG(cfg.seed, 1<<32))
	start := time.Now()
	warm := start.Add(deadline.Sub(start) / 10)
	var rep contentionReport
	// Past the deadline, go on until the circuit has moved at least once
	// (bounded): a short slice of real time on a loaded machine may end
	// before any epoch's steering made a transition, and a run with none
	// has checked little.
	for time.Now().Before(deadline) || (h.transitionsSoFar() == 0 && rep.epochs < 1000) {
		if rep.heapWarm == 0 && time.Now().After(warm) {
			rep.heapWarm = liveHeap()
		}
		e := drawEpoch(r)
		atRest := h.snapshot()
		epochDone.Add(len(work))
		for _, w := range work {
			w <- e
		}
		epochDone.Wait()
		rep.epochs++
		h.checkRecords(false)
		h.checkAtRest(atRest)
		h.steer(r)
	}
	rep.heapEnd = liveHeap()
	if rep.heapWarm == 0 {
		rep.heapWarm = rep.heapEnd
	}
	for _, w := range work {
		close(w)
	}
	exited.Wait()
	h.checkRecords(true)

	rep.calls, rep.rejected, rep.reports = h.calls.Load(), h.rejected.Load(), h.reports.Load()
	rep.transitions, rep.probesSeen, rep.abandons = h.transitions, h.probesSeen.Load(), h.abandons
	rep.certain, rep.maybe, rep.lost, rep.extra = h.certain, h.maybe, h.lost, h.extra
	if h.counting != nil {
		rep.records = h.counting.records.Load()
	}
	rep.violations = h.bad.n.Load()
	for _, msg := range h.bad.first {
		t.Errorf("%s: %s", cfg.kind.name, msg)
	}
	if rep.calls == 0 || rep.transitions == 0 {
		t.Errorf("%s: %s: the workers did not get the breaker to do anything", cfg.kind.name, &rep)
	}
	return rep
}

func drawEpoch(r *rand.Rand) *epochParams {
	pick := func(vs ...int) int { return vs[r.IntN(len(vs))] }
	return &epochParams{
		ops:     pick(1, 20, 100, 300),
		fail:    pick(0, 20, 200, 600, 1000),
		ignore:  pick(0, 50, 950), // mostly ignored: half-open lasts, its slots churn
		panics:  pick(0, 5),
		trip:    pick(0, 0, 1, 5),
		reset:   pick(0, 0, 1, 5),
		manual:  pick(0, 0, 1, 5),
		permit:  pick(0, 300, 1000),
		twice:   pick(0, 100),
		latency: pick(0, 2, 8),
		track:   pick(0, 100, 1000),
	}
}

// changed is OnStateChange: it checks the chain.
func (h *contention) changed(_ string, from, to breaker.State) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if from != h.last || from == to {
		h.bad.add("transition %v>%v follows a transition to %v", from, to, h.last)
	}
	h.last = to
	h.transitions++
	if to == breaker.Open {
		h.opens++
	}
}

// reset calls Reset, counted for the open check and the quiet check.
func (h *contention) reset() { h.counted(h.b.Reset) }

// counted calls a manual action that can let calls through an open
// circuit (Reset, Disable), or mute the policy of a closed one (Disable),
// and counts it as a Reset.
func (h *contention) counted(action func()) {
	h.resets.Add(1<<32 + 1)
	defer h.resets.Add(^uint64(0)) // one less under way
	action()
}

// manual is one of the manual modes and periods: TripFor (for half, one or
// four open timeouts: never an already ended period, which would make the
// circuit half-open a second time in an epoch), ForceOpen or Disable.
func (h *contention) manual(r *rand.Rand) {
	switch r.IntN(3) {
	case 0:
		h.b.TripFor(h.openTimeout / 2 * time.Duration([]int{1, 2, 8}[r.IntN(3)]))
	case 1:
		h.b.ForceOpen()
	default:
		h.counted(h.b.Disable)
	}
}

// transitioned is OnTransition: it checks its chain (state changes and
// changes of mode or period alike) and the rising generation, and counts
// the transitions to open, which Metrics counts by cause.
func (h *contention) transitioned(tr breaker.Transition) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if tr.From != h.lastTr.To || tr.Generation <= h.lastTr.Generation {
		h.bad.add("transition %+v follows %+v", tr, h.lastTr)
	}
	if tr.To == breaker.Open {
		h.opensTr++
	}
	h.lastTr = tr
}

// op is one worker step: a Trip, a Reset, or a call, which it counts in tl.
func (h *contention) op(r *rand.Rand, e *epochParams, tl *tally) {
	switch x := r.IntN(1000); {
	case x < e.trip:
		h.b.Trip()
		return
	case x < e.trip+e.reset:
		h.reset()
		return
	case x < e.trip+e.reset+e.manual:
		h.manual(r)
		return
	}
	o := breaker.Success
	panics := false
	switch x := r.IntN(1000); {
	case x < e.panics:
		o, panics = breaker.Failure, true
	case x < e.panics+e.fail:
		o = breaker.Failure
	case x < e.panics+e.fail+e.ignore:
		o = breaker.Ignored
	}
	latency := 0
	if e.latency > 0 {
		latency = r.IntN(e.latency + 1)
	}

	// For the records check: the policy's period and, when tracked, what
	// Metrics says, before asking to be let through (see checkRecords).
	var period uint64
	var m breaker.Metrics
	tracked := h.counting != nil && r.IntN(1000) < e.track
	if h.counting != nil {
		period = h.counting.resets.Load()
	}
	if tracked {
		m = h.b.Metrics()
	}
	// For the open check: no Reset under way, and the state, before
	// asking to be let through.
	resets := h.resets.Load()
	before := breaker.Closed
	if h.clk != nil {
		before = h.b.State()
	}
	known := false // admitted in the closed generation of period
	admitted := func() {
		h.calls.Add(1)
		h.running.Add(1)
		if tracked {
			now := h.b.Metrics()
			known = m.State == breaker.Closed && now.State == breaker.Closed && h.counting.resets.Load() == period &&
				m.Mode == breaker.ModeNone && now.Mode == breaker.ModeNone
		}
		if h.clk != nil {
			if before == breaker.Open && resets&resetUnderWay == 0 && h.resets.Load()>>32 == resets>>32 {
				h.bad.add("a call was let through while the circuit was open before its deadline")
			}
			// Calls in flight first, then the state: see contention.
			n := h.running.Load()
			if h.b.State() == breaker.HalfOpen {
				if n > int64(h.cfg.probes) {
					h.bad.add("%d calls in flight in half-open, limit %d", n, h.cfg.probes)
				}
				raise(&h.probesSeen, n)
			}
		}
		for range latency {
			runtime.Gosched()
		}
		h.running.Add(-1)
	}

	var finished bool
	if r.IntN(1000) < e.permit {
		o, finished = h.viaPermit(o, admitted, r.IntN(1000) < e.twice)
	} else {
		finished = h.viaExecute(o, panics, admitted)
	}
	if finished && o != breaker.Ignored && h.counting != nil {
		h.count(tl, period, tracked, known, m, resets)
	}
}

// count notes in tl a call reported with an outcome the policy records,
// asked for when the policy's period was period and, if tracked, when
// Metrics said before; known says it was admitted in the closed
// generation of that period.
//
// resets is the controller's count of Reset calls (see contention.resets)
// before the call asked to be let through: a call that overlaps a Reset
// call may run while the Reset fences the policy (the policy records
// nothing until its Reset is done), so it is never certain to be recorded.
func (h *contention) count(tl *tally, period uint64, tracked, known bool, before breaker.Metrics, resets uint64) {
	if tracked {
		after := h.b.Metrics()
		noReset := resets&resetUnderWay == 0 && h.resets.Load() == resets
		switch {
		case noReset && h.counting.resets.Load() == period && before.State == breaker.Closed && after.State == breaker.Closed &&
			before.Mode == breaker.ModeNone && after.Mode == breaker.ModeNone:
			tl.certain[period]++
			return
		case known:
			tl.maybe[period]++
			return
		}
	}
	for p := period; p <= h.counting.resets.Load(); p++ {
		tl.maybe[p]++
	}
}

// checkRecords compares, at rest, what the policy was fed with what the
// callers reported: for each closed period of the policy (from one of its
// Resets to the next), the records the countingPolicy counted, with the
// calls the workers know were admitted and reported in that period.
//
// A worker knows it for a tracked call that finds the policy in the same
// period before it asks to be let through and after it reported, and
// Metrics saying closed both times: the circuit cannot have left the
// closed state in between, since every way back to closed resets the
// policy, so the call was admitted and reported in one closed generation
// and must be recorded exactly once, in that period. A call that overlaps
// one of the controller's Reset calls is never certain: while a Reset
// fences the policy, calls run unrecorded. A tracked call that reads Metrics and the period again
// once admitted, and finds the same, was admitted in that closed
// generation: it may be recorded in that period or dropped (if the
// generation ended before it reported), never recorded in a later period,
// which is what a late result that slipped past a Reset would be. Every
// other call reported with an outcome the policy records may have been
// recorded in any period from the one before it to the one after. So each period must have no fewer records than calls
// certain to be recorded (else they were lost) and no more than those
// and the calls that may have been (else a call was recorded twice, or a
// late result reached the policy).
//
// Periods before the current one are over; with all, so is the current
// one (no call is in flight any more).
func (h *contention) checkRecords(all bool) {
	if h.counting == nil {
		return
	}
	for _, tl := range h.tallies {
		for p, n := range tl.certain {
			h.pending.certain[p] += n
		}
		for p, n := range tl.maybe {
			h.pending.maybe[p] += n
		}
		clear(tl.certain)
		clear(tl.maybe)
	}
	until := h.counting.resets.Load()
	if all {
		until++
	}
	records := h.counting.perPeriod.take(until)
	periods := map[uint64]bool{}
	for _, m := range []map[uint64]uint64{records, h.pending.certain, h.pending.maybe} {
		for p := range m {
			if p < until {
				periods[p] = true
			}
		}
	}
	for p := range periods {
		rec, certain, maybe := records[p], h.pending.certain[p], h.pending.maybe[p]
		delete(h.pending.certain, p)
		delete(h.pending.maybe, p)
		h.certain += certain
		h.maybe += maybe
		if rec < certain {
			h.lost += certain - rec
			h.bad.add("closed period %d: %d records, but %d calls were certain to be recorded: %d lost", p, rec, certain, certain-rec)
		}
		if rec > certain+maybe {
			h.extra += rec - certain - maybe
			h.bad.add("closed period %d: %d records of %d calls certain and %d that may have been recorded: %d extra", p, rec, certain, maybe, rec-certain-maybe)
		}
	}
}

// result is what a call returns for the breaker to see outcome o.
func (h *contention) result(o breaker.Outcome) (int, error) {
	if h.cfg.classify {
		return int(o), nil
	}
	if o == breaker.Failure {
		return 0, errFailed
	}
	return 0, nil // an Ignored without Classify is made with a canceled context
}

// viaPermit makes a call with Allow and Done, and returns the outcome it
// reported, if it was let through.
func (h *contention) viaPermit(o breaker.Outcome, admitted func(), twice bool) (breaker.Outcome, bool) {
	p, err := h.b.Allow()
	if err != nil {
		h.wantRejection(err)
		return o, false
	}
	admitted()
	if o == breaker.Ignored && !h.cfg.classify {
		o = breaker.Success // Done has no context rule
	}
	res, resErr := h.result(o)
	p.Done(res, resErr)
	h.reported(o)
	if twice {
		// The opposite outcome: it would show if it counted.
		other := breaker.Failure
		if o == breaker.Failure {
			other = breaker.Success
		}
		p.Done(h.result(other))
	}
	return o, true
}

// viaExecute makes a call with Execute, and reports whether fn ran.
func (h *contention) viaExecute(o breaker.Outcome, panics bool, admitted func()) bool {
	ctx := context.Background()
	var cancel context.CancelFunc
	if o == breaker.Ignored && !h.cfg.classify {
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
	}
	ran := 0
	res, resErr := h.result(o)
	var err error
	v := catch(func() {
		_, err = h.b.Execute(ctx, func(ctx context.Context) (int, error) {
			ran++
			admitted()
			if panics {
				panic(errSoakPanic)
			}
			if cancel != nil {
				cancel()
				return 0, ctx.Err()
			}
			return res, resErr
		})
	})
	switch {
	case ran > 1:
		h.bad.add("Execute ran fn %d times", ran)
	case ran == 0:
		h.wantRejection(err)
		return false
	case panics && v != errSoakPanic:
		h.bad.add("fn's panic came back as %v", v)
	case !panics && (v != nil || (cancel == nil && err != resErr)):
		h.bad.add("Execute returned %v, panic %v; fn returned %v", err, v, resErr)
	}
	h.reported(o)
	return true
}

// reported counts a call the breaker saw finish with outcome o.
func (h *contention) reported(o breaker.Outcome) {
	h.outcomes[o].Add(1)
	if o != breaker.Ignored {
		h.reports.Add(1)
	}
}

func (h *contention) wantRejection(err error) {
	h.rejected.Add(1)
	var oe *breaker.OpenError
	if !errors.Is(err, breaker.ErrOpen) || !errors.As(err, &oe) || oe.State() == breaker.Closed {
		h.bad.add("a call was not let through, with error %v", err)
	}
}

// rest is what checkAtRest compares an epoch's end with.
type rest struct {
	state                                  breaker.State
	mode                                   breaker.Mode
	transitions, records, reports, resetsN uint64
	// What the workers saw and what Metrics says: finished calls by
	// outcome, then rejections.
	seen, counted [4]uint64
}

func (h *contention) snapshot() rest {
	s := rest{state: h.b.State(), reports: h.reports.Load(), resetsN: h.resets.Load() >> 32}
	h.mu.Lock()
	s.transitions = h.transitions
	h.mu.Unlock()
	if h.counting != nil {
		s.records = h.counting.records.Load()
	}
	for i := range h.outcomes {
		s.seen[i] = h.outcomes[i].Load()
	}
	s.seen[3] = h.rejected.Load()
	m := h.b.Metrics()
	s.mode = m.Mode
	// Indexed as seen is: by Outcome, then rejections.
	s.counted[breaker.Success], s.counted[breaker.Failure], s.counted[breaker.Ignored], s.counted[3] = m.Successes, m.Failures, m.Ignored, m.Rejected
	return s
}

// checkAtRest checks the breaker with no call in flight, after an epoch that
// started at before.
func (h *contention) checkAtRest(before rest) {
	now := h.snapshot()
	if len(h.abandoned) > 0 {
		// Each epoch moves the circuit on from the abandoned permits'
		// period: a call reclaims the slots, or a Trip or Reset ends it.
		// Their failures, reported now, must change nothing but the
		// count of failures.
		for _, p := range h.abandoned {
			p.Done(h.result(breaker.Failure))
			h.outcomes[breaker.Failure].Add(1)
		}
		h.abandoned = h.abandoned[:0]
		if after := h.snapshot(); after.state != now.state || after.transitions != now.transitions || after.records != now.records {
			h.bad.add("permits reported after their half-open period changed the breaker from %+v to %+v", now, after)
		}
	}
	h.mu.Lock()
	last := h.last
	h.mu.Unlock()
	if now.state != last {
		h.bad.add("State() is %v at rest, but the last transition reported was to %v", now.state, last)
	}
	h.checkMetrics(before, now)
	if h.counting != nil {
		records, reports := now.records-before.records, now.reports-before.reports
		quiet := before.state == breaker.Closed && now.state == breaker.Closed &&
			now.transitions == before.transitions && now.resetsN == before.resetsN &&
			before.mode == breaker.ModeNone && now.mode == breaker.ModeNone
		switch {
		case records > reports:
			h.bad.add("%d records of %d reports in one epoch", records, reports)
		case quiet && records != reports:
			h.bad.add("%d records of %d reports in an epoch that stayed closed", records, reports)
		}
	}
	switch now.state {
	case breaker.HalfOpen:
		// Every slot is free: exactly probes permits, then a rejection.
		// What the circuit was before the grants, and the transitions
		// during them (there should be none), go into the messages, so
		// that a failure says whether the circuit moved under the check.
		h.mu.Lock()
		trBefore := h.lastTr
		h.mu.Unlock()
		mBefore := h.b.Metrics()
		var permits []breaker.Permit[int]
		for range h.cfg.probes + 1 {
			p, err := h.b.Allow()
			if err != nil {
				var oe *breaker.OpenError
				if !errors.As(err, &oe) || oe.State() != breaker.HalfOpen {
					h.bad.add("half-open at rest rejected with %v", err)
				}
				break
			}
			permits = append(permits, p)
		}
		h.mu.Lock()
		trAfter := h.lastTr
		h.mu.Unlock()
		during := func() string {
			if trAfter == trBefore {
				return fmt.Sprintf("no transition during the grants; before them: %+v", mBefore)
			}
			return fmt.Sprintf("the circuit moved during the grants, from %+v to %+v; before them: %+v", trBefore, trAfter, mBefore)
		}
		if len(permits) != h.cfg.probes {
			h.bad.add("half-open at rest granted %d permits, limit %d, none in flight (%s)", len(permits), h.cfg.probes, during())
		}
		for _, p := range permits {
			p.Done(h.result(breaker.Success))
		}
		if st := h.b.State(); st != breaker.Closed {
			h.bad.add("%d successful probes left the circuit %v (%s)", len(permits), st, during())
		}
	case breaker.Open:
		if h.clk == nil {
			return
		}
		if until, ok := h.openUntil(); ok && !until.After(h.clk.Now()) {
			h.bad.add("open at rest until %v, which has passed (now %v)", until, h.clk.Now())
		}
	}
}

// checkMetrics compares Metrics, at rest, with what the workers saw during
// the epoch from before to now.
func (h *contention) checkMetrics(before, now rest) {
	m := h.b.Metrics()
	h.mu.Lock()
	opens := h.opensTr
	h.mu.Unlock()
	// With real time passing, an open circuit may expire between State
	// and Metrics, which reports it half-open without moving it.
	expired := h.clk == nil && now.state == breaker.Open && m.State == breaker.HalfOpen
	switch {
	case m.State != now.state && !expired:
		h.bad.add("Metrics says %v at rest, State() %v", m.State, now.state)
	case m.Trips+m.Reopens+m.ManualOpens+m.ExternalOpens != opens:
		h.bad.add("Metrics counts %d opens (%d trips, %d reopens, %d manual, %d external), OnTransition reported %d",
			m.Trips+m.Reopens+m.ManualOpens+m.ExternalOpens, m.Trips, m.Reopens, m.ManualOpens, m.ExternalOpens, opens)
	case m.ProbesInFlight != 0:
		h.bad.add("Metrics counts %d probes in flight at rest", m.ProbesInFlight)
	case m.Counted != h.cfg.count:
		h.bad.add("Metrics.Counted = %v with CountCalls %v", m.Counted, h.cfg.count)
	}
	if !h.cfg.count {
		return
	}
	for i := range now.seen {
		what := "rejections"
		if i < 3 {
			what = breaker.Outcome(i).String() + " outcomes"
		}
		seen, counted := now.seen[i]-before.seen[i], now.counted[i]-before.counted[i]
		if seen != counted {
			h.bad.add("Metrics counts %d %s in an epoch in which the workers saw %d", counted, what, seen)
		}
	}
}

// openUntil returns when the open circuit lets probes through, from a
// rejection; ok is false for a circuit forced open, which has no such time.
func (h *contention) openUntil() (until time.Time, ok bool) {
	_, err := h.b.Allow()
	var oe *breaker.OpenError
	switch {
	case !errors.As(err, &oe) || oe.State() != breaker.Open:
		h.bad.add("open circuit at rest answered Allow with %v", err)
		return time.Time{}, false
	case oe.Forced() != (h.b.Metrics().Mode == breaker.ModeForcedOpen):
		h.bad.add("rejection says forced %v, Metrics says mode %v", oe.Forced(), h.b.Metrics().Mode)
		return time.Time{}, false
	case oe.Forced():
		if !oe.Until().IsZero() {
			h.bad.add("a forced-open circuit's rejection says open until %v", oe.Until())
		}
		return time.Time{}, false
	}
	return oe.Until(), true
}

// steer moves the frozen clock and sometimes the circuit, at rest, for the
// next epoch: to just before an open circuit's deadline (which must still
// reject) and onto it (which must let probes through), past it, or by a
// little, which the time-window policies see.
func (h *contention) steer(r *rand.Rand) {
	if h.clk == nil {
		return
	}
	switch x := r.IntN(100); {
	case x < 5:
		h.b.Trip()
	case x < 10:
		h.reset()
	}
	if h.b.State() != breaker.Open {
		h.clk.Add(time.Duration(r.Int64N(int64(250 * time.Millisecond))))
		return
	}
	until, ok := h.openUntil()
	if !ok {
		if r.IntN(2) == 0 {
			h.reset() // forced open: end it, or the next epoch rejects all again
		}
		return
	}
	switch x := r.IntN(100); {
	case x < 40:
		h.clk.Add(until.Sub(h.clk.Now()) - time.Nanosecond)
		if st := h.b.State(); st != breaker.Open {
			h.bad.add("State() is %v a nanosecond before the open circuit's deadline", st)
		}
		if _, err := h.b.Allow(); !errors.Is(err, breaker.ErrOpen) {
			h.bad.add("a call was let through a nanosecond before the open circuit's deadline: %v", err)
		}
		if r.IntN(2) == 0 {
			h.clk.Add(time.Nanosecond)
			if st := h.b.State(); st != breaker.HalfOpen {
				h.bad.add("State() is %v at the open circuit's deadline", st)
			}
			h.abandon(r)
		}
	case x < 70:
		h.clk.Add(until.Sub(h.clk.Now()) + time.Duration(r.Int64N(int64(time.Second))))
		h.abandon(r)
	}
	// Otherwise the circuit stays open for the next epoch, whose calls
	// must all be rejected.
}

// raise makes v at least n.
func raise(v *atomic.Int64, n int64) {
	for {
		old := v.Load()
		if n <= old || v.CompareAndSwap(old, n) {
			return
		}
	}
}

// abandon, sometimes, takes every slot of a half-open circuit at rest and
// leaves the permits unreported while ProbeTimeout passes.
func (h *contention) abandon(r *rand.Rand) {
	if r.IntN(4) != 0 || h.b.State() != breaker.HalfOpen {
		return
	}
	for range h.cfg.probes {
		p, err := h.b.Allow()
		if err != nil {
			h.bad.add("a fresh half-open circuit at rest rejected a probe: %v", err)
			break
		}
		h.abandoned = append(h.abandoned, p)
	}
	if _, err := h.b.Allow(); !errors.Is(err, breaker.ErrOpen) {
		h.bad.add("half-open with every slot taken let a call through: %v", err)
	}
	h.abandons++
	h.clk.Add(probeTimeout + time.Duration(r.Int64N(int64(time.Second))))
}

// liveHeap returns the bytes of heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // the second collection frees what the first finalized
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func mib(n uint64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

// settledGoroutines returns the number of goroutines once it is no more than
// want, or what it is after a while: goroutines that have signalled that
// they are done may not have exited yet.
func settledGoroutines(want int) int {
	deadline := time.Now().Add(5 * time.Second)
	n := runtime.NumGoroutine()
	for n > want && time.Now().Before(deadline) {
		runtime.Gosched()
		n = runtime.NumGoroutine()
	}
	return n
}
