package spec

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"pgregory.net/rapid"
)

// roundTrip checks the promise of String: whatever Parse accepts prints in
// a canonical form that Parse reads back to an equal Spec, and printing
// that again changes nothing.
func roundTrip(t interface{ Fatalf(string, ...any) }, text string) {
	s, err := Parse(text)
	if err != nil {
		var se *Error
		if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) || se.Offset < 0 || se.Offset > len(text) {
			t.Fatalf("Parse(%q): error %v is not an *Error within the text", text, err)
		}
		return
	}
	canon := s.String()
	again, err := Parse(canon)
	if err != nil {
		t.Fatalf("Parse(%q) = %q, which Parse refuses: %v", text, canon, err)
	}
	if !again.Equal(s) {
		t.Fatalf("Parse(%q) = %q, read back as a different spec %q", text, canon, again)
	}
	if again.String() != canon {
		t.Fatalf("Parse(%q) = %q, printed again as %q", text, canon, again.String())
	}
	if strings.ContainsAny(strings.ReplaceAll(strings.TrimPrefix(canon, "shadow "), " shadow ", ""), " \t") {
		t.Fatalf("canonical %q has spaces other than around shadow", canon)
	}
}

// FuzzParse: parse, print, parse is the identity on every accepted text,
// and every rejected text gets an *Error that points inside it.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"consecutive(5)",
		"rate(0.3,20,10s)@open=30s,probes=1",
		"any(consecutive(5), slow(1s, 0.5, 20, 10s))@backoff=5m,backoff-factor=3,backoff-jitter=0.1,probe-timeout=off",
		"all(window(3,1m0s),lastn(0.25,20,100))@close-after=2",
		"window(3,1500µs)",
		"Rate(+0.50,020,1h0m0.5s)",
		"@open=1h30m",
		"lastn(1e-3,1,1)",
		"rate(0x1p-2,5,1ns)",
		"consecutive(5)@open=60s shadow rate(0.3,20,10s)@open=30s shadow lastn(0.5,10,20)",
		"shadow consecutive(2)",
		"@open=1m SHADOW @open=30s,probes=1",
		"consecutive(5)shadow rate(0.3,20,10s)@open=30s,probes=1",
		"rate(0.3,20,10s) shadow shadow(1)",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) { roundTrip(t, text) })
}

// Every spec the language can write, drawn from its tables, round-trips,
// and builds a breaker.
func TestRoundTripGenerated(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		text := genSpec(t)
		seen := map[string]bool{}
		for range rapid.IntRange(0, 3).Draw(t, "shadows") {
			sh := genSpec(t)
			if p, err := Parse(sh); err != nil || seen[p.String()] {
				continue
			} else {
				seen[p.String()] = true
			}
			text += " shadow " + sh
		}
		s, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		roundTrip(t, text)
		// What Parse accepts, breaker.New does: the settings that Parse
		// leaves to defaults aside (a backoff below the default open).
		defaulted := s.Backoff != nil && s.OpenTimeout == 0
		for _, sh := range s.Shadows {
			defaulted = defaulted || sh.Backoff != nil && sh.OpenTimeout == 0
		}
		if !defaulted {
			if _, err := breaker.New(Config[int](s)); err != nil {
				t.Fatalf("Parse(%q) accepted what breaker.New refuses: %v", text, err)
			}
		}
		// Spaces between the parts change nothing.
		spaced := strings.NewReplacer(",", " , ", "(", " ( ", ")", " ) ", "@", " @ ", "=", " = ", " shadow ", "\tshadow  ").Replace(text)
		if sp, err := Parse(spaced); err != nil || !sp.Equal(s) {
			t.Fatalf("Parse(%q) = %q, %v; want %q", spaced, sp, err, s)
		}
	})
}

func genSpec(t *rapid.T) string {
	var b strings.Builder
	if rapid.IntRange(0, 9).Draw(t, "policy") > 0 {
		b.WriteString(genPolicy(t, 0))
	}
	var kv []string
	open := time.Duration(0)
	if rapid.Bool().Draw(t, "open") {
		open = genDuration(t, "open=")
		kv = append(kv, "open="+open.String())
	}
	if rapid.Bool().Draw(t, "probes") {
		kv = append(kv, "probes="+strconv.Itoa(rapid.IntRange(1, 65535).Draw(t, "probes=")))
	}
	if rapid.Bool().Draw(t, "close-after") {
		kv = append(kv, "close-after="+strconv.Itoa(rapid.IntRange(1, 65535).Draw(t, "close-after=")))
	}
	if rapid.Bool().Draw(t, "backoff") {
		kv = append(kv, "backoff="+(open+genDuration(t, "backoff=")).String())
		if rapid.Bool().Draw(t, "factor") {
			kv = append(kv, "backoff-factor="+formatFloat(rapid.Float64Range(1, 1000).Draw(t, "factor=")))
		}
		if rapid.Bool().Draw(t, "jitter") {
			kv = append(kv, "backoff-jitter="+formatFloat(rapid.Float64Range(0, 0.999).Draw(t, "jitter=")))
		}
	}
	if rapid.Bool().Draw(t, "probe-timeout") {
		if rapid.Bool().Draw(t, "off") {
			kv = append(kv, "probe-timeout=off")
		} else {
			kv = append(kv, "probe-timeout="+genDuration(t, "probe-timeout=").String())
		}
	}
	if b.Len() == 0 && len(kv) == 0 {
		kv = append(kv, "open=1s")
	}
	if len(kv) > 0 {
		order := rapid.Permutation(kv).Draw(t, "order")
		b.WriteString("@" + strings.Join(order, ","))
	}
	return b.String()
}

func genPolicy(t *rapid.T, depth int) string {
	names := []string{"consecutive", "window", "rate", "lastn", "slow"}
	if depth < 2 {
		names = append(names, "any", "all")
	}
	name := rapid.SampledFrom(names).Draw(t, "name")
	if rapid.Bool().Draw(t, "upper") {
		name = strings.ToUpper(name)
	}
	if _, ok := combinators[strings.ToLower(name)]; ok {
		kids := make([]string, rapid.IntRange(1, 3).Draw(t, "kids"))
		for i := range kids {
			kids[i] = genPolicy(t, depth+1)
		}
		return name + "(" + strings.Join(kids, ",") + ")"
	}
	fam := families[strings.ToLower(name)]
	args := make([]string, len(fam.params))
	var ints []int
	var durs []time.Duration
	for i, prm := range fam.params {
		switch prm.kind {
		case argCount:
			n := rapid.IntRange(1, 1000).Draw(t, prm.name)
			ints = append(ints, n)
			args[i] = strconv.Itoa(n)
		case argRatio:
			args[i] = formatFloat(rapid.Float64Range(1e-9, 1).Draw(t, prm.name))
		case argDuration:
			d := genDuration(t, prm.name)
			durs = append(durs, d)
			args[i] = d.String()
		}
	}
	// The checks across arguments: LastN's minCalls at most n, Slow's
	// threshold at most over.
	switch fam.goName {
	case "LastN":
		if ints[0] > ints[1] {
			args[1], args[2] = args[2], args[1]
		}
	case "Slow":
		if durs[0] > durs[1] {
			args[0], args[3] = args[3], args[0]
		}
	}
	return name + "(" + strings.Join(args, ",") + ")"
}

func genDuration(t *rapid.T, label string) time.Duration {
	unit := rapid.SampledFrom([]time.Duration{1, time.Microsecond, time.Millisecond, time.Second, time.Minute, time.Hour}).Draw(t, label+"unit")
	return time.Duration(rapid.Int64Range(1, 5000).Draw(t, label)) * unit
}
