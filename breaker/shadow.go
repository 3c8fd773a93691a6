package breaker

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tripwire-go/tripwire/internal/fsm"
	"github.com/tripwire-go/tripwire/policy"
)

// Shadow is a candidate configuration that runs beside a breaker's live
// policy, observe-only, for [Config.Shadows]: a setting one would like to
// try, watched on live traffic before it is trusted with it.
//
// A candidate is a breaker of its own with Settings, fed the calls the
// live breaker lets run: each call is offered to it when it starts, and it
// decides, as a breaker with those settings would, whether it would have
// let the call run (closed; or half-open with a probe slot free, when the
// call is its probe) or rejected it; the calls it would have let run are
// reported to it with the outcome the live breaker gave them. So it trips,
// goes half-open, runs its probes, opens again and closes, with evidence,
// exactly as a breaker with its settings would have on those calls, and it
// never rejects, delays or changes one. See docs/shadow.md.
type Shadow struct {
	// Name identifies the candidate in [Transition.Candidate] and
	// [ShadowStatus]: any text without control characters, unique among a
	// breaker's candidates. Package spec names a candidate by its spec.
	Name string
	// Settings are the candidate's policy and the settings that shape its
	// open and half-open periods, as [Breaker.Reconfigure] takes them; each
	// zero field means its default, as in Config. Its Policy must be its
	// own (not the live breaker's, nor another candidate's): New binds it.
	// The candidate takes RampUp, MaxRetryAfter, Clock, Classify and
	// DescribeError from the live breaker's Config.
	Settings Settings
}

// MaxShadows is the most candidates a breaker takes in Config.Shadows:
// each one costs every call of the breaker a decision of its own.
const MaxShadows = 8

// ShadowStatus is what a shadow candidate did, for [Breaker.Shadows].
type ShadowStatus struct {
	// Name is the candidate's [Shadow.Name], and Settings its settings as
	// the spec language writes them ([Settings.Text], or written by the
	// breaker).
	Name, Settings string
	// State is the candidate's state, as Metrics reports a breaker's; Since
	// is when it entered it, and Until, while open, when its open period
	// ends.
	State        State
	Since, Until time.Time
	// Trips and Reopens count its opens, as Metrics counts a breaker's: by
	// its policy, and by a failed probe.
	Trips, Reopens uint64
	// Calls counts the calls offered to it: every call the live breaker let
	// run. WouldReject counts those it would have rejected (open, or
	// half-open with its probe slots taken); it saw the others.
	Calls, WouldReject uint64
	// Panics counts the panics recovered from the candidate: its policy's,
	// or Config.OnTransition's while it delivered one of the candidate's
	// transitions. LastPanic is the last one's value, printed.
	Panics    uint64
	LastPanic string
	// Transitions are the candidate's last transitions (at most
	// MaxTransitions), oldest first, each with its evidence.
	Transitions []Transition
}

// CallRecord is one call a breaker let run, as [Config.OnCall] hears of
// it: when it started and ended on the breaker's clock, and how it
// counted.
type CallRecord struct {
	// Name is the breaker's name.
	Name string
	// Start is when the breaker admitted the call, End when its result was
	// reported.
	Start, End time.Time
	// Outcome is how the call counted: Classify's answer, Failure for a
	// call that panicked, Ignored for a permit released unreported.
	Outcome Outcome
	// Err is the call's error: for a call that panicked, an error that
	// says so; nil for a permit released unreported.
	Err error
}

// unrecorded is the word of a ticket whose call runs but counts for
// nothing: a call a shadow-only breaker would have rejected, or one a
// candidate would have. Its state is Open, under which finish records
// nothing; admit never hands out an open word.
const unrecorded = fsm.Word(fsm.Open)

// needObserved is a bit of core.needs beside the policy's Needs (which
// fit in a byte): the breaker has observers, or a call admitted while it
// had candidates has not ended (see storeNeeds), so a permit's Done must
// not take its shortcut for a closed success, and report the call.
const needObserved = 1 << 8

