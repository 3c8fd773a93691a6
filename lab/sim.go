package lab

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// epoch is virtual time zero. Any fixed instant would do; the breaker only
// subtracts times.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// virtualClock is the breaker's clock in a simulation: it tells the time of
// the event being processed. The simulation runs on one goroutine, and the
// breaker reads its clock only from the calls the simulation makes, so the
// clock needs no synchronisation.
type virtualClock struct{ now time.Duration }

func (c *virtualClock) Now() time.Time { return epoch.Add(c.now) }

// call is one call of a scenario's traffic, drawn once and replayed against
// every policy.
type call struct {
	at      time.Duration // arrival
	latency time.Duration
	phase   int32 // index in Scenario.Phases, or -1 for the baseline
	failed  bool  // the dependency fails it
	slow    bool  // it takes longer than Scenario.SlowCall, as policy.Slow counts
}

// good reports whether the caller would have been served well: a success,
// and not slow.
func (c *call) good() bool { return !c.failed && !c.slow }

// traffic draws the calls of s from a stream seeded by seed and the
// scenario's name, so that a scenario's calls do not change when other
// scenarios are added or removed. Each call takes three draws, whatever
// its fate: the gap to the next call, its failure, its latency.
func traffic(s *Scenario, seed uint64) []call {
	h := fnv.New64a()
	h.Write([]byte(s.Name))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	gap := float64(time.Second) / s.Rate
	calls := make([]call, 0, int(s.Rate*s.Duration.Seconds())+1)
	phase := 0
	for t := time.Duration(0); t < s.Duration; {
		uGap, uFail, uLatency := rng.Float64(), rng.Float64(), rng.Float64()
		for phase < len(s.Phases) && t >= s.Phases[phase].End {
			phase++
		}
		in := -1
		if phase < len(s.Phases) && t >= s.Phases[phase].Start {
			in = phase
		}
		errRate, mean := s.conditions(t, in)
		// A call that would end after the scenario is never reported:
		// capping its latency there keeps the arithmetic in range.
		latency := min(mean*(0.5+uLatency), float64(s.Duration))
		c := call{
			at:      t,
			latency: time.Duration(latency),
			phase:   int32(in),
			failed:  uFail < errRate,
		}
		c.slow = s.SlowCall > 0 && c.latency > s.SlowCall
		calls = append(calls, c)
		// Exact arrivals at k/Rate without jitter, free of accumulated
		// rounding, so that hand-computed figures match.
		next := float64(len(calls)) * gap
		if s.Jitter > 0 {
			next = float64(t) + gap*(1+s.Jitter*(2*uGap-1))
		}
		if next >= float64(s.Duration) {
			break
		}
		// Never a zero step from rounding: the loop must end.
		t = max(time.Duration(next), t+1)
	}
	return calls
}

