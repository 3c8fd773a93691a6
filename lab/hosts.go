package lab

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/policy"
)

// HostScenario is a multi-host scenario: a client calls Hosts hosts of one
// service, each Rate times a second, through a group with one breaker per
// host. During the fault, the hosts listed in Bad (every host, when
// AllBad is set) fail with BadErrors; the others, and every host outside
// the fault, fail with Errors. Calls complete at once: what the scenario
// measures is which hosts a candidate opens, not how long calls take.
//
// It is the lab's form for comparing the group's options (outlier
// detection, the cap on open keys) with per-host policies alone. Those
// options are the group's, not a breaker's, so they have no place in the
// spec language of a breaker: a [HostCandidate] is a per-host [Candidate]
// plus the group options, set in Go.
type HostScenario struct {
	// Name identifies the scenario in tables.
	Name string
	// Description says what the scenario shows. Optional.
	Description string
	// Duration is how long the scenario runs, in virtual time.
	Duration time.Duration
	// Hosts is the number of hosts, at least 1.
	Hosts int
	// Rate is the calls per second to each host.
	Rate float64
	// Errors is the error rate of a healthy host, in [0, 1].
	Errors float64
	// Bad lists the hosts (0 to Hosts-1) that fail during the fault.
	Bad []int
	// AllBad makes every host fail during the fault: the whole service is
	// down.
	AllBad bool
	// BadErrors is the error rate of a bad host during the fault.
	BadErrors float64
	// FaultStart and FaultEnd bound the fault. Equal: no fault.
	FaultStart, FaultEnd time.Duration
	// OpenTimeout is the per-host breakers' OpenTimeout: 0 means the
	// breaker's default.
	OpenTimeout time.Duration
	// Balance makes the client a load balancer's: a call whose host's
	// circuit rejects it goes to the next host (in order, wrapping round)
	// whose circuit lets it through, and fails or not as that host does
	// at that moment. Without it, a call is for its host alone, and a
	// rejected call is not served.
	Balance bool
}

// HostCandidate is one way to run a group of per-host breakers: a per-host
// [Candidate] (its policy and settings) and the group's options.
type HostCandidate struct {
	// Name identifies the candidate in tables.
	Name string
	// Host configures each host's breaker.
	Host Candidate
	// Outliers is the group's Config.Outliers: nil, no detection.
	Outliers *group.Outliers
	// MaxOpenShare and KeepOneClosed are the group's cap on open hosts.
	MaxOpenShare  float64
	KeepOneClosed bool
}

// HostResult is what one candidate did in one multi-host scenario.
type HostResult struct {
	Scenario, Candidate string
	// Calls is every call made; Sent those let through; Failed those
	// let through that failed: the errors callers saw.
	Calls, Sent, Failed int
	// Saved is the calls rejected by their host's circuit that would have
	// failed there: the load spared to failing hosts.
	Saved int
	// HealthyLost is the calls rejected by their host's circuit that would
	// have succeeded there, and that no host served.
	HealthyLost int
	// WronglyOpened is the number of hosts whose circuit opened although
	// they were healthy: hosts never bad, and bad hosts opened outside the
	// fault (before it, or once it had ended).
	WronglyOpened int
	// BadOpened is the number of bad hosts whose circuit opened during the
	// fault.
	BadOpened int
	// Outliers is the number of hosts the detector opened (with
	// Outliers.Shadow, would have opened: it opened none, and every other
	// figure is the per-host policy's alone), and KeptClosed the number of
	// times the cap kept a host closed.
	Outliers, KeptClosed int
	// Rerouted is the calls (of a Balance scenario) that another host
	// served because their own host's circuit rejected them, and
	// Unserved the calls that no host took. Without Balance, every call
	// rejected is unserved.
	Rerouted, Unserved int
}