// shadowing is what a core keeps to watch its calls and to change its
// candidates while it runs (ReconfigureShadows).
type shadowing struct {
	// obs is nil until the breaker has observers: from New, or from its
	// first ReconfigureShadows. Once set it stays.
	obs atomic.Pointer[observers]
	// needsMu serialises the writes of core.needs and core.gated, which
	// depend both on the policy (Reconfigure) and on the observers
	// (ReconfigureShadows, and the last call of a removed set): each
	// writer computes them afresh from both under it (storeNeeds).
	needsMu sync.Mutex
	// setMu serialises ReconfigureShadows.
	setMu sync.Mutex
	// notesMu guards pending: the evidence of each change of candidates
	// queued in the machine (fsm.Machine.Note) and not yet delivered,
	// oldest first, in the machine's order.
	notesMu sync.Mutex
	pending []*Evidence
}

// observers is what a breaker watches its calls with: shadow candidates,
// the shadow-only mode, Config.OnCall. A candidate's own core has one too,
// with only candidate set, which marks its transitions.
type observers struct {
	only        bool // Config.ShadowOnly
	wouldReject atomic.Uint64
	onCall      func(CallRecord)
	// set is the candidates in force, nil for none: one pointer, which
	// ReconfigureShadows replaces, so that a call is offered to the
	// candidates of one set and reports to that set.
	set atomic.Pointer[shadowSet]
	// inflight counts the calls that hold an observed (admitted through
	// enter and not ended): while there are some, core.needs keeps
	// needObserved, whatever the set, so that a permit that holds one
	// never takes Done's shortcut, which would drop it.
	inflight atomic.Int64
	// candidate is, in a candidate's own core, its name.
	candidate string
	// pool recycles the per-call records of the candidates' tickets.
	pool sync.Pool
}

// shadowSet is one set of candidates, in the order they were given.
type shadowSet struct {
	cands []*candidate
}

// watching reports whether calls of a closed circuit must go through
// admission, to be offered to candidates or timed for OnCall.
func (o *observers) watching() bool {
	return o != nil && (o.set.Load() != nil || o.onCall != nil)
}

// candidates returns the candidates in force, or nil.
func (o *observers) candidates() []*candidate {
	if o == nil {
		return nil
	}
	if s := o.set.Load(); s != nil {
		return s.cands
	}
	return nil
}

// observed is what the observers keep of one call between its admission
// and its end.
type observed struct {
	start time.Time  // the call's start, if anyone read it
	set   *shadowSet // the candidates the call was offered to
	// w is the word of each candidate's ticket, in the order of set;
	// unrecorded where it would have rejected. A candidate's ticket is
	// its word and the call's start: it has no gate, and any start its
	// admission took is the call's (moment). A word alone is what made
	// offering a call to a candidate cheap: a whole ticket, returned and
	// stored, cost a third of it (pprof, BenchmarkShadows).
	w []fsm.Word
}

// moment is one reading of the clock that the circuits a call goes
// through share: the live circuit, each candidate and OnCall's
// CallRecord. A call through a breaker with observers takes one at its
// start and one at its end, each read at most once and only if one of
// them needs the time (issue 21: at most one clock read per call, shared
// by the breaker and its policy). A candidate fed the time its own core
// would have read an instant later sees what a breaker with its settings
// fed the same calls at the same times sees.
type moment struct {
	clock Clock
	t     time.Time
	read  bool
}

// now returns the reading, taking it on first use.
func (m *moment) now() time.Time {
	if !m.read {
		m.t, m.read = m.clock.Now(), true
	}
	return m.t
}

// at returns the time of m, or reads c's clock when m is nil (a call
// without observers).
func (c *core) at(m *moment) time.Time {
	if m == nil {
		return c.clock.Now()
	}
	return m.now()
}

// candidate is one shadow candidate: a core of its own, never exposed.
type candidate struct {
	name string
	c    *core
	// calls, wouldReject and panics are ShadowStatus's counts.
	calls, wouldReject, panics atomic.Uint64
	lastPanic                  atomic.Pointer[string]
	// retired: ReconfigureShadows removed it. It is offered no more
	// calls, hears no more results, and its transitions reach no one.
	retired atomic.Bool
}

