package lab

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// RecoveryScenario is a dependency whose answers depend on the load it is
// given, the lab's form for comparing the ways a breaker lets traffic back
// (ramp-up, throttling, open periods the dependency asks for, backoff that
// remembers) with binary breakers. Unlike a [Scenario], whose calls fail
// or not whatever the breaker does, here what a candidate lets through
// changes what fails:
//
//   - with a Capacity, a call sent when the dependency has had L calls in
//     the trailing second (this one included) succeeds for certain while L
//     is within the capacity, and past it with probability
//     (capacity/L)²: an overloaded dependency spends its work on calls
//     that time out, so what it serves falls as the load rises;
//   - with a Quota, a call that makes the trailing second's calls exceed
//     it is answered 429 with a Retry-After of Penalty, and so is every
//     call sent in the penalty box that follows, each of which starts the
//     penalty over (as APIs that guard against abusive clients do);
//   - with Retries, a call the dependency fails is sent again, RetryDelay
//     after its answer, up to Retries times; a call the breaker rejects is
//     not (the breaker said to back off).
//
// Calls arrive Rate per second, with jittered gaps, from one random stream
// seeded by the run's seed and the scenario's name; each takes Latency.
type RecoveryScenario struct {
	// Name identifies the scenario in tables.
	Name string
	// Description says what the scenario shows. Optional.
	Description string
	// Duration is how long the scenario runs, in virtual time.
	Duration time.Duration
	// Rate is the calls per second the callers make (retries aside).
	Rate float64
	// Latency is how long each call takes.
	Latency time.Duration
	// Capacity, when set, is the calls per second the dependency serves,
	// over time: a line through the points, flat before the first and
	// after the last.
	Capacity []CapacityPoint
	// Quota, when positive, is the calls per second the dependency allows
	// before it answers 429; Penalty is the Retry-After it answers with.
	Quota   float64
	Penalty time.Duration
	// Retries and RetryDelay: how often, and how long after a failure, a
	// failed call is sent again.
	Retries    int
	RetryDelay time.Duration
	// OpenTimeout and HalfOpenProbes are the breakers' settings where a
	// candidate sets none.
	OpenTimeout    time.Duration
	HalfOpenProbes int
}

// CapacityPoint is the dependency's capacity, in calls per second, at a
// time since the scenario began.
type CapacityPoint struct {
	At        time.Duration
	PerSecond float64
}

// capacity returns the capacity at t.
func (s *RecoveryScenario) capacity(t time.Duration) float64 {
	ps := s.Capacity
	if len(ps) == 0 {
		return math.Inf(1)
	}
	if t <= ps[0].At {
		return ps[0].PerSecond
	}
	for i := 1; i < len(ps); i++ {
		if t <= ps[i].At {
			a, b := ps[i-1], ps[i]
			return a.PerSecond + (b.PerSecond-a.PerSecond)*float64(t-a.At)/float64(b.At-a.At)
		}
	}
	return ps[len(ps)-1].PerSecond
}

// Validate reports the first thing wrong with s.
func (s *RecoveryScenario) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ScenarioError{Scenario: s.Name, Field: field, problem: fmt.Sprintf(format, args...)}
	}
	switch {
	case checkName(s.Name) != nil:
		return bad("name", "%v", checkName(s.Name))
	case s.Duration <= 0:
		return bad("duration", "must be positive, got %v", s.Duration)
	case !(s.Rate > 0) || s.Rate*s.Duration.Seconds() > MaxCalls:
		return bad("rate", "must be positive, and rate × duration at most %d calls, got %v", MaxCalls, s.Rate)
	case s.Latency < 0:
		return bad("latency", "must not be negative, got %v", s.Latency)
	case s.Quota < 0 || s.Quota > 0 && s.Penalty <= 0:
		return bad("quota", "must not be negative, and needs a positive penalty, got %v and %v", s.Quota, s.Penalty)
	case s.Retries < 0 || s.Retries > 0 && s.RetryDelay < 0:
		return bad("retries", "must not be negative, got %d after %v", s.Retries, s.RetryDelay)
	}
	for i, p := range s.Capacity {
		if p.PerSecond < 0 || i > 0 && p.At <= s.Capacity[i-1].At {
			return bad(fmt.Sprintf("capacity[%d]", i), "points must be in time order with capacities of at least 0")
		}
	}
	return nil
}