// BuiltinHosts returns the built-in multi-host scenarios: ten hosts called
// 20 times a second each for ten minutes, with a fault from the second to
// the seventh minute, and hosts' circuits open for 30 s.
func BuiltinHosts() []HostScenario {
	base := HostScenario{Duration: 10 * time.Minute, Hosts: 10, Rate: 20, Errors: 0.01,
		FaultStart: 2 * time.Minute, FaultEnd: 7 * time.Minute, OpenTimeout: 30 * time.Second}
	with := func(name, desc string, f func(*HostScenario)) HostScenario {
		s := base
		s.Name, s.Description = name, desc
		f(&s)
		return s
	}
	return []HostScenario{
		with("one-flaky-host", "one host of ten fails 15% of its calls: rarely five in a row", func(s *HostScenario) {
			s.Bad, s.BadErrors = []int{0}, 0.15
		}),
		with("one-bad-host", "one host of ten fails 40% of its calls", func(s *HostScenario) {
			s.Bad, s.BadErrors = []int{0}, 0.4
		}),
		with("two-bad-hosts", "two hosts of ten fail 60% of their calls", func(s *HostScenario) {
			s.Bad, s.BadErrors = []int{0, 1}, 0.6
		}),
		with("all-hosts-down", "every host fails every call: the whole service is down", func(s *HostScenario) {
			s.AllBad, s.BadErrors = true, 1
		}),
		with("healthy-hosts", "no fault: every host fails 1% of its calls; every open is a wrong one", func(s *HostScenario) {
			s.FaultStart, s.FaultEnd = 0, 0
		}),
		with("one-flaky-host-lb", "one-flaky-host behind a load balancer: a rejected call goes to the next host", func(s *HostScenario) {
			s.Bad, s.BadErrors, s.Balance = []int{0}, 0.15, true
		}),
		with("one-bad-host-lb", "one-bad-host behind a load balancer", func(s *HostScenario) {
			s.Bad, s.BadErrors, s.Balance = []int{0}, 0.4, true
		}),
		with("all-hosts-down-lb", "all-hosts-down behind a load balancer", func(s *HostScenario) {
			s.AllBad, s.BadErrors, s.Balance = true, 1, true
		}),
	}
}

// DefaultHostCandidates returns the candidates the multi-host table
// compares when none are chosen: [HostVariants] of per-host
// consecutive(5).
func DefaultHostCandidates() []HostCandidate {
	return HostVariants(Candidate{Name: "consecutive(5)", New: func() policy.Policy { return policy.Consecutive(5) }})
}

// HostVariants returns the group options the multi-host table compares for
// one per-host candidate: the per-host policy alone, then with the
// detector's success-rate test (Envoy's defaults, and the noise test's),
// with the same test in shadow (it opens nothing, and says how many hosts
// it would have opened), with its failure-rate test at 30%, with a cap of
// half the hosts, and with the success-rate test and a cap of 30%. Each is
// named after the candidate, with a suffix naming what it adds.
func HostVariants(host Candidate) []HostCandidate {
	sr := func() *group.Outliers { return &group.Outliers{SuccessRate: &group.SuccessRateTest{}} }
	shadow := sr()
	shadow.Shadow = true
	return []HostCandidate{
		{Name: host.Name, Host: host},
		{Name: host.Name + " +success-rate", Host: host, Outliers: sr()},
		{Name: host.Name + " +success-rate(shadow)", Host: host, Outliers: shadow},
		{Name: host.Name + " +failure-rate(0.3)", Host: host, Outliers: &group.Outliers{FailureRate: &group.FailureRateTest{Threshold: 0.3}}},
		{Name: host.Name + " +cap(0.5)", Host: host, MaxOpenShare: 0.5},
		{Name: host.Name + " +success-rate+cap(0.3)", Host: host, Outliers: sr(), MaxOpenShare: 0.3},
	}
}