// shadowSettings is a validated Shadow.
type shadowSettings struct {
	name string
	s    settings
}

// observe returns the observers s asks for, for the core c being built,
// or nil when it asks for none.
func (s *settings) observe(c *core) *observers {
	if !s.shadowOnly && len(s.shadows) == 0 && s.onCall == nil {
		return nil
	}
	o := newObservers()
	o.only, o.onCall = s.shadowOnly, s.onCall
	var cands []*candidate
	for i := range s.shadows {
		cands = append(cands, c.newCandidate(&s.shadows[i], s))
	}
	if len(cands) > 0 {
		o.set.Store(&shadowSet{cands: cands})
	}
	return o
}

func newObservers() *observers {
	o := &observers{}
	o.pool.New = func() any { return new(observed) }
	return o
}

// newCandidate builds the candidate sh of the live core c, which takes
// from base its name, clock, DescribeError, RampUp and MaxRetryAfter.
func (c *core) newCandidate(sh *shadowSettings, base *settings) *candidate {
	cd := &candidate{name: sh.name, c: new(core)}
	cs := sh.s
	cs.name, cs.clock = base.name, base.clock
	// Exact: a candidate arms no timer; it takes the time when a call
	// finds it open, from the reading the call shares (moment), which
	// costs only breakers with candidates.
	cs.exactClock = true
	cs.onStateChange = nil
	cs.onTransition = cd.forward(c)
	cs.countCalls = false
	cs.describeError = base.describeError
	cs.rampUp, cs.maxRetryAfter = base.rampUp, base.maxRetryAfter
	cs.shadows, cs.shadowOnly, cs.onCall = nil, false, nil
	cd.c.obs.Store(&observers{candidate: sh.name})
	cd.c.init(&cs)
	// On the real clock, a policy that needs the time only to within a
	// tolerance takes it from a coarse clock of its own, as it would in a
	// breaker of its own (setPolicy): the exactness above is for open
	// periods only. A candidate's policy never changes (ReconfigureShadows
	// builds new candidates), so nothing replaces it.
	if _, real := base.clock.(*realClock); real && cs.terms.Needs == policy.NeedTime && cs.terms.TimeWithin >= minCoarse {
		cd.c.coarse.Store(newCoarseClock(base.clock, cs.terms.TimeWithin))
	}
	return cd
}

// forward returns the OnTransition of a candidate of live: it hands the
// candidate's transitions, marked, to live's OnTransition. A panic there
// is the candidate's: recovered and counted, so that it cannot reach the
// call that caused the transition.
func (cd *candidate) forward(live *core) func(Transition) {
	return func(t Transition) {
		f := live.onTransition
		if f == nil || cd.retired.Load() {
			return
		}
		defer cd.recover()
		f(t)
	}
}

// recover, deferred, recovers a panic of the candidate and counts it.
func (cd *candidate) recover() {
	if v := recover(); v != nil {
		cd.panicked(v)
	}
}

// panicked counts v, recovered, as a panic of the candidate.
func (cd *candidate) panicked(v any) {
	cd.panics.Add(1)
	s := fmt.Sprint(v)
	cd.lastPanic.Store(&s)
}

// refreshNeeds sets core.needs and core.gated for the policy and the
// observers in force.
func (c *core) refreshNeeds() {
	c.needsMu.Lock()
	c.storeNeeds()
	c.needsMu.Unlock()
}

// storeNeeds is refreshNeeds with needsMu held. needObserved stays while
// a call holds an observed: enter counts the call (inflight) before it
// reads the set, and a change of set stores the set before it reads the
// count here, so either this sees the call, or the call sees the new set
// (sequentially consistent atomics: Dekker's argument).
func (c *core) storeNeeds() {
	l := c.live.Load()
	needs := uint32(l.terms.Needs)
	o := c.obs.Load()
	watching := o.watching()
	if watching || o != nil && o.inflight.Load() > 0 {
		needs |= needObserved
	}
	c.needs.Store(needs)
	c.gated.Store(l.terms.Needs&policy.NeedDuration != 0 || l.shed != nil || watching)
}