// event is a call's completion or a look at the breaker's state, at a time.
type event struct {
	at     time.Duration
	seq    uint64 // order of scheduling: breaks ties deterministically
	call   int    // index of the completing call, or -1 for a look
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

// simulate replays calls against a fresh breaker with p's policy, in
// virtual time, and measures it.
//
// Events at the same instant run in this order: completions and looks at the
// state, in the order they were scheduled, then the arrival. A call that
// finishes at the instant another arrives has thus been counted before the
// newcomer asks to be let in.
func simulate(s *Scenario, calls []call, p Policy) (Result, error) {
	pol := p.New()
	if pol == nil {
		return Result{}, fmt.Errorf("lab: policy %q: its New returned nil", p.Name)
	}
	r := Result{Policy: p.Name, Spec: specOf(pol, p.Name), TimeToTrip: Never, TimeToClose: Never}
	clk := &virtualClock{}
	var q eventQueue
	var seq uint64
	schedule := func(e event) {
		seq++
		e.seq = seq
		q.push(e)
	}
	openTimeout := s.openTimeout()
	state := breaker.Closed
	b, err := breaker.New(breaker.Config[struct{}]{
		Name:           p.Name,
		Policy:         pol,
		OpenTimeout:    openTimeout,
		HalfOpenProbes: s.HalfOpenProbes,
		Clock:          clk,
		OnStateChange: func(_ string, from, to breaker.State) {
			state = to
			r.Transitions = append(r.Transitions, Transition{At: clk.now, From: from, To: to})
			if from == breaker.Closed && to == breaker.Open {
				r.Trips++
			}
			if to == breaker.Open {
				// The breaker turns half-open lazily, when next asked: look
				// at the end of the open period so the timeline shows the
				// change when it happens, not at the next call.
				schedule(event{at: clk.now + openTimeout, call: -1})
			}
		},
	})
	if err != nil {
		return Result{}, fmt.Errorf("lab: policy %q: %w", p.Name, err)
	}
	process := func(e event) {
		clk.now = e.at
		if e.call < 0 {
			b.State()
			return
		}
		var err error
		if calls[e.call].failed {
			err = errDependency
		}
		e.permit.Done(struct{}{}, err)
	}
	for i := range calls {
		c := &calls[i]
		for len(q) > 0 && q[0].at <= c.at {
			process(q.pop())
		}
		clk.now = c.at
		r.Calls++
		permit, err := b.Allow()
		if err != nil {
			r.Rejected++
			if c.phase < 0 || c.good() {
				r.HealthyRejected++
			}
			continue
		}
		r.Admitted++
		if state == breaker.HalfOpen {
			r.Probes++
		}
		if c.phase >= 0 {
			r.FaultCalls++
		}
		if c.failed {
			r.Failed++
		}
		schedule(event{at: c.at + c.latency, call: i, permit: permit})
	}
	// Completions up to the end of the scenario still count; calls in
	// flight after it are never reported.
	for len(q) > 0 && q[0].at <= s.Duration {
		process(q.pop())
	}
	r.measure(s)
	return r, nil
}

// measure derives the timing figures from the transitions.
func (r *Result) measure(s *Scenario) {
	start, ok := s.FaultStart()
	if !ok {
		return
	}
	end, _ := s.FaultEnd()
	if r.stateAt(start) == breaker.Open {
		r.TimeToTrip = 0
	} else {
		for _, t := range r.Transitions {
			if t.At > start && t.At <= end && t.To == breaker.Open {
				r.TimeToTrip = t.At - start
				break
			}
		}
	}
	if r.stateAt(end) == breaker.Closed {
		r.TimeToClose = 0
		return
	}
	for _, t := range r.Transitions {
		if t.At > end && t.To == breaker.Closed {
			r.TimeToClose = t.At - end
			return
		}
	}
}

// stateAt returns the circuit's state at t, after every transition at t.
func (r *Result) stateAt(t time.Duration) breaker.State {
	state := breaker.Closed
	for _, tr := range r.Transitions {
		if tr.At > t {
			break
		}
		state = tr.To
	}
	return state
}

// specOf describes a policy: its String method when it has one, else the
// name it was given.
func specOf(p policy.Policy, name string) string {
	if s, ok := p.(fmt.Stringer); ok {
		return s.String()
	}
	return name
}

// Run replays each scenario against a fresh breaker for each policy, in
// virtual time, and measures what happened. The same seed and inputs give
// the same report, bit for bit. An invalid scenario or policy is an error
// that names it.
//
// Run keeps no state between calls, so calls may run concurrently, as long
// as the policies' New functions may be called concurrently too.
func Run(scenarios []Scenario, policies []Policy, seed uint64) (*Report, error) {
	if len(scenarios) == 0 {
		return nil, errors.New("lab: no scenario to run")
	}
	if err := checkPolicies(policies); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	rep := &Report{Seed: seed}
	for i := range scenarios {
		s := scenarios[i]
		if err := s.Validate(); err != nil {
			return nil, err
		}
		if key := strings.ToLower(s.Name); seen[key] {
			return nil, &ScenarioError{Scenario: strconv.Quote(s.Name), Field: "name", Problem: "two scenarios have this name (names are compared ignoring case, as they name files)"}
		} else {
			seen[key] = true
		}
		s.Phases = append([]Phase(nil), s.Phases...) // the report's copy
		calls := traffic(&s, seed)
		sr := ScenarioReport{Scenario: s, load: loadOf(&s, calls)}
		for _, p := range policies {
			res, err := simulate(&s, calls, p)
			if err != nil {
				return nil, fmt.Errorf("%w (scenario %q)", err, s.Name)
			}
			sr.Results = append(sr.Results, res)
		}
		rep.Scenarios = append(rep.Scenarios, sr)
	}
	return rep, nil
}
