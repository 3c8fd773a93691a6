package lab

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/policy"
)

// epoch is virtual time zero. Any fixed instant would do; the breaker only
// subtracts times.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// virtualClock is the breakers' clock in a simulation: it tells the time
// of the event being processed. A simulation runs on one goroutine, and a
// breaker reads its clock only from the calls the simulation makes, so the
// clock needs no synchronisation.
type virtualClock struct{ now time.Duration }

func (c *virtualClock) Now() time.Time { return epoch.Add(c.now) }

// call is one call of the traffic, drawn (or read from a trace) once and
// replayed against every candidate.
type call struct {
	at      time.Duration // arrival, since the scenario began
	latency time.Duration
	inst    int32 // the fleet instance that serves it
	fault   bool  // it arrives during the fault
	failed  bool  // the dependency fails it
	slow    bool  // it takes longer than Scenario.SlowCall
}

// good reports whether the caller would have been served well: a success,
// and not slow.
func (c *call) good() bool { return !c.failed && !c.slow }

// source yields calls in order of arrival; io.EOF ends it.
type source interface {
	next() (call, error)
}

// seeded returns a random stream for seed and the given names, so that a
// scenario's draws do not change when other scenarios or candidates are
// added or removed.
func seeded(seed uint64, names ...string) *rand.Rand {
	h := fnv.New64a()
	for i, n := range names {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(n))
	}
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// scenarioSource draws the calls of a scenario from a stream seeded by the
// seed and the scenario's name. Each call takes three draws, whatever its
// fate: the gap to the next call, its failure, its latency.
type scenarioSource struct {
	s     *Scenario
	rng   *rand.Rand
	gap   float64
	t     time.Duration
	n     int
	phase int
	done  bool
}

func newScenarioSource(s *Scenario, seed uint64) *scenarioSource {
	return &scenarioSource{s: s, rng: seeded(seed, s.Name), gap: float64(time.Second) / s.Rate, done: s.Duration <= 0}
}

func (g *scenarioSource) next() (call, error) {
	if g.done {
		return call{}, io.EOF
	}
	s, t := g.s, g.t
	uGap, uFail, uLatency := g.rng.Float64(), g.rng.Float64(), g.rng.Float64()
	for g.phase < len(s.Phases) && t >= s.Phases[g.phase].End {
		g.phase++
	}
	in := -1
	if g.phase < len(s.Phases) && t >= s.Phases[g.phase].Start {
		in = g.phase
	}
	errRate, mean := s.conditions(t, in)
	// A call that would end after the scenario is never reported: capping
	// its latency there keeps the arithmetic in range.
	latency := min(mean*(0.5+uLatency), float64(s.Duration))
	c := call{at: t, latency: time.Duration(latency), fault: in >= 0, failed: uFail < errRate}
	c.slow = s.SlowCall > 0 && c.latency > s.SlowCall
	g.n++
	// Exact arrivals at k/Rate without jitter, free of accumulated
	// rounding, so that hand-computed figures match.
	next := float64(g.n) * g.gap
	if s.Jitter > 0 {
		next = float64(t) + g.gap*(1+s.Jitter*(2*uGap-1))
	}
	if next >= float64(s.Duration) {
		g.done = true
	} else {
		// Never a zero step from rounding: the stream must end.
		g.t = max(time.Duration(next), t+1)
	}
	return c, nil
}

// traffic draws every call of s, for tests.
func traffic(s *Scenario, seed uint64) []call {
	src := newScenarioSource(s, seed)
	var calls []call
	for {
		c, err := src.next()
		if err != nil {
			return calls
		}
		calls = append(calls, c)
	}
}

// event is a call's completion or a look at a breaker's state, at a time.
type event struct {
	at     time.Duration
	seq    uint64 // order of scheduling: breaks ties deterministically
	inst   int32  // the fleet instance whose breaker it concerns
	look   bool   // a look at the state, not a completion
	failed bool   // the completing call failed
	permit breaker.Permit[struct{}]
}

// eventQueue is a binary min-heap of events ordered by (at, seq). It is
// written out rather than built on container/heap so that pushing an event
// does not box it: the simulation pushes one per admitted call.
type eventQueue []event

func (q eventQueue) less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}