// BuiltinRecovery returns the recovery scenarios, a fresh copy each time.
// Each runs five minutes of 100 calls a second answered in 50 ms, with
// breakers open 10 s and closed by 3 probes unless the candidate says
// otherwise.
func BuiltinRecovery() []RecoveryScenario {
	base := func(name, description string) RecoveryScenario {
		return RecoveryScenario{Name: name, Description: description, Duration: 5 * time.Minute, Rate: 100,
			Latency: 50 * time.Millisecond, OpenTimeout: 10 * time.Second, HalfOpenProbes: 3}
	}
	gradual := base("capacity-returns", "Down from 1m to 2m, then its capacity returns in a line, from 0 to 150 calls/s by 4m; calls past capacity fail.")
	gradual.Capacity = []CapacityPoint{{0, 150}, {time.Minute, 150}, {time.Minute + time.Millisecond, 0}, {2 * time.Minute, 0}, {4 * time.Minute, 150}}
	storm := base("retry-storm", "Capacity 120 calls/s falls to 60 from 1m to 1m30s; callers retry failures 3 times after 100ms, so the load that failures add keeps it overloaded after capacity returns.")
	storm.Capacity = []CapacityPoint{{0, 120}, {time.Minute, 120}, {time.Minute + time.Millisecond, 60}, {90 * time.Second, 60}, {90*time.Second + time.Millisecond, 120}}
	storm.Retries, storm.RetryDelay = 3, 100*time.Millisecond
	limited := base("rate-limited", "An API allows 80 calls/s; past it, it answers 429 with Retry-After 30s, and 429 to every call until 30s pass without one. Callers send 100 calls/s from 1m to 3m, 60 otherwise.")
	limited.Quota, limited.Penalty = 80, 30*time.Second
	return []RecoveryScenario{gradual, storm, limited}
}

// rateLimited is the bursty rate of the rate-limited scenario: 60 calls/s
// outside the burst from 1m to 3m, 100 in it.
func (s *RecoveryScenario) rateAt(t time.Duration) float64 {
	if s.Quota > 0 && (t < time.Minute || t >= 3*time.Minute) {
		return s.Rate * 0.6
	}
	return s.Rate
}

// DefaultRecoveryCandidates returns the candidates -recovery compares:
// binary breakers, and each way of letting traffic back beside them.
func DefaultRecoveryCandidates() []Candidate {
	cs, err := ParseCandidates("consecutive(5),rate(0.5,20,10s),consecutive(5)@backoff=2m,"+
		"rate(0.5,20,10s)@ramp=30s,consecutive(5)@backoff=2m,backoff-forget=1m,"+
		"throttle(2,10s),any(throttle(2,10s),consecutive(20)),consecutive(5)@retry-after-max=1m", nil)
	if err != nil {
		panic(err)
	}
	// No breaker at all, for scale: a policy that never trips.
	none := Candidate{Name: "no breaker", New: func() policy.Policy { return policy.Consecutive(math.MaxInt32) }}
	return append([]Candidate{none}, cs...)
}

// RecoveryResult is what one candidate did in one recovery scenario.
type RecoveryResult struct {
	Candidate, Spec string
	// Offered is the calls callers made; Served those that succeeded,
	// at once or after retries.
	Offered, Served int
	// Sent is the calls sent to the dependency, retries included; Failed
	// those it failed (429s included).
	Sent, Failed int
	// Rejected is the calls the breaker rejected: open, ramping or shed.
	Rejected int
	// Opens is how often the circuit opened.
	Opens int
}