// enter admits a call, as admit does, and lets the observers see it: a
// shadow-only breaker turns a rejection into a call that runs and counts
// for nothing, and each candidate decides whether it would have let the
// call run.
func (c *core) enter(w fsm.Word) (ticket, error) {
	o := c.obs.Load()
	if o == nil {
		return c.admit(w, nil)
	}
	m := moment{clock: c.clock}
	var (
		t   ticket
		err error
	)
	if w.Plain() && c.needs.Load()&uint32(policy.NeedDuration) == 0 && c.live.Load().shed == nil {
		// admit's closed path, for a call that needs no start and has no
		// shedder to ask: its ticket is the word. Built here, not
		// returned from admit, which cost a call with a candidate a
		// tenth of its time (pprof, BenchmarkShadows).
		t.w = w
	} else {
		t, err = c.admit(w, &m)
	}
	if err != nil {
		if !o.only {
			// The call does not run: no candidate sees it, since it has
			// no outcome to judge.
			return t, err
		}
		o.wouldReject.Add(1)
		t = ticket{w: unrecorded}
	}
	// The ticket stays here rather than going through observers.enter
	// and back: copied twice, it cost a call with a candidate more than
	// the candidate's admission did (pprof, BenchmarkShadows).
	t.obs = o.enter(c, &m)
	return t, nil
}

// enter offers a call the breaker lets run, which started at m, to the
// candidates, and returns what the observers keep of it, or nil when
// they keep nothing.
func (o *observers) enter(c *core, m *moment) *observed {
	if !o.watching() {
		return nil
	}
	// Counted before the set is read: see storeNeeds.
	o.inflight.Add(1)
	set := o.set.Load()
	if set == nil && o.onCall == nil {
		o.leave(c)
		return nil
	}
	ob := o.pool.Get().(*observed)
	if set != nil {
		ob.set = set
		n := len(set.cands)
		if cap(ob.w) < n {
			ob.w = make([]fsm.Word, n)
		}
		ob.w = ob.w[:n]
		for i, cd := range set.cands {
			ob.w[i] = cd.admit(m)
		}
	}
	if o.onCall != nil {
		m.now()
	}
	if m.read {
		ob.start = m.t
	}
	return ob
}

// leave ends the count of a call that held an observed. The last one of
// a breaker left without candidates and OnCall lets core.needs drop
// needObserved, so that its permits take Done's shortcut again.
func (o *observers) leave(c *core) {
	if o.inflight.Add(-1) == 0 && o.onCall == nil && o.set.Load() == nil {
		c.refreshNeeds()
	}
}

// admit offers a call that starts at m to the candidate, and returns the
// word of its ticket, or unrecorded where it would have rejected the
// call.
func (cd *candidate) admit(m *moment) fsm.Word {
	if cd.retired.Load() {
		return unrecorded
	}
	cd.calls.Add(1)
	// Execute's shortcut: a plain closed word of a circuit that needs no
	// start admits the call as it is, with nothing that can panic.
	if w := cd.c.load(); w.Plain() && !cd.c.gated.Load() {
		return w
	}
	return cd.admitSlow(m)
}

func (cd *candidate) admitSlow(m *moment) (w fsm.Word) {
	w = unrecorded // if admit panics
	defer cd.recover()
	t, err := cd.c.admit(cd.c.load(), m)
	if err != nil {
		cd.wouldReject.Add(1)
		return unrecorded
	}
	return t.w
}

// done reports the end at m of the call ob to the candidates of set, from
// the i-th on, and returns len(set.cands); or, when one of them panics,
// counts the panic as that candidate's and returns the index of the next.
// One deferred recover for all of them rather than one each: observeEnd
// calls it again from the next.
func (set *shadowSet) done(i int, ob *observed, o Outcome, err error, m *moment) (next int) {
	next = i
	defer func() {
		if v := recover(); v != nil {
			set.cands[next].panicked(v)
			next++
		}
	}()
	for ; next < len(set.cands); next++ {
		cd := set.cands[next]
		if w := ob.w[next]; w != unrecorded && !cd.retired.Load() {
			cd.c.doneAt(ticket{w: w, start: ob.start}, o, err, m)
		}
	}
	return next
}

