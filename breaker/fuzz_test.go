package breaker_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
	"pgregory.net/rapid"
)

// The fuzz targets run their seeds, in testdata/fuzz, with every go test;
// scripts/fuzz.sh fuzzes each for a while. TestWriteFuzzSeeds writes the
// seeds.

// FuzzModel runs checkModel, the state-machine test of TestBreakerMatchesModel,
// on steps decoded from the fuzz input.
func FuzzModel(f *testing.F) {
	f.Fuzz(rapid.MakeFuzz(func(t *rapid.T) { checkModel(t, nil) }))
}

// FuzzConfig builds a breaker from arbitrary field values and policy
// arguments. New must either refuse the configuration with an error that
// wraps ErrInvalidConfig and names the field at fault, or return a breaker
// that works: checkWorks takes it through a whole cycle. Nothing may panic.
//
// backoff says whether Config.Backoff is set, from factor, backoffMax, jitter
// and u (what its Rand returns); kind picks the policy from policyKinds, and n,
// m, over, slow and ratio are its arguments (see policyArgs), each policy
// taking those it needs.
// calls are the outcomes of calls made while closed, one per byte.
func FuzzConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string, openTimeout int64, probes int, probeTimeout int64, countCalls bool,
		backoff bool, factor float64, backoffMax int64, jitter, u float64,
		kind uint8, n, m int, over, slow int64, ratio float64, calls []byte) {
		for _, cs := range clockStarts() {
			if !checkConfig(t, cs, name, openTimeout, probes, probeTimeout, countCalls, backoff, factor, backoffMax, jitter, u, kind, n, m, over, slow, ratio, calls) {
				return // refused, as it must be from every start
			}
		}
	})
}

// checkConfig is FuzzConfig's check from one clock start. It reports
// whether New accepted the configuration.
func checkConfig(t *testing.T, cs clockStart, name string, openTimeout int64, probes int, probeTimeout int64, countCalls bool,
	backoff bool, factor float64, backoffMax int64, jitter, u float64,
	kind uint8, n, m int, over, slow int64, ratio float64, calls []byte) bool {
	t.Helper()
	{
		args := policyArgs{N: n, M: m, Over: time.Duration(over), Slow: time.Duration(slow), Ratio: ratio}
		cfg := breaker.Config[int]{
			Name:           name,
			CountCalls:     countCalls,
			OpenTimeout:    time.Duration(openTimeout),
			HalfOpenProbes: probes,
			ProbeTimeout:   time.Duration(probeTimeout),
			Policy:         policyKinds[int(kind)%len(policyKinds)].build(args),
			Classify:       func(result int, _ error) breaker.Outcome { return breaker.Outcome(result) },
		}
		if backoff {
			cfg.Backoff = &breaker.Backoff{Factor: factor, Max: time.Duration(backoffMax), Jitter: jitter, Rand: func() float64 { return u }}
		}
		clk := newManualClock(cs)
		cfg.Clock = clk
		log := []breaker.State{breaker.Closed} // every state the circuit reported being in
		cfg.OnStateChange = func(_ string, from, to breaker.State) {
			if from != log[len(log)-1] || from == to {
				t.Fatalf("transition %v>%v after states %v", from, to, log)
			}
			log = append(log, to)
		}

		b, err := breaker.New(cfg)
		valid := fieldsValid(cfg)
		if err != nil {
			if b != nil || !errors.Is(err, breaker.ErrInvalidConfig) {
				t.Fatalf("New = %v, %v; an error must wrap ErrInvalidConfig and come alone", b, err)
			}
			msg, ok := strings.CutPrefix(err.Error(), "breaker: invalid config: ")
			field, _, _ := strings.Cut(msg, " ")
			field = strings.TrimSuffix(field, ":")
			if strings.HasPrefix(field, "Policy.") {
				field = "Policy" // Policy.ratio: an argument of the policy
			}
			switch {
			case !ok:
				t.Fatalf("error %q does not start with the package and what is wrong", err)
			case !slices.Contains(configFields, field):
				t.Fatalf("error %q names no field", err)
			case field != "Policy" && valid:
				t.Fatalf("New refused a valid %s: %q", field, err)
			}
			return false
		}
		if !valid {
			t.Fatalf("New accepted an invalid configuration: %+v", cfg)
		}
		checkWorks(t, b, clk, cycle{
			timeout:      cmpOr(cfg.OpenTimeout, breaker.DefaultOpenTimeout),
			jittered:     backoff && jitter > 0,
			probes:       cmpOr(probes, breaker.DefaultHalfOpenProbes),
			probeTimeout: effectiveProbeTimeout(cfg),
			counted:      countCalls,
		}, calls)
		if got := b.State(); got != log[len(log)-1] {
			t.Fatalf("State() = %v, but the last transition reported was to %v", got, log[len(log)-1])
		}
		return true
	}
}