// validate reports what is wrong with s, or nil.
func (s *HostScenario) validate() error {
	bad := func(field, problem string) error {
		return fmt.Errorf("lab: host scenario %q: %s: %s", s.Name, field, problem)
	}
	switch {
	case s.Name == "":
		return bad("Name", "is empty")
	case s.Duration <= 0:
		return bad("Duration", "must be positive")
	case s.Hosts < 1:
		return bad("Hosts", "must be at least 1")
	case !(s.Rate > 0):
		return bad("Rate", "must be positive")
	case s.Rate*s.Duration.Seconds()*float64(s.Hosts) > MaxCalls:
		return bad("Rate", "sends more than MaxCalls calls")
	case !(s.Errors >= 0 && s.Errors <= 1), !(s.BadErrors >= 0 && s.BadErrors <= 1):
		return bad("Errors", "error rates must be in [0, 1]")
	case s.FaultStart < 0 || s.FaultEnd < s.FaultStart:
		return bad("FaultStart", "the fault must start at 0 or later and end no earlier")
	}
	for _, h := range s.Bad {
		if h < 0 || h >= s.Hosts {
			return bad("Bad", "host "+strconv.Itoa(h)+" is not one of the "+strconv.Itoa(s.Hosts)+" hosts")
		}
	}
	return nil
}

// hostCall is one call of a multi-host scenario.
type hostCall struct {
	at     time.Duration
	host   int
	fault  bool // the host is bad and the call arrives during the fault
	failed bool
}

// hostTraffic draws the calls of s, in order of arrival: each host's calls
// are evenly spaced, from a random offset, and fail as its error rate says.
func hostTraffic(s *HostScenario, seed uint64) []hostCall {
	r := seeded(seed, "hosts", s.Name)
	bad := make([]bool, s.Hosts)
	for _, h := range s.Bad {
		bad[h] = true
	}
	gap := time.Duration(float64(time.Second) / s.Rate)
	var calls []hostCall
	for h := range s.Hosts {
		for at := time.Duration(r.Int64N(int64(gap))); at < s.Duration; at += gap {
			fault := (s.AllBad || bad[h]) && at >= s.FaultStart && at < s.FaultEnd
			p := s.Errors
			if fault {
				p = s.BadErrors
			}
			calls = append(calls, hostCall{at: at, host: h, fault: fault, failed: r.Float64() < p})
		}
	}
	slices.SortStableFunc(calls, func(a, b hostCall) int { return int(a.at - b.at) })
	return calls
}