// doneAt is done for a call of a breaker with observers, which ends at
// m, and whose t no longer holds what they kept: a failure that asks for
// an open period (retry-after) opens it, reading the clock itself, and
// every other result goes through finishAt.
func (c *core) doneAt(t ticket, o Outcome, err error, m *moment) {
	if !c.honoursAsk(t, o) {
		c.finishAt(t, o, m)
		return
	}
	asked, ok := retryAfterOf(err)
	if !ok {
		c.finishAt(t, o, m)
		return
	}
	c.openAsked(t, asked)
}

// observeEnd ends a call admitted with t, which carries what the
// observers kept of it: the candidates first (nothing of theirs can fail
// the call), then the live circuit, then OnCall, the user's, whose panic
// goes on up once the call is counted. panicked: the call has no result,
// as when finish is called for a panic; o is then Failure or, for a
// released permit, Ignored.
func (c *core) observeEnd(t ticket, o Outcome, err error, panicked bool) {
	ob := t.obs
	t.obs = nil
	if o > Ignored {
		o = Failure
	}
	if panicked && o == Failure {
		err = errPanicked
	}
	obs := c.obs.Load()
	end := moment{clock: c.clock}
	if set := ob.set; set != nil {
		if o == Failure {
			// Each candidate keeps the failure for the evidence of its
			// trips, at a time of its own (noteFailure reads the clock),
			// before the end is read: a trip it causes is then no earlier
			// than the failure, and its evidence holds it.
			for i, cd := range set.cands {
				if ob.w[i] != unrecorded && !cd.retired.Load() {
					cd.c.noteFailure(err)
				}
			}
		}
		for i := 0; i < len(set.cands); {
			i = set.done(i, ob, o, err, &end)
		}
	}
	start := ob.start
	ob.start, ob.set = time.Time{}, nil
	obs.pool.Put(ob)
	obs.leave(c)
	if panicked {
		c.finishAt(t, o, &end)
	} else {
		c.doneAt(t, o, err, &end)
	}
	if f := obs.onCall; f != nil {
		f(CallRecord{Name: c.name, Start: start, End: end.now(), Outcome: o, Err: err})
	}
}

// Shadows returns what each shadow candidate in force (Config.Shadows, or
// the last ReconfigureShadows) did so far, in the order they were given:
// its state, its opens, the calls it was offered and would have rejected,
// and its last transitions with their evidence. Like Metrics it has no
// effect on any circuit (an open candidate whose period has passed is
// reported half-open) and calls no callback. nil for a breaker without
// candidates.
func (b *Breaker[T]) Shadows() []ShadowStatus {
	b.mustBeBuilt("Shadows")
	cands := b.obs.Load().candidates()
	if len(cands) == 0 {
		return nil
	}
	out := make([]ShadowStatus, 0, len(cands))
	for _, cd := range cands {
		m := cd.c.metrics()
		st := ShadowStatus{
			Name: cd.name, Settings: cd.c.live.Load().text,
			State: m.State, Since: m.Since, Until: m.Until,
			Trips: m.Trips, Reopens: m.Reopens,
			Calls: cd.calls.Load(), WouldReject: cd.wouldReject.Load(),
			Panics:      cd.panics.Load(),
			Transitions: cd.c.transitions(),
		}
		if p := cd.lastPanic.Load(); p != nil {
			st.LastPanic = *p
		}
		out = append(out, st)
	}
	return out
}

// observeMetrics adds to m what the observers know.
func (c *core) observeMetrics(m *Metrics) {
	o := c.obs.Load()
	if o == nil || !o.only {
		return
	}
	m.ShadowOnly = true
	m.WouldReject = o.wouldReject.Load()
	// Nothing was rejected: the counts of rejections the breaker took on
	// its way to letting the calls run are WouldReject's.
	m.Rejected = 0
}