// RecoveryReport is the result of [RunRecovery].
type RecoveryReport struct {
	Seed      uint64
	Scenarios []RecoveryScenario
	Results   [][]RecoveryResult // by scenario, then candidate
}

// limitedError is a 429 with its Retry-After.
type limitedError struct{ wait time.Duration }

func (e limitedError) Error() string             { return "lab: 429, retry after " + e.wait.String() }
func (e limitedError) RetryAfter() time.Duration { return e.wait }

// RunRecovery runs each recovery scenario against a fresh breaker for each
// candidate, in virtual time. The same seed gives the same report.
func RunRecovery(scenarios []RecoveryScenario, candidates []Candidate, seed uint64) (*RecoveryReport, error) {
	if err := checkCandidates(candidates); err != nil {
		return nil, err
	}
	rep := &RecoveryReport{Seed: seed}
	for i := range scenarios {
		s := scenarios[i]
		if err := s.Validate(); err != nil {
			return nil, err
		}
		var row []RecoveryResult
		for j := range candidates {
			r, err := runRecovery(&s, &candidates[j], seed)
			if err != nil {
				return nil, err
			}
			row = append(row, r)
		}
		rep.Scenarios = append(rep.Scenarios, s)
		rep.Results = append(rep.Results, row)
	}
	return rep, nil
}

// recoveryCall is one attempt of a call: the original (attempt 0) or a
// retry.
type recoveryCall struct {
	at      time.Duration
	attempt int
	u       float64 // decides success under load
}

// runRecovery runs one candidate through s.
func runRecovery(s *RecoveryScenario, c *Candidate, seed uint64) (RecoveryResult, error) {
	clk := &virtualClock{}
	cfg, err := c.config(&Scenario{OpenTimeout: s.OpenTimeout, HalfOpenProbes: s.HalfOpenProbes}, clk, seeded(seed, s.Name, c.Name, "backoff").Float64)
	if err != nil {
		return RecoveryResult{}, err
	}
	if terms, err := policy.Check(cfg.Policy); err == nil {
		if th, ok := terms.Shedder.(*policy.ThrottlePolicy); ok {
			th.WithRand(seeded(seed, s.Name, c.Name, "throttle").Float64)
		}
	}
	r := RecoveryResult{Candidate: c.Name, Spec: c.describe(cfg.Policy)}
	cfg.OnTransition = func(t breaker.Transition) {
		if t.To == breaker.Open && t.From != breaker.Open {
			r.Opens++
		}
	}
	b, err := breaker.New(cfg)
	if err != nil {
		return r, fmt.Errorf("lab: candidate %q: %w", c.Name, err)
	}
	arrivals := seeded(seed, s.Name)
	retryDraws := seeded(seed, s.Name, c.Name, "retries")
	var (
		sends      []time.Duration // send times in the trailing second, oldest first
		penaltyEnd time.Duration
		pending    recoveryQueue
		seq        int
	)
	push := func(e recoveryEvent) { seq++; pending.push(e, seq) }
	// send decides the answer of a call sent at t.
	send := func(t time.Duration, u float64) error {
		for len(sends) > 0 && sends[0] <= t-time.Second {
			sends = sends[1:]
		}
		sends = append(sends, t)
		if s.Quota > 0 {
			if t < penaltyEnd {
				penaltyEnd = t + s.Penalty // a call in the penalty box starts it over
				return limitedError{s.Penalty}
			}
			if float64(len(sends)) > s.Quota {
				penaltyEnd = t + s.Penalty
				return limitedError{s.Penalty}
			}
		}
		if f := s.capacity(t) / float64(len(sends)); f < 1 && u >= f*f {
			return errDependency
		}
		return nil
	}
	attempt := func(k recoveryCall) {
		clk.now = k.at
		p, err := b.Allow()
		if err != nil { // a rejection: open, ramping or shed
			r.Rejected++
			return
		}
		r.Sent++
		res := send(k.at, k.u)
		done := k.at + s.Latency
		push(recoveryEvent{at: done, permit: p, err: res, call: k})
	}
	finish := func(e recoveryEvent) {
		clk.now = e.at
		e.permit.Done(struct{}{}, e.err)
		switch {
		case e.err == nil:
			r.Served++
		case e.call.attempt < s.Retries:
			r.Failed++
			push(recoveryEvent{at: e.at + s.RetryDelay, retry: true,
				call: recoveryCall{at: e.at + s.RetryDelay, attempt: e.call.attempt + 1, u: retryDraws.Float64()}})
		default:
			r.Failed++
		}
	}
	run := func(until time.Duration) {
		for len(pending) > 0 && pending[0].at <= until {
			e := pending.pop()
			if e.retry {
				attempt(e.call)
			} else {
				finish(e)
			}
		}
	}
	for t := time.Duration(0); t < s.Duration; {
		run(t)
		r.Offered++
		attempt(recoveryCall{at: t, u: arrivals.Float64()})
		gap := float64(time.Second) / s.rateAt(t) * (0.5 + arrivals.Float64())
		t += max(time.Duration(gap), 1)
	}
	run(s.Duration)
	return r, nil
}

