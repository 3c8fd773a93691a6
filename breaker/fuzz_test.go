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
// kind picks the policy from policyKinds; n, over and ratio are its
// arguments, each policy taking those it needs. calls are the outcomes of
// calls made while closed, one per byte.
func FuzzConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string, openTimeout int64, probes int, kind uint8, n int, over int64, ratio float64, calls []byte) {
		pk := policyKinds[int(kind)%len(policyKinds)]
		clk := newManualClock()
		var log []breaker.State // every state the circuit reported being in
		b, err := breaker.New(breaker.Config[int]{
			Name:           name,
			OpenTimeout:    time.Duration(openTimeout),
			HalfOpenProbes: probes,
			Policy:         pk.build(policyArgs{N: n, Over: time.Duration(over), Ratio: ratio}),
			Clock:          clk,
			Classify:       func(result int, _ error) breaker.Outcome { return breaker.Outcome(result) },
			OnStateChange: func(_ string, from, to breaker.State) {
				if last := len(log) - 1; last < 0 || from != log[last] || from == to {
					t.Fatalf("transition %v>%v after states %v", from, to, log)
				}
				log = append(log, to)
			},
		})
		log = append(log, breaker.Closed)
		fieldOK := openTimeout >= 0 && probes >= 0 && probes <= breaker.MaxHalfOpenProbes
		if err != nil {
			if b != nil || !errors.Is(err, breaker.ErrInvalidConfig) {
				t.Fatalf("New = %v, %v; an error must wrap ErrInvalidConfig and come alone", b, err)
			}
			msg := err.Error()
			field, _, _ := strings.Cut(strings.TrimPrefix(msg, "breaker: invalid config: "), " ")
			field = strings.TrimSuffix(field, ":")
			switch {
			case !strings.HasPrefix(msg, "breaker: invalid config: "):
				t.Fatalf("error %q does not start with the package and what is wrong", msg)
			case !slices.Contains([]string{"OpenTimeout", "HalfOpenProbes", "Policy"}, field):
				t.Fatalf("error %q names no field", msg)
			case field != "Policy" && fieldOK:
				t.Fatalf("New refused a valid %s: %q", field, msg)
			}
			return
		}
		if !fieldOK {
			t.Fatalf("New accepted OpenTimeout %v, HalfOpenProbes %d", time.Duration(openTimeout), probes)
		}
		timeout := cmpOr(time.Duration(openTimeout), breaker.DefaultOpenTimeout)
		checkWorks(t, b, clk, timeout, cmpOr(probes, breaker.DefaultHalfOpenProbes), calls)
		if got := b.State(); got != log[len(log)-1] {
			t.Fatalf("State() = %v, but the last transition reported was to %v", got, log[len(log)-1])
		}
	})
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// maxProbesExercised bounds the probes checkWorks makes, so that a breaker
// with tens of thousands of probe slots costs no more than one with three.
const maxProbesExercised = 64