// markShadow marks t as a shadow's transition, if it is one.
func (c *core) markShadow(t *Transition) {
	if o := c.obs.Load(); o != nil {
		t.Shadow = o.only || o.candidate != ""
		t.Candidate = o.candidate
	}
}

// checkShadows validates the shadows of c into s, without binding their
// policies.
func (c Config[T]) checkShadows(s *settings) error {
	s.shadowOnly, s.onCall = c.ShadowOnly, c.OnCall
	if c.ShadowOnly {
		// Every call runs: a timer to reject open calls without reading
		// the clock would save nothing.
		s.exactClock = true
	}
	list, err := checkShadowList(c.Shadows, s.clock)
	s.shadows = list
	return err
}

// checkShadowList validates shadows as Config.Shadows, without binding
// their policies; clock is the breaker's.
func checkShadowList(shadows []Shadow, clock Clock) ([]shadowSettings, error) {
	if len(shadows) > MaxShadows {
		return nil, &ConfigError{Field: "Shadows", why: fmt.Sprintf("must hold at most %d candidates, got %d", MaxShadows, len(shadows))}
	}
	var out []shadowSettings
	seen := make(map[string]int, len(shadows))
	for i, sh := range shadows {
		field := "Shadows[" + strconv.Itoa(i) + "]"
		if err := checkShadowName(sh.Name); err != nil {
			return nil, &ConfigError{Field: field + ".Name", why: err.Error()}
		}
		if j, dup := seen[sh.Name]; dup {
			return nil, &ConfigError{Field: field + ".Name", why: fmt.Sprintf("%q is the name of Shadows[%d] too", sh.Name, j)}
		}
		seen[sh.Name] = i
		ss, err := sh.Settings.config(clock).fields()
		if err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				ce.Field = field + ".Settings." + ce.Field
			}
			return nil, err
		}
		ss.text = sh.Settings.Text
		out = append(out, shadowSettings{name: sh.Name, s: ss})
	}
	return out, nil
}

// checkShadowName accepts a name that prints on one line.
func checkShadowName(name string) error {
	if name == "" {
		return errors.New("must not be empty")
	}
	if !utf8.ValidString(name) {
		return errors.New("must be valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("must not hold the control character %q", r)
		}
	}
	return nil
}

// bind binds s's policy and its shadows', all or none: a Config refused
// for a shadow's policy (one shared with the live breaker, say) leaves
// every policy free.
func (s *settings) bind() error {
	if len(s.shadows) == 0 {
		terms, err := policy.Bind(s.policy)
		if err != nil {
			return policyError(err)
		}
		s.terms = terms
		return nil
	}
	b := &bundle{ps: []policy.Policy{s.policy}, failed: -1}
	for i := range s.shadows {
		b.ps = append(b.ps, s.shadows[i].s.policy)
	}
	if _, err := policy.Bind(b); err != nil {
		ce := policyError(err)
		if b.failed > 0 {
			ce.Field = "Shadows[" + strconv.Itoa(b.failed-1) + "].Settings." + ce.Field
		}
		return ce
	}
	s.terms = b.terms[0]
	for i := range s.shadows {
		sh := &s.shadows[i].s
		sh.terms = b.terms[i+1]
		if sh.text == "" {
			sh.text = describeSettings(sh)
		}
	}
	return nil
}

// bundle binds several policies in one policy.Bind, so that a failure
// releases the claims of all of them. It is never run as a policy.
type bundle struct {
	ps     []policy.Policy
	terms  []policy.Terms
	failed int // index in ps of the policy that failed to bind
}

func (*bundle) Record(policy.Call) bool { return false }
func (*bundle) Reset()                  {}

func (b *bundle) Bind(bd *policy.Binding) error {
	for i, p := range b.ps {
		t, err := bd.Child(p)
		if err != nil {
			b.failed = i
			return err
		}
		b.terms = append(b.terms, t)
	}
	return nil
}