// recoveryEvent is an answer due (permit and err) or a retry due.
type recoveryEvent struct {
	at     time.Duration
	seq    int
	retry  bool
	call   recoveryCall
	permit breaker.Permit[struct{}]
	err    error
}

// recoveryQueue is a min-heap of events by (at, seq).
type recoveryQueue []recoveryEvent

func (q recoveryQueue) less(i, j int) bool {
	return q[i].at < q[j].at || q[i].at == q[j].at && q[i].seq < q[j].seq
}

// push adds e; seq, which the caller counts up, breaks ties of time in the
// order of pushing.
func (q *recoveryQueue) push(e recoveryEvent, seq int) {
	e.seq = seq
	*q = append(*q, e)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *recoveryQueue) pop() recoveryEvent {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h.less(l, m) {
			m = l
		}
		if r < len(h) && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// WriteText writes the report as one table per scenario: for each
// candidate, the share of calls served, the calls sent and failed, the
// calls the breaker rejected, and how often it opened.
func (rep *RecoveryReport) WriteText(w io.Writer) error {
	var b strings.Builder
	for i, s := range rep.Scenarios {
		fmt.Fprintf(&b, "%s: %s\n", s.Name, s.Description)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  candidate\tserved\tsent\tfailed\trejected\topens\t")
		for _, r := range rep.Results[i] {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%d\t\n", r.Candidate, percent(r.Served, r.Offered), r.Sent, r.Failed, r.Rejected, r.Opens)
		}
		tw.Flush()
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "seed %d; served: calls that succeeded, at once or retried, of those callers made; sent and failed count retries\n", rep.Seed)
	_, err := io.WriteString(w, b.String())
	return err
}

func percent(n, of int) string {
	if of == 0 {
		return "n/a"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + "%"
}

// RecoveryTuneReport is the result of [TuneRecovery]: for each scenario
// and base candidate, the base's result and the best of each kind of
// recovery setting.
type RecoveryTuneReport struct {
	Seed  uint64
	Lines []RecoveryTuneLine
}

// RecoveryTuneLine is one scenario's result for one kind of setting on one
// base candidate: the best setting of that kind and its figures.
type RecoveryTuneLine struct {
	Scenario, Base, Kind string
	Best                 RecoveryResult
	Score                float64
}

// RecoveryScore is what TuneRecovery maximises: the calls served less
// half the calls failed, since a failure sent is both an error for a
// caller and load on a dependency that is struggling.
func RecoveryScore(r RecoveryResult) float64 { return float64(r.Served) - 0.5*float64(r.Failed) }

// recoveryKinds are the kinds of recovery setting TuneRecovery searches,
// each a few values, as settings of a spec added to a base candidate, or
// as a policy around its own.
var recoveryKinds = []struct {
	kind  string
	specs []string // "%s" stands for the base's policy; the rest are settings
}{
	{"binary", []string{""}},
	{"ramp", []string{"@ramp=10s", "@ramp=30s", "@ramp=1m"}},
	{"throttle", []string{"any(throttle(1.5,10s),%s)", "any(throttle(2,10s),%s)", "any(throttle(3,10s),%s)", "any(throttle(2,30s),%s)"}},
	{"backoff-forget", []string{"@backoff=2m,backoff-forget=30s", "@backoff=2m,backoff-forget=1m", "@backoff=2m,backoff-forget=5m"}},
	{"retry-after", []string{"@retry-after-max=30s", "@retry-after-max=1m", "@retry-after-max=5m"}},
}

// TuneRecovery searches, for each base candidate (a policy of the spec
// language with its settings), each kind of recovery setting over a few
// values in each recovery scenario, and reports the best of each kind by
// [RecoveryScore] beside the base alone ("binary").
func TuneRecovery(scenarios []RecoveryScenario, bases []Candidate, seed uint64) (*RecoveryTuneReport, error) {
	rep := &RecoveryTuneReport{Seed: seed}
	for _, base := range bases {
		pol := base.Spec()
		settings := ""
		if i := strings.IndexByte(pol, '@'); i >= 0 {
			pol, settings = pol[:i], pol[i+1:]
		}
		for _, k := range recoveryKinds {
			var cands []Candidate
			for _, sp := range k.specs {
				text := pol + sp
				if strings.Contains(sp, "%s") {
					text = fmt.Sprintf(sp, pol)
				}
				if settings != "" {
					if strings.Contains(text, "@") {
						text += "," + settings
					} else {
						text += "@" + settings
					}
				}
				cs, err := ParseCandidates(text, nil)
				if err != nil {
					return nil, fmt.Errorf("lab: tuning %s on %s: %w", k.kind, base.Name, err)
				}
				cands = append(cands, cs...)
			}
			run, err := RunRecovery(scenarios, cands, seed)
			if err != nil {
				return nil, err
			}
			for i, s := range run.Scenarios {
				best := run.Results[i][0]
				for _, r := range run.Results[i][1:] {
					if RecoveryScore(r) > RecoveryScore(best) {
						best = r
					}
				}
				rep.Lines = append(rep.Lines, RecoveryTuneLine{Scenario: s.Name, Base: base.Spec(), Kind: k.kind, Best: best, Score: RecoveryScore(best)})
			}
		}
	}
	// By scenario, then in the order searched.
	order := map[string]int{}
	for i, s := range scenarios {
		order[s.Name] = i
	}
	slices.SortStableFunc(rep.Lines, func(a, b RecoveryTuneLine) int { return order[a.Scenario] - order[b.Scenario] })
	return rep, nil
}

// WriteText writes the search's result, one table per scenario.
func (rep *RecoveryTuneReport) WriteText(w io.Writer) error {
	var b strings.Builder
	var last string
	var tw *tabwriter.Writer
	for _, l := range rep.Lines {
		if l.Scenario != last {
			if tw != nil {
				tw.Flush()
				b.WriteString("\n")
			}
			last = l.Scenario
			fmt.Fprintf(&b, "%s:\n", l.Scenario)
			tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  base\tkind\tbest\tscore\tserved\tfailed\trejected\t")
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%.0f\t%s\t%d\t%d\t\n", l.Base, l.Kind, l.Best.Candidate, l.Score, percent(l.Best.Served, l.Best.Offered), l.Best.Failed, l.Best.Rejected)
	}
	if tw != nil {
		tw.Flush()
	}
	fmt.Fprintf(&b, "\nseed %d; score: calls served less half the calls failed, maximised\n", rep.Seed)
	_, err := io.WriteString(w, b.String())
	return err
}