func (q *eventQueue) push(e event) {
	*q = append(*q, e)
	h := *q
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (q *eventQueue) pop() event {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = event{} // drop the permit's reference
	h = h[:last]
	for i := 0; ; {
		least, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h.less(l, least) {
			least = l
		}
		if r < len(h) && h.less(r, least) {
			least = r
		}
		if least == i {
			break
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
	*q = h
	return top
}

// errDependency is the error of a call the dependency fails.
var errDependency = errors.New("lab: the dependency failed the call")

// instance is one instance of the service in a fleet: its own breaker.
type instance struct {
	b     *breaker.Breaker[struct{}]
	state breaker.State
}

// sim replays calls against one candidate's breakers (one per fleet
// instance), in virtual time, and counts what happened.
//
// Events at the same instant run in this order: completions and looks at
// the state, in the order they were scheduled, then the arrival. A call
// that finishes at the instant another arrives has thus been counted before
// the newcomer asks to be let in.
type sim struct {
	clk   virtualClock
	q     eventQueue
	seq   uint64
	insts []*instance
	// cos holds, when the instances share one circuit (Options.Share), the
	// coordinator of each instance, all over one in-memory store on the
	// virtual clock: the real package fleet, driven by the simulation.
	cos []*fleet.Coordinator
	r   Result
	err error // a candidate's misbehaviour seen during the run
}

// SharedSuffix ends the name of the row of a candidate whose instances
// share one circuit ([Options].Share): "consecutive(5) shared".
const SharedSuffix = " shared"

// newSim builds the breakers of candidate c for scenario s, one per
// instance of a fleet of n. With share, each instance's breaker is
// attached to a coordinator of its own (the instance's process), all over
// one store, with quorum (0: fleet.DefaultQuorum).
func newSim(s *Scenario, c *Candidate, n int, seed uint64, share bool, quorum int) (*sim, error) {
	m := &sim{r: Result{Candidate: c.Name, TimeToTrip: Never, TimeToClose: Never}}
	// The same jitter as the candidate's unshared row, so that the two
	// rows differ by the sharing alone.
	jitter := seeded(seed, s.Name, c.Name, "backoff")
	var store *fleet.Memory
	if share {
		m.r.Candidate += SharedSuffix
		store = fleet.NewMemory(&m.clk)
	}
	for i := range n {
		cfg, err := c.config(s, &m.clk, jitter.Float64)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			m.r.Spec = c.describe(cfg.Policy)
			if err := checkBackoff(c, &cfg); err != nil {
				return nil, err
			}
		}
		if c.Backoff != nil && c.Backoff.Rand != nil {
			// The breaker takes a draw outside [0, 1) as 0, so that a
			// broken source cannot stretch the open period; the lab says
			// so instead, after the run.
			rnd := cfg.Backoff.Rand
			cfg.Backoff.Rand = func() float64 {
				u := rnd()
				if !(u >= 0 && u < 1) && m.err == nil {
					m.err = fmt.Errorf("lab: candidate %q: Backoff.Rand returned %v, outside [0, 1): it must return a fraction from 0 up to, not including, 1", c.Name, u)
				}
				return u
			}
		}
		in := &instance{state: breaker.Closed}
		idx := int32(i)
		cfg.OnTransition = func(t breaker.Transition) {
			if t.From == t.To {
				// A manual mode's change, which the lab does not make, or
				// an open period the fleet's replaced: look at its end.
				if t.To == breaker.Open && !t.Until.IsZero() {
					m.schedule(event{at: t.Until.Sub(epoch), inst: idx, look: true})
				}
				return
			}
			in.state = t.To
			adopted := t.Cause == breaker.CauseExternal
			m.r.Transitions = append(m.r.Transitions, Transition{At: t.At.Sub(epoch), Instance: int(idx), From: t.From, To: t.To, Adopted: adopted})
			if t.To != breaker.Open {
				return
			}
			switch {
			case adopted:
				// The fleet's decision, counted where it was taken.
			case t.From == breaker.Closed:
				m.r.Trips++
			case t.From == breaker.HalfOpen:
				m.r.Reopens++
			}
			// The breaker turns half-open lazily, when next asked: look at
			// the end of the open period so the timeline shows the change
			// when it happens, not at the next call.
			if !t.Until.IsZero() {
				m.schedule(event{at: t.Until.Sub(epoch), inst: idx, look: true})
			}
		}
		if in.b, err = breaker.New(cfg); err != nil {
			return nil, fmt.Errorf("lab: candidate %q: %w", c.Name, err)
		}
		m.insts = append(m.insts, in)
		if !share {
			continue
		}
		// The fleet's rules are the breaker's settings: its open period,
		// backoff and probes, as a team would configure both alike.
		co, err := fleet.New(fleet.Config{
			Store: store, Instance: strconv.Itoa(i), Quorum: quorum,
			OpenTimeout: cfg.OpenTimeout, Backoff: cfg.Backoff, Probes: cfg.HalfOpenProbes,
			Clock: &m.clk, Logger: discard, Driven: true,
		})
		if err != nil {
			m.close()
			return nil, fmt.Errorf("lab: candidate %q, shared: %w", c.Name, err)
		}
		m.cos = append(m.cos, co)
		if _, err := co.Attach(in.b); err != nil {
			m.close()
			return nil, fmt.Errorf("lab: candidate %q, shared: %w", c.Name, err)
		}
		if i == 0 {
			p := co.Params()
			m.r.Spec += fmt.Sprintf(", shared by %d instances (quorum %d, %d probes fleet-wide)", n, p.Quorum, p.Probes)
		}
		co.Step() // its first read of the fleet's record
	}
	return m, nil
}

// checkBackoff reports a backoff whose Max, the longest open period, is
// shorter than the open period cfg starts with, naming both by the
// settings that set them rather than by the breaker's fields: the
// candidate's backoff and open (-backoff, -open), or the scenario's
// open_timeout.
func checkBackoff(c *Candidate, cfg *breaker.Config[struct{}]) error {
	if cfg.Backoff == nil || cfg.Backoff.Max == 0 {
		return nil
	}
	open, from := cfg.OpenTimeout, "its open setting"
	switch {
	case c.OpenTimeout != 0:
	case open != 0:
		from = "the scenario's open_timeout"
	default:
		open, from = breaker.DefaultOpenTimeout, "the breaker's default"
	}
	if cfg.Backoff.Max >= open {
		return nil
	}
	return fmt.Errorf("lab: candidate %q: backoff, the longest open period (%v), is shorter than the first open period (%v, %s): give a backoff of at least %v",
		c.Name, cfg.Backoff.Max, open, from, open)
}

// discard is the coordinators' logger: a simulated store never fails.
var discard = slog.New(slog.DiscardHandler)

// stepFleet runs what instance i's coordinator has queued (and its flush,
// when due). When that took a step of the store, every other instance
// reads the records at once, as it would on the store's event.
func (m *sim) stepFleet(i int32) {
	if m.cos == nil || m.cos[i].Step() == 0 {
		return
	}
	for j, co := range m.cos {
		if j != int(i) {
			_ = co.Sync(context.Background())
		}
	}
}

// close detaches the breakers from their coordinators.
func (m *sim) close() {
	for _, co := range m.cos {
		_ = co.Close()
	}
	m.cos = nil
}

func (m *sim) schedule(e event) {
	m.seq++
	e.seq = m.seq
	m.q.push(e)
}

func (m *sim) process(e event) {
	m.clk.now = e.at
	if e.look {
		m.insts[e.inst].b.State()
	} else {
		var err error
		if e.failed {
			err = errDependency
		}
		e.permit.Done(struct{}{}, err)
	}
	m.stepFleet(e.inst)
}

// arrive runs everything due by the call's arrival, then the call.
func (m *sim) arrive(c *call) {
	for len(m.q) > 0 && m.q[0].at <= c.at {
		m.process(m.q.pop())
	}
	m.clk.now = c.at
	r := &m.r
	r.Calls++
	in := m.insts[c.inst]
	permit, err := in.b.Allow()
	m.stepFleet(c.inst)
	if err != nil {
		r.Rejected++
		if !c.fault || c.good() {
			r.HealthyLost++
		}
		return
	}
	r.Sent++
	if in.state == breaker.HalfOpen {
		r.Probes++
	}
	if c.failed {
		r.Failed++
	}
	if c.fault {
		r.FaultSent++
		if c.failed {
			r.FaultFailed++
		}
	}
	m.schedule(event{at: c.at + c.latency, inst: c.inst, failed: c.failed, permit: permit})
}

// finish runs every event up to end; calls still in flight after it are
// never reported.
func (m *sim) finish(end time.Duration) {
	for len(m.q) > 0 && m.q[0].at <= end {
		m.process(m.q.pop())
	}
	m.q = nil
	m.close()
}

// measure derives the timing figures and the false trips from the
// transitions. With a fleet, the circuit counts as open from the moment
// any instance's is, and as closed again once every instance's is.
func (r *Result) measure(s *Scenario, instances int) {
	start, ok := s.FaultStart()
	if !ok {
		r.TimeToTrip, r.TimeToClose = NotApplicable, NotApplicable
		r.FalseTrips = r.Trips
		return
	}
	end, _ := s.FaultEnd()
	states := make([]breaker.State, instances) // all Closed
	open := 0                                  // instances not closed
	i := 0
	// advance applies every transition at or before t.
	advance := func(t time.Duration, each func(Transition)) {
		for ; i < len(r.Transitions) && r.Transitions[i].At <= t; i++ {
			tr := r.Transitions[i]
			if states[tr.Instance] == breaker.Closed {
				open++
			}
			states[tr.Instance] = tr.To
			if tr.To == breaker.Closed {
				open--
			}
			if each != nil {
				each(tr)
			}
		}
	}
	advance(start, func(tr Transition) {
		if tr.From == breaker.Closed && tr.To == breaker.Open && tr.At < start && !tr.Adopted {
			r.FalseTrips++
		}
	})
	if slicesContains(states, breaker.Open) {
		r.TimeToTrip = 0
	}
	advance(end, func(tr Transition) {
		if r.TimeToTrip == Never && tr.To == breaker.Open {
			r.TimeToTrip = tr.At - start
		}
	})
	if open == 0 {
		r.TimeToClose = 0
		if !slices.ContainsFunc(r.Transitions, func(tr Transition) bool { return tr.To == breaker.Open }) {
			// Closed all along: there was nothing to close, and 0s would
			// read as the best time to close there is.
			r.TimeToClose = NotApplicable
		}
		return
	}
	advance(time.Duration(1<<63-1), func(tr Transition) {
		if r.TimeToClose == Never && open == 0 {
			r.TimeToClose = tr.At - end
		}
	})
}

func slicesContains(ss []breaker.State, v breaker.State) bool {
	for _, s := range ss {
		if s == v {
			return true
		}
	}
	return false
}

// specOf describes a policy: its String method when it has one, else the
// name it was given.
func specOf(p policy.Policy, name string) string {
	if s, ok := p.(fmt.Stringer); ok {
		return s.String()
	}
	return name
}

// Route says how a fleet's instances share the traffic.
type Route uint8

const (
	// RoundRobin sends each call to the next instance in turn.
	RoundRobin Route = iota
	// RandomRoute sends each call to an instance drawn at random from a
	// stream seeded by the run's seed, the same for every candidate.
	RandomRoute
)

// String returns "round-robin" or "random".
func (r Route) String() string {
	if r == RandomRoute {
		return "random"
	}
	return "round-robin"
}

// MaxFleet is the largest fleet the lab simulates.
const MaxFleet = 10_000

// Options tune a run beyond its scenarios and candidates. The zero value
// is seed 0, one instance.
type Options struct {
	// Seed seeds the random traffic (and the routing and backoff jitter).
	// The same seed and inputs give the same report, bit for bit.
	Seed uint64
	// Fleet is the number of instances of the service, each with its own
	// breaker, that share the traffic. 0 and 1 mean one.
	Fleet int
	// Route says how the fleet's instances share the traffic.
	Route Route
	// Share adds, after each candidate's row, a row (its name ending in
	// SharedSuffix) where the fleet's breakers share one circuit: each
	// instance's breaker attached to a fleet.Coordinator, all over one
	// fleet.Memory, driven on the run's virtual clock, so that the two rows
	// show what sharing saves. It needs a Fleet of 2 or more.
	Share bool
	// Quorum is, with Share, how many instances must trip for the fleet's
	// circuit to open. 0 means fleet.DefaultQuorum.
	Quorum int
}

func (o Options) instances() int { return max(o.Fleet, 1) }

func (o Options) check() error {
	if o.Fleet < 0 || o.Fleet > MaxFleet {
		return &RangeError{Field: "Options.Fleet", problem: fmt.Sprintf("must be between 1 and %d instances, got %d", MaxFleet, o.Fleet)}
	}
	if o.Share && o.Fleet < 2 {
		return &RangeError{Field: "Options.Share", problem: fmt.Sprintf("needs a fleet of 2 or more instances to share among, got %d", o.instances())}
	}
	if o.Quorum < 0 || o.Quorum > o.instances() {
		return &RangeError{Field: "Options.Quorum", problem: fmt.Sprintf("must be between 0 (the default, %d) and the fleet's %d instances, got %d", fleet.DefaultQuorum, o.instances(), o.Quorum)}
	}
	if o.Route > RandomRoute {
		return &RangeError{Field: "Options.Route", problem: fmt.Sprintf("must be RoundRobin or RandomRoute, got %d", o.Route)}
	}
	return nil
}

// RangeError reports a number outside the range the lab accepts.
type RangeError struct {
	// Field names the number, as written in Go or on the command line:
	// "Options.Fleet", "-fleet".
	Field   string
	problem string
}

// Problem says what is wrong with the number, without naming it.
func (e *RangeError) Problem() string { return e.problem }

// Error names the number and says what is wrong with it.
func (e *RangeError) Error() string { return "lab: " + e.Field + ": " + e.problem }

// Run replays each scenario against a fresh breaker for each candidate, in
// virtual time, and measures what happened. The same seed and inputs give
// the same report, bit for bit. An invalid scenario or candidate is an
// error that names it. It is [RunWith] with only a seed.
func Run(scenarios []Scenario, candidates []Candidate, seed uint64) (*Report, error) {
	return RunWith(scenarios, candidates, Options{Seed: seed})
}

// RunWith is [Run] with options: a fleet of instances, each with its own
// breaker, sharing the traffic.
//
// RunWith keeps no state between calls, so calls may run concurrently, as
// long as the candidates' New functions may be called concurrently too.
func RunWith(scenarios []Scenario, candidates []Candidate, opt Options) (*Report, error) {
	if len(scenarios) == 0 {
		return nil, errors.New("lab: no scenario to run")
	}
	if err := checkCandidates(candidates); err != nil {
		return nil, err
	}
	if err := opt.check(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	rep := &Report{Seed: opt.Seed, Fleet: opt.instances(), Route: opt.Route, Share: opt.Share}
	for i := range scenarios {
		s := scenarios[i]
		if err := s.Validate(); err != nil {
			return nil, err
		}
		if key := strings.ToLower(s.Name); seen[key] {
			return nil, &ScenarioError{Scenario: s.Name, Field: "name", problem: "two scenarios have this name (names are compared ignoring case, as they name files)"}
		} else {
			seen[key] = true
		}
		s.Phases = append([]Phase(nil), s.Phases...) // the report's copy
		sr, err := replay(&s, newScenarioSource(&s, opt.Seed), fixedBins(s.Duration), candidates, opt)
		if err != nil {
			return nil, err
		}
		rep.Scenarios = append(rep.Scenarios, sr)
	}
	return rep, nil
}

// replay feeds the calls of src to every candidate's simulation at once,
// so that the calls are drawn or read once and need not be kept. It ends
// the run at s.Duration, which a trace's source sets once it is read.
func replay(s *Scenario, src source, load *loadBins, candidates []Candidate, opt Options) (ScenarioReport, error) {
	n := opt.instances()
	var sims []*sim
	fail := func(err error) (ScenarioReport, error) {
		for _, m := range sims {
			m.close()
		}
		return ScenarioReport{}, err
	}
	for i := range candidates {
		for _, share := range []bool{false, true}[:1+b2i(opt.Share)] {
			m, err := newSim(s, &candidates[i], n, opt.Seed, share, opt.Quorum)
			if err != nil {
				return fail(fmt.Errorf("%w (scenario %q)", err, s.Name))
			}
			sims = append(sims, m)
		}
	}
	var route *rand.Rand
	if opt.Route == RandomRoute {
		route = seeded(opt.Seed, s.Name, "route")
	}
	next := 0
	for {
		c, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
		if n > 1 {
			if route != nil {
				c.inst = int32(route.IntN(n))
			} else {
				c.inst = int32(next)
				next = (next + 1) % n
			}
		}
		load.add(&c)
		for _, m := range sims {
			m.arrive(&c)
		}
	}
	if ts, ok := src.(interface{ finalize(*Scenario) error }); ok {
		if err := ts.finalize(s); err != nil {
			return fail(err)
		}
	}
	for _, m := range sims {
		if m.err != nil {
			return fail(fmt.Errorf("%w (scenario %q)", m.err, s.Name))
		}
	}
	sr := ScenarioReport{Scenario: *s, load: load.done(), fleet: n,
		scenarioOpen: slices.ContainsFunc(candidates, func(c Candidate) bool { return c.OpenTimeout == 0 })}
	for _, m := range sims {
		m.finish(s.Duration)
		m.r.measure(s, n)
		sr.Results = append(sr.Results, m.r)
	}
	return sr, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