// configFields are the names an invalid-config error may start with.
var configFields = []string{"OpenTimeout", "HalfOpenProbes", "CloseAfter", "ProbeTimeout", "Backoff.Factor", "Backoff.Max", "Backoff.Jitter", "Clock", "Policy"}

// effectiveProbeTimeout is the ProbeTimeout cfg gives, as Config's docs
// describe it: 0 for OpenTimeout, negative (NoProbeTimeout) for none, which
// the cycle takes as 0.
func effectiveProbeTimeout(cfg breaker.Config[int]) time.Duration {
	switch {
	case cfg.ProbeTimeout < 0:
		return 0
	case cfg.ProbeTimeout == 0:
		return cmpOr(cfg.OpenTimeout, breaker.DefaultOpenTimeout)
	}
	return cfg.ProbeTimeout
}

// fieldsValid says whether the fields of cfg, apart from its policy, are
// valid as Config's docs describe them.
func fieldsValid(cfg breaker.Config[int]) bool {
	ok := cfg.OpenTimeout >= 0 && cfg.HalfOpenProbes >= 0 && cfg.HalfOpenProbes <= breaker.MaxHalfOpenProbes
	if bo := cfg.Backoff; bo != nil {
		ok = ok && (bo.Factor == 0 || bo.Factor >= 1 && !math.IsInf(bo.Factor, 0)) &&
			bo.Max >= cmpOr(cfg.OpenTimeout, breaker.DefaultOpenTimeout) &&
			bo.Jitter >= 0 && bo.Jitter < 1
	}
	return ok
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// cycle is what checkWorks expects of a breaker, from its configuration.
type cycle struct {
	timeout      time.Duration // the first open period, before jitter
	jittered     bool          // the open period may be shorter, down to nothing
	probes       int
	probeTimeout time.Duration
	counted      bool // CountCalls
}

// maxProbesExercised bounds the probes checkWorks makes, so that a breaker
// with tens of thousands of probe slots costs no more than one with three.
const maxProbesExercised = 64

// checkWorks makes calls with the given outcomes, then takes the breaker
// through a whole cycle (trip, open period, half-open with every slot
// taken, reclaimed slots with a ProbeTimeout, closing probes), checking at
// each step what the contract promises whatever the policy, and at the end
// what Metrics counted.
//
// Each byte of calls is one call, byteOutcomes[byte%3].
func checkWorks(t *testing.T, b *breaker.Breaker[int], clk *manualClock, want cycle, calls []byte) {
	t.Helper()
	ctx := context.Background()
	var made [4]uint64 // calls finished by Outcome, then rejected
	exec := func(o breaker.Outcome) (ran bool, err error) {
		_, err = b.Execute(ctx, func(context.Context) (int, error) {
			ran = true
			return int(o), nil
		})
		if ran {
			made[o]++
		} else {
			made[3]++
		}
		return ran, err
	}
	done := func(p breaker.Permit[int], o breaker.Outcome) {
		p.Done(int(o), nil)
		made[o]++
	}
	wantState := func(want breaker.State) {
		t.Helper()
		if got := b.State(); got != want {
			t.Fatalf("State() = %v, want %v", got, want)
		}
	}
	wantRejected := func(ran bool, err error) *breaker.OpenError {
		t.Helper()
		var oe *breaker.OpenError
		if ran || !errors.As(err, &oe) || !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("fn ran: %v, err %v; want a rejection wrapping ErrOpen", ran, err)
		}
		return oe
	}
	// openFor checks the open circuit's rejection and returns how long it
	// stays open. The clock stands still while it opens.
	openFor := func() time.Duration {
		t.Helper()
		d := wantRejected(exec(breaker.Success)).Until().Sub(clk.Now())
		if d <= 0 || d > want.timeout || !want.jittered && d != want.timeout {
			t.Fatalf("open for %v; OpenTimeout %v, jitter %v", d, want.timeout, want.jittered)
		}
		return d
	}

	wantState(breaker.Closed)
	for _, c := range calls[:min(len(calls), 64)] {
		// Only the policy moves the circuit here, and the clock stands
		// still: closed admits everything, open nothing.
		switch before := b.State(); before {
		case breaker.Closed:
			if ran, err := exec(byteOutcomes[c%3]); !ran || err != nil {
				t.Fatalf("closed circuit: fn ran %v, err %v", ran, err)
			}
		case breaker.Open:
			openFor()
		default:
			if !want.jittered {
				t.Fatalf("State() = %v with the clock standing still", before)
			}
			// Jitter shortened the open period to nothing.
		}
	}

	b.Reset()
	wantState(breaker.Closed)
	b.Trip()
	if b.State() == breaker.Open {
		d := openFor()
		clk.Add(d - time.Nanosecond)
		wantState(breaker.Open)
		clk.Add(time.Nanosecond)
	} else if !want.jittered {
		t.Fatalf("State() = %v after Trip", b.State())
	}
	wantState(breaker.HalfOpen)

	// Take every slot (up to the bound) and see one more call rejected.
	allow := func() breaker.Permit[int] {
		t.Helper()
		p, err := b.Allow()
		if err != nil {
			t.Fatalf("probe rejected in half-open with %d slots: %v", want.probes, err)
		}
		return p
	}
	n := min(want.probes, maxProbesExercised)
	permits := make([]breaker.Permit[int], n)
	for i := range permits {
		permits[i] = allow()
	}
	if n == want.probes {
		if oe := wantRejected(exec(breaker.Success)); oe.State() != breaker.HalfOpen {
			t.Fatalf("rejection with every slot taken says %v", oe.State())
		}
		// With a ProbeTimeout, busy slots are reclaimed once it has passed
		// with nothing admitted or finished, and the probes holding them
		// are forgotten. (The breaker counts probe times in nanoseconds
		// from when it was made, up to 292 years, which an open timeout
		// near the largest Duration overruns.)
		if want.probeTimeout > 0 && clk.Now().Sub(clk.start) < math.MaxInt64-want.probeTimeout {
			clk.Add(want.probeTimeout - time.Nanosecond)
			if want.probeTimeout > time.Nanosecond {
				wantRejected(exec(breaker.Success))
			}
			clk.Add(time.Nanosecond)
			fresh := allow()
			for _, p := range permits {
				done(p, breaker.Failure) // forgotten: reopens nothing
			}
			wantState(breaker.HalfOpen)
			permits = append(permits[:0], fresh)
			for len(permits) < n {
				permits = append(permits, allow())
			}
		}
	}
	// Let the probes succeed.
	for _, p := range permits {
		wantState(breaker.HalfOpen)
		done(p, breaker.Success)
	}
	if n == want.probes {
		wantState(breaker.Closed)
	} else {
		wantState(breaker.HalfOpen)
		b.Reset()
	}
	if ran, err := exec(breaker.Success); !ran || err != nil {
		t.Fatalf("closed again: fn ran %v, err %v", ran, err)
	}
	b.Reset()
	wantState(breaker.Closed)

	m := b.Metrics()
	if m.State != breaker.Closed || m.ProbesInFlight != 0 || m.Counted != want.counted {
		t.Fatalf("Metrics = %+v after the cycle; want closed, no probe in flight, Counted %v", m, want.counted)
	}
	var counted [4]uint64 // indexed as made is
	counted[breaker.Success], counted[breaker.Failure], counted[breaker.Ignored], counted[3] = m.Successes, m.Failures, m.Ignored, m.Rejected
	if want.counted && counted != made {
		t.Fatalf("Metrics counts %v (by Outcome, then rejected); the calls were %v", counted, made)
	}
}