// checkWorks makes calls with the given outcomes, then trips the circuit,
// lets timeout pass and closes it with probes, checking at each step what
// the contract promises whatever the policy.
func checkWorks(t *testing.T, b *breaker.Breaker[int], clk *manualClock, timeout time.Duration, probes int, calls []byte) {
	t.Helper()
	ctx := context.Background()
	exec := func(o breaker.Outcome) (ran bool, err error) {
		_, err = b.Execute(ctx, func(context.Context) (int, error) {
			ran = true
			return int(o), nil
		})
		return ran, err
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

	wantState(breaker.Closed)
	var opened time.Time // when the policy tripped, if it did
	for _, c := range calls[:min(len(calls), 64)] {
		// Only the policy moves the circuit here, and the clock stands
		// still: closed admits everything, open nothing.
		switch before := b.State(); before {
		case breaker.Closed:
			if ran, err := exec(breaker.Outcome(c % 3)); !ran || err != nil {
				t.Fatalf("closed circuit: fn ran %v, err %v", ran, err)
			}
			if b.State() == breaker.Open {
				opened = clk.Now()
			}
		case breaker.Open:
			oe := wantRejected(exec(breaker.Success))
			if want := opened.Add(timeout); !oe.Until.Equal(want) {
				t.Fatalf("open until %v, want %v", oe.Until, want)
			}
		default:
			t.Fatalf("State() = %v with the clock standing still", before)
		}
	}

	b.Trip()
	wantState(breaker.Open)
	until := wantRejected(exec(breaker.Success)).Until
	if opened.IsZero() {
		opened = clk.Now()
	}
	if want := opened.Add(timeout); !until.Equal(want) {
		t.Fatalf("open until %v, want %v", until, want)
	}
	clk.Add(timeout - time.Nanosecond)
	wantState(breaker.Open)
	clk.Add(time.Nanosecond)
	wantState(breaker.HalfOpen)

	// Fill every slot (up to the bound), see one more call rejected, then
	// let the probes succeed.
	n := min(probes, maxProbesExercised)
	permits := make([]breaker.Permit[int], n)
	for i := range permits {
		var err error
		if permits[i], err = b.Allow(); err != nil {
			t.Fatalf("probe %d of %d rejected: %v", i+1, probes, err)
		}
	}
	if n == probes {
		_, err := b.Allow()
		if oe := wantRejected(false, err); oe.State != breaker.HalfOpen {
			t.Fatalf("rejection with every slot taken says %v", oe.State)
		}
	}
	for _, p := range permits {
		wantState(breaker.HalfOpen)
		p.Done(int(breaker.Success), nil)
	}
	if n == probes {
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
}

var writeSeeds = flag.Bool("writeseeds", false, "TestWriteFuzzSeeds: rewrite the generated seeds in testdata/fuzz")

// TestWriteFuzzSeeds writes the seed corpora of the fuzz targets, when run
// with -writeseeds; run it again after adding a policy kind.
//
// FuzzConfig's seeds are the edge values of each field and, for each policy
// kind, its typical and its zero arguments. FuzzModel's are picked from
// random inputs: each one kept reaches something (a transition, a kind of
// rejection, a late permit) that the ones before it did not, so that
// plain go test replays the paths that matter.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -writeseeds to rewrite testdata/fuzz")
	}
	type configSeed struct {
		name        string
		openTimeout int64
		probes      int
		kind        uint8
		args        policyArgs
		calls       []byte
	}
	trips := []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1} // ten failures
	mixed := []byte{0, 1, 2, 1, 1, 0, 2, 2, 1, 1, 1, 1, 1, 1, 0}
	seeds := map[string]configSeed{
		"zero":                 {},
		"negative-timeout":     {openTimeout: -1},
		"min-timeout":          {openTimeout: 1, calls: trips},
		"max-timeout":          {openTimeout: math.MaxInt64, calls: trips},
		"negative-probes":      {probes: -1},
		"max-probes":           {probes: breaker.MaxHalfOpenProbes},
		"too-many-probes":      {probes: breaker.MaxHalfOpenProbes + 1},
		"odd-name":             {name: "\x00\xff\"db\"\n", openTimeout: int64(time.Second), probes: 1, calls: trips},
		"invalid-field-policy": {openTimeout: -1, kind: 1},
	}
	for i, pk := range policyKinds {
		seeds[pk.name+"-typical"] = configSeed{openTimeout: int64(time.Second), probes: 2, kind: uint8(i), args: pk.typical, calls: mixed}
		seeds[pk.name+"-zero-args"] = configSeed{kind: uint8(i), calls: trips}
		seeds[pk.name+"-negative-args"] = configSeed{kind: uint8(i), args: policyArgs{N: -1, Over: -1, Ratio: -1}}
		seeds[pk.name+"-nan-ratio"] = configSeed{kind: uint8(i), args: policyArgs{N: 1, Over: 1, Ratio: math.NaN()}}
	}
	dir := seedDir(t, "FuzzConfig")
	for name, s := range seeds {
		writeSeed(t, dir, name, s.name, s.openTimeout, s.probes, s.kind, s.args.N, int64(s.args.Over), s.args.Ratio, s.calls)
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