// RunHosts replays each multi-host scenario against each candidate, on a
// virtual clock, and returns one result per pair, scenario by scenario.
// The same seed gives the same calls to every candidate, and the same
// results.
func RunHosts(scenarios []HostScenario, candidates []HostCandidate, seed uint64) ([]HostResult, error) {
	var out []HostResult
	for i := range scenarios {
		s := &scenarios[i]
		if err := s.validate(); err != nil {
			return nil, err
		}
		calls := hostTraffic(s, seed)
		for j := range candidates {
			r, err := runHosts(s, &candidates[j], calls, seed)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func runHosts(s *HostScenario, c *HostCandidate, calls []hostCall, seed uint64) (HostResult, error) {
	return runHostsWith(s, c, calls, seed, nil)
}

// runHostsWith is runHosts, with every outlier the detector finds also
// handed to onOutlier, if set: the tests look at when they were found.
func runHostsWith(s *HostScenario, c *HostCandidate, calls []hostCall, seed uint64, onOutlier func(group.Outlier[int])) (HostResult, error) {
	res := HostResult{Scenario: s.Name, Candidate: c.Name}
	if c.Host.New == nil {
		return res, errors.New("lab: host candidate " + strconv.Quote(c.Name) + ": Host.New is nil")
	}
	clk := &virtualClock{}
	// Not by candidate: two candidates that behave alike (a detector in
	// shadow, and none) draw alike, and show the same figures.
	rnd := seeded(seed, "hosts", s.Name, "run")
	bad := make([]bool, s.Hosts)
	for _, h := range s.Bad {
		bad[h] = true
	}
	inFault := func(at time.Duration) bool { return at >= s.FaultStart && at < s.FaultEnd }
	errorsOf := func(h int, at time.Duration) float64 {
		if (s.AllBad || bad[h]) && inFault(at) {
			return s.BadErrors
		}
		return s.Errors
	}
	wrong := make([]bool, s.Hosts)
	badOpened := make([]bool, s.Hosts)
	var buildErr error
	cfg := group.Config[int, struct{}]{
		New: func(h int) breaker.Config[struct{}] {
			bc, err := c.Host.config(&Scenario{OpenTimeout: s.OpenTimeout}, clk, rand.New(rand.NewPCG(rnd.Uint64(), 0)).Float64)
			if err != nil && buildErr == nil {
				buildErr = err
			}
			bc.Name = "host-" + strconv.Itoa(h)
			bc.OnStateChange = func(_ string, _, to breaker.State) {
				if to != breaker.Open {
					return
				}
				if (s.AllBad || bad[h]) && inFault(clk.now) {
					badOpened[h] = true
				} else {
					wrong[h] = true
				}
			}
			return bc
		},
		Clock:    clk,
		Outliers: c.Outliers,
		OnOutlier: func(o group.Outlier[int]) {
			res.Outliers += b2i(o.Opened)
			if onOutlier != nil {
				onOutlier(o)
			}
		},
		MaxOpenShare:  c.MaxOpenShare,
		KeepOneClosed: c.KeepOneClosed,
	}
	g, err := group.New(cfg)
	if err != nil {
		return res, fmt.Errorf("lab: host candidate %q: %w", c.Name, err)
	}
	// Every host is known from the start, as a client's list of hosts is.
	for h := range s.Hosts {
		if _, err := g.Get(h); err != nil {
			return res, fmt.Errorf("lab: host candidate %q: %w", c.Name, err)
		}
	}
	if buildErr != nil {
		return res, fmt.Errorf("lab: host candidate %q: %w", c.Name, buildErr)
	}
	for _, call := range calls {
		clk.now = call.at
		res.Calls++
		b, err := g.Get(call.host)
		if err != nil {
			return res, fmt.Errorf("lab: host candidate %q: %w", c.Name, err)
		}
		p, err := b.Allow()
		failed := call.failed
		if err != nil {
			if call.failed {
				res.Saved++
			}
			if s.Balance {
				p, failed, err = reroute(g, call, s.Hosts, rnd, errorsOf)
			}
			if err != nil {
				res.Unserved++
				res.HealthyLost += b2i(!call.failed)
				continue
			}
			res.Rerouted++
		}
		res.Sent++
		if failed {
			res.Failed++
			p.Done(struct{}{}, errHostFailed)
		} else {
			p.Done(struct{}{}, nil)
		}
	}
	for _, k := range g.KeptClosed() {
		res.KeptClosed += k.Times
	}
	for h := range s.Hosts {
		res.WronglyOpened += b2i(wrong[h])
		res.BadOpened += b2i(badOpened[h])
	}
	return res, nil
}

var errHostFailed = errors.New("lab: host failed")

// reroute offers call to the hosts after its own, in order, and returns the
// permit of the first whose circuit lets it through, and whether the call
// fails there (drawn from rnd with that host's error rate at the time).
func reroute(g *group.Group[int, struct{}], call hostCall, hosts int, rnd *rand.Rand, errorsOf func(int, time.Duration) float64) (breaker.Permit[struct{}], bool, error) {
	err := breaker.ErrOpen
	for i := 1; i < hosts; i++ {
		h := (call.host + i) % hosts
		b, gerr := g.Get(h)
		if gerr != nil {
			return breaker.Permit[struct{}]{}, false, gerr
		}
		p, aerr := b.Allow()
		if aerr == nil {
			return p, rnd.Float64() < errorsOf(h, call.at), nil
		}
		err = aerr
	}
	return breaker.Permit[struct{}]{}, false, err
}

// WriteHostTable writes results as an aligned table, a block per scenario.
func WriteHostTable(w io.Writer, results []HostResult) error {
	tw := newTable(w)
	last := ""
	for _, r := range results {
		if r.Scenario != last {
			if last != "" {
				fmt.Fprintln(tw)
			}
			last = r.Scenario
			fmt.Fprintf(tw, "%s\tcalls\tfailed\tsaved\thealthy_lost\trerouted\tunserved\tbad_opened\twrongly_opened\toutliers\tkept_closed\n", r.Scenario)
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", r.Candidate, r.Calls, r.Failed,
			r.Saved, r.HealthyLost, r.Rerouted, r.Unserved, r.BadOpened, r.WronglyOpened, r.Outliers, r.KeptClosed)
	}
	return tw.Flush()
}