var writeSeeds = flag.Bool("writeseeds", false, "TestWriteFuzzSeeds: rewrite the generated seeds in testdata/fuzz")

// TestWriteFuzzSeeds writes the seed corpora of the fuzz targets, when run
// with -writeseeds; run it again after adding a policy kind.
//
// FuzzConfig's seeds are the edge values of each field, Backoff and
// ProbeTimeout included, and for each policy kind its typical, zero and
// broken arguments. FuzzModel's are picked from random inputs: each one
// kept reaches something (a transition, a kind of rejection, a late
// permit) that the ones before it did not, so that plain go test replays
// the paths that matter. Inputs the fuzzer saved (not named seed-*) stay;
// when a target's arguments change, they must be rewritten or turned into
// named seeds here, as go test refuses a corpus file that does not match.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -writeseeds to rewrite testdata/fuzz")
	}
	type configSeed struct {
		name         string
		openTimeout  int64
		probes       int
		probeTimeout int64
		countCalls   bool
		backoff      bool
		factor       float64
		max          int64
		jitter, u    float64
		kind         uint8
		args         policyArgs
		calls        []byte
	}
	trips := []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1} // ten failures
	mixed := []byte{0, 1, 2, 1, 1, 0, 2, 2, 1, 1, 1, 1, 1, 1, 0}
	sec := int64(time.Second)
	seeds := map[string]configSeed{
		"zero":                      {},
		"negative-timeout":          {openTimeout: -1},
		"min-timeout":               {openTimeout: 1, calls: trips},
		"max-timeout":               {openTimeout: math.MaxInt64, calls: trips},
		"negative-probes":           {probes: -1},
		"max-probes":                {probes: breaker.MaxHalfOpenProbes},
		"too-many-probes":           {probes: breaker.MaxHalfOpenProbes + 1},
		"probe-timeout":             {openTimeout: sec, probes: 2, probeTimeout: 10 * sec, calls: mixed},
		"count-calls":               {openTimeout: sec, probes: 2, probeTimeout: sec, countCalls: true, calls: mixed},
		"probe-timeout-min":         {probes: 1, probeTimeout: 1, calls: trips},
		"probe-timeout-negative":    {probeTimeout: -1},
		"probe-timeout-292-years":   {openTimeout: math.MaxInt64, probeTimeout: 25, calls: []byte("0")},
		"backoff":                   {openTimeout: sec, backoff: true, factor: 2, max: 60 * sec, jitter: 0.5, u: 0.7, calls: mixed},
		"backoff-default-factor":    {openTimeout: sec, backoff: true, max: sec, calls: trips},
		"backoff-zero-period":       {openTimeout: 1, backoff: true, max: 1, jitter: 0.99, u: 0.99, calls: trips},
		"backoff-broken-rand":       {openTimeout: sec, backoff: true, max: sec, jitter: 0.5, u: math.NaN(), calls: trips},
		"backoff-small-factor":      {backoff: true, factor: 0.5, max: math.MaxInt64},
		"backoff-infinite-factor":   {backoff: true, factor: math.Inf(1), max: math.MaxInt64},
		"backoff-max-below-timeout": {openTimeout: sec, backoff: true, max: sec - 1},
		"backoff-nan-jitter":        {backoff: true, max: math.MaxInt64, jitter: math.NaN()},
		"backoff-jitter-one":        {backoff: true, max: math.MaxInt64, jitter: 1},
		"odd-name":                  {name: "\x00\xff\"db\"\n", openTimeout: sec, probes: 1, calls: trips},
		"invalid-field-and-policy":  {openTimeout: -1, kind: 1},
		// The extremes: the largest Durations everywhere, Backoff
		// capped at the largest Duration (float64(math.MaxInt64) rounds
		// up to 2^63), and the smallest values of every field.
		"max-everything":          {openTimeout: math.MaxInt64, probes: breaker.MaxHalfOpenProbes, probeTimeout: math.MaxInt64, countCalls: true, backoff: true, factor: math.MaxFloat64, max: math.MaxInt64, jitter: math.Nextafter(1, 0), u: math.Nextafter(1, 0), calls: trips},
		"max-timeout-max-backoff": {openTimeout: math.MaxInt64, backoff: true, max: math.MaxInt64, calls: trips},
		"max-backoff":             {openTimeout: sec, backoff: true, factor: 2, max: math.MaxInt64, calls: trips},
		"max-backoff-huge-factor": {openTimeout: sec, backoff: true, factor: 1e300, max: math.MaxInt64, jitter: 0.5, u: 0, calls: trips},
		"max-probe-timeout":       {openTimeout: sec, probes: 1, probeTimeout: math.MaxInt64, calls: trips},
		"min-everything":          {openTimeout: math.MinInt64, probes: math.MinInt, probeTimeout: math.MinInt64, backoff: true, factor: -math.MaxFloat64, max: math.MinInt64, jitter: math.Inf(-1), u: math.Inf(-1)},
		"negative-everything":     {openTimeout: -1, probes: -1, probeTimeout: -1, backoff: true, factor: -1, max: -1, jitter: -1, u: -1, kind: 2, args: policyArgs{N: -1, M: -1, Over: -1, Slow: -1, Ratio: -1}},
		"nan-everything":          {openTimeout: sec, backoff: true, factor: math.NaN(), max: 60 * sec, jitter: math.NaN(), u: math.NaN(), kind: 3, args: policyArgs{N: 1, M: 1, Over: time.Second, Slow: time.Second, Ratio: math.NaN()}},
		"inf-backoff":             {openTimeout: sec, backoff: true, factor: math.Inf(1), max: math.MaxInt64, jitter: math.Inf(1), u: math.Inf(1)},
	}
	for i, pk := range policyKinds {
		seeds[pk.name+"-typical"] = configSeed{openTimeout: sec, probes: 2, countCalls: true, kind: uint8(i), args: pk.typical, calls: mixed}
		seeds[pk.name+"-zero-args"] = configSeed{kind: uint8(i), calls: trips}
		seeds[pk.name+"-negative-args"] = configSeed{kind: uint8(i), args: policyArgs{N: -1, M: -1, Over: -1, Slow: -1, Ratio: -1}}
		seeds[pk.name+"-nan-ratio"] = configSeed{kind: uint8(i), args: policyArgs{N: 1, M: 1, Over: 1, Slow: 1, Ratio: math.NaN()}}
		seeds[pk.name+"-inf-ratio"] = configSeed{kind: uint8(i), args: policyArgs{N: 1, M: 1, Over: 1, Slow: 1, Ratio: math.Inf(1)}}
		seeds[pk.name+"-negative-inf-ratio"] = configSeed{kind: uint8(i), args: policyArgs{N: 1, M: 1, Over: 1, Slow: 1, Ratio: math.Inf(-1)}}
		seeds[pk.name+"-min-args"] = configSeed{kind: uint8(i), args: policyArgs{N: math.MinInt, M: math.MinInt, Over: math.MinInt64, Slow: math.MinInt64, Ratio: -math.MaxFloat64}}
		// Huge windows: the largest counts and spans, ratio 1, so that
		// only failures trip it.
		seeds[pk.name+"-huge-args"] = configSeed{openTimeout: sec, probes: 2, kind: uint8(i), args: policyArgs{N: math.MaxInt, M: math.MaxInt, Over: math.MaxInt64, Slow: math.MaxInt64, Ratio: 1}, calls: trips}
		seeds[pk.name+"-huge-window"] = configSeed{openTimeout: sec, probes: 2, kind: uint8(i), args: policyArgs{N: 2, M: policy.MaxLastN, Over: math.MaxInt64, Slow: time.Second, Ratio: 0.5}, calls: mixed}
		seeds[pk.name+"-tiny-window"] = configSeed{openTimeout: 1, probes: 1, kind: uint8(i), args: policyArgs{N: 1, M: 1, Over: 1, Slow: 1, Ratio: math.SmallestNonzeroFloat64}, calls: mixed}
	}
	dir := seedDir(t, "FuzzConfig")
	for name, s := range seeds {
		writeSeed(t, dir, name, s.name, s.openTimeout, s.probes, s.probeTimeout, s.countCalls,
			s.backoff, s.factor, s.max, s.jitter, s.u,
			s.kind, s.args.N, s.args.M, int64(s.args.Over), int64(s.args.Slow), s.args.Ratio, s.calls)
	}

	// FuzzModel: greedy pick from random inputs.
	run := rapid.MakeFuzz(func(t *rapid.T) { checkModel(t, modelSeen) })
	covered := map[string]bool{}
	dir = seedDir(t, "FuzzModel")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		input := make([]byte, 8*(8+rng.IntN(120)))
		for j := range input {
			input[j] = byte(rng.Uint32())
		}
		// Besides what checkModel reports: each transition with the
		// breaker's parameters, and each pair of transitions in a row.
		reached := map[string]bool{}
		var params []string
		last := ""
		modelSeen = func(f string) {
			switch {
			case strings.Contains(f, "="):
				params = append(params, f)
				return
			case strings.Contains(f, ">"):
				for _, p := range params {
					reached[f+" "+p] = true
				}
				if last != "" {
					reached[last+" then "+f] = true
				}
				last = f
			}
			reached[f] = true
		}
		t.Run("", func(t *testing.T) { run(t, input) })
		var fresh []string
		for f := range reached {
			if !covered[f] {
				fresh = append(fresh, f)
				covered[f] = true
			}
		}
		if len(fresh) > 0 {
			slices.Sort(fresh)
			name := strings.NewReplacer(">", "-to-", " ", "-", "=", "").Replace(fresh[0])
			writeSeed(t, dir, name, input)
		}
	}
	modelSeen = nil
	t.Logf("FuzzModel seeds reach %d features: %v", len(covered), slices.Sorted(maps.Keys(covered)))
}

// modelSeen is where checkModel reports what a run reached, while
// TestWriteFuzzSeeds picks seeds.
var modelSeen func(string)

// seedDir empties the generated seeds of target, keeping any input the
// fuzzer saved there, and returns its directory.
func seedDir(t *testing.T, target string) string {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
	for _, f := range old {
		os.Remove(f)
	}
	return dir
}

// writeSeed writes one corpus file in the format go test reads.
func writeSeed(t *testing.T, dir, name string, vals ...any) {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case uint8:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		default:
			fmt.Fprintf(&b, "%T(%v)\n", v, v)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// byteOutcomes decodes the bytes of a fuzz input into outcomes: 0 a success,
// 1 a failure, 2 ignored. The seeds were written in this code, which was
// the order of the Outcome values before Failure became the zero Outcome.
var byteOutcomes = [3]breaker.Outcome{breaker.Success, breaker.Failure, breaker.Ignored}
