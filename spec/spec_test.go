package spec

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// Specs read as the Go constructors do and print back in one canonical
// form, whatever the spacing, case and spelling of their numbers and
// durations.
func TestParseCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"consecutive(5)", "consecutive(5)"},
		{" Rate( 0.30 , +20 , 10000ms )  ", "rate(0.3,20,10s)"},
		{"rate(0.3,20,10s)@open=30s,probes=1", "rate(0.3,20,10s)@open=30s,probes=1"},
		{"window(3, 1m0s)", "window(3,1m)"},
		{"window(3, 1h0m0s)", "window(3,1h)"},
		{"window(3, 90m)", "window(3,1h30m)"},
		{"window(3, 1500µs)", "window(3,1.5ms)"},
		{"window(3, 2us)", "window(3,2us)"},
		{"window(3, 2μs)", "window(3,2us)"},
		{"lastn(1e-1, 20, 100)", "lastn(0.1,20,100)"},
		{"slow(1s,0.5,20,10s)", "slow(1s,0.5,20,10s)"},
		{"ANY(consecutive(5), slow(1s, 0.5, 20, 10s))", "any(consecutive(5),slow(1s,0.5,20,10s))"},
		{"all(window(3,1s),any(rate(0.5,10,1m),consecutive(2)))", "all(window(3,1s),any(rate(0.5,10,1m),consecutive(2)))"},
		// Settings in any order print in the table's order.
		{"consecutive(5)@probe-timeout=off,backoff-jitter=0.1,backoff-factor=3,backoff=5m,close-after=2,probes=1,open=30s",
			"consecutive(5)@open=30s,probes=1,close-after=2,backoff=5m,backoff-factor=3,backoff-jitter=0.1,probe-timeout=off"},
		{"consecutive(5) @ open = 30s , probes = 1", "consecutive(5)@open=30s,probes=1"},
		{"\tconsecutive(\t5)\t@open=30s\t", "consecutive(5)@open=30s"},
		{"consecutive(5)@probe-timeout=2s", "consecutive(5)@probe-timeout=2s"},
		{"@open=90s", "@open=1m30s"},
	} {
		s, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := s.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
		again, err := Parse(s.String())
		if err != nil || !again.Equal(s) || again.String() != s.String() {
			t.Errorf("%q: read back as %q, %v", s, again, err)
		}
	}
}

// Every argument and setting is read into the field of the same meaning.
func TestParseFields(t *testing.T) {
	s, err := Parse("slow(2s,0.5,20,10s)@open=30s,probes=4,close-after=2,backoff=5m,backoff-factor=3,backoff-jitter=0.25,probe-timeout=off")
	if err != nil {
		t.Fatal(err)
	}
	if s.OpenTimeout != 30*time.Second || s.HalfOpenProbes != 4 || s.CloseAfter != 2 || s.ProbeTimeout != breaker.NoProbeTimeout ||
		s.Backoff == nil || s.Backoff.Max != 5*time.Minute || s.Backoff.Factor != 3 || s.Backoff.Jitter != 0.25 {
		t.Errorf("settings %+v, backoff %+v", s, s.Backoff)
	}
	if s.Policy.Name() != "slow" || s.Policy.IsZero() || !(Expr{}).IsZero() {
		t.Errorf("Policy %q", s.Policy.Name())
	}
	if got := s.Policy.New().(interface{ String() string }).String(); got != policy.Slow(2*time.Second, 0.5, 20, 10*time.Second).String() {
		t.Errorf("policy %s", got)
	}
	if got := s.Policy.GoCode(); got != "policy.Slow(2 * time.Second, 0.5, 20, 10 * time.Second)" {
		t.Errorf("GoCode %s", got)
	}
}

// Every error points at the offending character, names the argument or
// setting at fault, and says what is wrong, plainly.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		spec, caret, field, problem string
	}{
		{"", "^", "", "empty"},
		{"   ", "   ^", "", "empty"},
		// Each argument of each policy, by name.
		{"consecutive(0)", "            ^", "Consecutive.failures", "must be at least 1, got 0"},
		{"consecutive(2.5)", "            ^", "Consecutive.failures", `"2.5" is not a whole number`},
		{"consecutive(99999999999999999999)", "            ^", "Consecutive.failures", "too large"},
		{"consecutive()", "            ^", "Consecutive.failures", "missing: consecutive takes 1 arguments (failures)"},
		{"window(0,1s)", "       ^", "Window.failures", "must be at least 1"},
		{"window(5,10)", "         ^", "Window.over", `"10" needs a unit`},
		{"window(5,soon)", "         ^", "Window.over", `"soon" is not a duration`},
		{"window(5,-1s)", "         ^", "Window.over", "must be positive, got -1s"},
		{"window(5)", "        ^", "Window.over", "missing"},
		{"rate(1.5,20,10s)", "     ^", "Rate.ratio", "must be a fraction in (0, 1], got 1.5"},
		{"rate(0,20,10s)", "     ^", "Rate.ratio", "must be a fraction in (0, 1], got 0"},
		{"rate(NaN,20,10s)", "     ^", "Rate.ratio", "must be a fraction in (0, 1], got NaN"},
		{"rate(half,20,10s)", "     ^", "Rate.ratio", `"half" is not a number`},
		{"rate(0.5,0,10s)", "         ^", "Rate.minCalls", "must be at least 1"},
		{"rate(0.5,20,0s)", "            ^", "Rate.over", "must be positive"},
		{"rate(0.5,10,1s,4)", "              ^", "", "rate takes 3 arguments (ratio, minCalls, over), not more"},
		{"lastn(2,20,100)", "      ^", "LastN.ratio", "must be a fraction"},
		{"lastn(0.5,0,100)", "          ^", "LastN.minCalls", "must be at least 1"},
		{"lastn(0.5,200,100)", "          ^", "LastN.minCalls", "must be at most n (100), got 200"},
		{"lastn(0.5,20,0)", "             ^", "LastN.n", "must be at least 1"},
		{"lastn(0.5,20,100000000)", "             ^", "LastN.n", "must be at most MaxLastN"},
		{"slow(0s,0.5,20,10s)", "     ^", "Slow.threshold", "must be positive"},
		{"slow(1m,0.5,20,10s)", "     ^", "Slow.threshold", "must be at most over (10s)"},
		{"slow(1s,5,20,10s)", "        ^", "Slow.ratio", "must be a fraction"},
		{"slow(1s,0.5,x,10s)", "            ^", "Slow.minCalls", "not a whole number"},
		{"slow(1s,0.5,20,10)", "               ^", "Slow.over", "needs a unit"},
		// Syntax.
		{"magic(3)", "^", "", `unknown policy "magic"`},
		{"consecutive", "           ^", "", "needs its arguments in parentheses"},
		{"rate", "    ^", "", "needs its arguments in parentheses"},
		{"consecutive(5", "             ^", "", `expected ')' after failures`},
		{"consecutive(5;3)", "            ^", "Consecutive.failures", `"5;3" is not a whole number`},
		{"consecutive(5) rate", "               ^", "", `expected the end of the spec, got "r"`},
		{"consecutive(5),rate(0.5,10,1s)", "              ^", "", `expected the end of the spec, got ","`},
		{"any(consecutive(5) slow(1s,0.5,20,10s))", "                   ^", "", "expected ',' or ')' in any(...), opened at column 4"},
		{"any()", "    ^", "", "expected a policy"},
		{"any(consecutive(5),", "                   ^", "", "expected a policy, such as consecutive(5), at the end"},
		{"all(rate)", "        ^", "", "needs its arguments in parentheses"},
		{"(5)", "^", "", "expected a policy"},
		{"ünknown(5)", "^", "", "expected a policy"},
		// Settings.
		{"consecutive(5)@", "               ^", "", "expected a setting"},
		{"consecutive(5)@open", "                   ^", "@open", "expected '=' and a value"},
		{"consecutive(5)@open=", "                    ^", "@open", "missing value"},
		{"consecutive(5)@open=-3s", "                    ^", "@open", "must be positive"},
		{"consecutive(5)@open=30", "                    ^", "@open", "needs a unit"},
		{"consecutive(5)@probes=0", "                      ^", "@probes", "must be between 1 and 65535, got 0"},
		{"consecutive(5)@probes=65536", "                      ^", "@probes", "must be between 1 and 65535, got 65536"},
		{"consecutive(5)@probes=two", "                      ^", "@probes", `"two" is not a whole number`},
		{"consecutive(5)@close-after=0", "                           ^", "@close-after", "must be between 1 and 65535, got 0"},
		{"consecutive(5)@colour=red", "               ^", "@colour", "unknown setting; the settings are open, probes, close-after, backoff, backoff-factor, backoff-jitter, probe-timeout"},
		{"consecutive(5)@Open=1s", "               ^", "@Open", "unknown setting"},
		{"consecutive(5)@open=1s,open=2s", "                       ^", "@open", "set twice"},
		{"consecutive(5)@open=10s,backoff=5s", "                                ^", "@backoff", "must be at least OpenTimeout (open=10s)"},
		{"consecutive(5)@backoff=5m,open=10m", "                       ^", "@backoff", "must be at least OpenTimeout (open=10m)"},
		{"consecutive(5)@backoff-factor=3", "              ^", "@backoff", "need backoff=MAX"},
		{"consecutive(5)@backoff=1m,backoff-factor=0.5", "                                         ^", "@backoff-factor", "must be a number from 1 to 1000, got 0.5"},
		{"consecutive(5)@backoff=1m,backoff-factor=Inf", "                                         ^", "@backoff-factor", "must be a number from 1 to 1000"},
		{"consecutive(5)@backoff=1m,backoff-jitter=1", "                                         ^", "@backoff-jitter", "must be a fraction in [0, 1), got 1"},
		{"consecutive(5)@backoff=1m,backoff-jitter=x", "                                         ^", "@backoff-jitter", `"x" is not a number`},
		{"consecutive(5)@probe-timeout=0s", "                             ^", "@probe-timeout", "must be positive"},
		{"consecutive(5)@open=1s,", "                      ^", "", "expected the end of the spec"},
		{"consecutive(5)@open=1s@probes=2", "                      ^", "", `expected the end of the spec, got "@"`},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := Parse(tc.spec)
			var se *Error
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want a *Error", err)
			}
			if got := strings.Split(se.Caret(), "\n")[1]; got != tc.caret {
				t.Errorf("caret\n%s\n%s\nwant\n%s", tc.spec, got, tc.caret)
			}
			if se.Field != tc.field || !strings.Contains(se.Problem(), tc.problem) {
				t.Errorf("Field %q Problem %q, want %q and %q", se.Field, se.Problem(), tc.field, tc.problem)
			}
			want := "spec: column " + strconv.Itoa(se.Column()) + ": "
			if tc.field != "" {
				want += tc.field + ": "
			}
			if !strings.HasPrefix(err.Error(), want+se.Problem()) {
				t.Errorf("Error() = %q, want it to start %q", err, want)
			}
		})
	}
}

// Combinators nest at most MaxDepth deep, so that no input can exhaust the
// stack.
func TestParseDepth(t *testing.T) {
	nest := func(n int) string {
		return strings.Repeat("any(", n) + "consecutive(5)" + strings.Repeat(")", n)
	}
	if _, err := Parse(nest(MaxDepth)); err != nil {
		t.Fatal(err)
	}
	_, err := Parse(nest(MaxDepth + 1))
	var se *Error
	if !errors.As(err, &se) || se.Offset != 4*MaxDepth || se.Problem() != "any(...) nested more than 32 deep" {
		t.Errorf("err = %v", err)
	}
	if _, err := Parse(nest(1_000_000)); !errors.As(err, &se) {
		t.Errorf("err = %v", err)
	}
}

// Columns count characters, not bytes, so that the caret stands under
// the mistake after a non-ASCII character.
func TestErrorColumnCountsCharacters(t *testing.T) {
	_, err := Parse("window(3,1µs)@open=x")
	var se *Error
	if !errors.As(err, &se) || se.Column() != 20 || se.Offset != 20 {
		t.Fatalf("err = %v (offset %d)", err, se.Offset)
	}
}

// A list separates specs with ',' and a ',' followed by "key=" continues
// the settings; a name given to ParseList stands for the caller's own
// configuration and may take settings.
func TestParseList(t *testing.T) {
	items, err := ParseList("consecutive(10), rate@open=3s,probes=2 ,all(window(3,1s), rate(0.5,10,1m))@probes=1,rate", []string{"rate"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.Ref+"|"+it.Spec.String()+"|"+it.Text+"|"+strconv.Itoa(it.Offset))
	}
	want := []string{
		"|consecutive(10)|consecutive(10)|0",
		"rate|@open=3s,probes=2|rate@open=3s,probes=2|17",
		"|all(window(3,1s),rate(0.5,10,1m))@probes=1|all(window(3,1s), rate(0.5,10,1m))@probes=1|40",
		"rate||rate|84",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, tc := range []struct{ list, caret, problem string }{
		{"consecutive(5) rate(0.5,10,1s)", "               ^", "expected ',' between specs"},
		{"consecutive(5),", "               ^", "at the end"},
		{"consecutive(5),rat", "               ^", `unknown policy "rat": write consecutive(N), window(N,over), rate(ratio,minCalls,over), lastn(ratio,minCalls,n), slow(threshold,ratio,minCalls,over), throttle(k,over), any(p,...), all(p,...), or a name: rate`},
		{"any(rate,consecutive(2))", "        ^", "rate needs its arguments in parentheses"},
	} {
		_, err := ParseList(tc.list, []string{"rate"})
		var se *Error
		if !errors.As(err, &se) || strings.Split(se.Caret(), "\n")[1] != tc.caret || se.Problem() != tc.problem && !strings.Contains(se.Problem(), tc.problem) {
			t.Errorf("ParseList(%q) = %v; want %q at\n%s", tc.list, err, tc.problem, tc.caret)
		}
	}
}

// Config builds a breaker.Config of any type, with a fresh policy each
// time and its own copy of the Backoff, that breaker.New accepts.
func TestConfig(t *testing.T) {
	s, err := Parse("rate(0.3,20,10s)@open=30s,probes=2,close-after=4,backoff=5m,probe-timeout=off")
	if err != nil {
		t.Fatal(err)
	}
	a, b := Config[string](s), Config[string](s)
	if a.Policy == b.Policy || a.Backoff == s.Backoff || a.Backoff == b.Backoff {
		t.Error("two Configs share a policy or a Backoff")
	}
	if a.OpenTimeout != 30*time.Second || a.HalfOpenProbes != 2 || a.CloseAfter != 4 || a.ProbeTimeout != breaker.NoProbeTimeout || a.Backoff.Max != 5*time.Minute {
		t.Errorf("config %+v", a)
	}
	for _, cfg := range []breaker.Config[string]{a, b} {
		if _, err := breaker.New(cfg); err != nil {
			t.Fatal(err)
		}
	}
	// No policy: the breaker's default.
	s, _ = Parse("@open=30s")
	if cfg := Config[int](s); cfg.Policy != nil || cfg.OpenTimeout != 30*time.Second {
		t.Errorf("config %+v", cfg)
	}
	if _, err := breaker.New(Config[int](s)); err != nil {
		t.Fatal(err)
	}
}

// A Spec is a flag.Value: flag.Var reads it, a bad value is the flag's
// error with the column, and the default prints in canonical form.
func TestFlag(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s, _ := Parse("consecutive(5)")
	fs.Var(&s, "breaker", "breaker `spec`")
	if err := fs.Parse([]string{"-breaker", "rate(0.3, 20, 10s)@open=30s"}); err != nil {
		t.Fatal(err)
	}
	if s.String() != "rate(0.3,20,10s)@open=30s" {
		t.Errorf("flag read %q", s)
	}
	err := fs.Parse([]string{"-breaker", "rate(1.5,20,10s)"})
	if err == nil || !strings.Contains(err.Error(), "spec: column 6: Rate.ratio: must be a fraction in (0, 1], got 1.5") {
		t.Errorf("bad flag: %v", err)
	}
	if s.String() != "rate(0.3,20,10s)@open=30s" {
		t.Errorf("a bad value changed the flag: %q", s)
	}
	if err := s.Set(""); !errors.Is(err, ErrInvalid) {
		t.Errorf("Set(\"\") = %v", err)
	}
}

// A Spec is a string in a config file: it marshals to its canonical text
// and unmarshals from any text Parse reads; the zero Spec makes the round
// trip too, and a bad spec is an *Error.
func TestText(t *testing.T) {
	type file struct {
		Payments Spec `json:"payments"`
		Search   Spec `json:"search"`
	}
	var f file
	if err := json.Unmarshal([]byte(`{"payments": "rate(0.3, 20, 10s) @ open=30s", "search": ""}`), &f); err != nil {
		t.Fatal(err)
	}
	if f.Payments.String() != "rate(0.3,20,10s)@open=30s" || !f.Search.Equal(Spec{}) {
		t.Errorf("read %+v", f)
	}
	out, err := json.Marshal(f)
	if err != nil || string(out) != `{"payments":"rate(0.3,20,10s)@open=30s","search":""}` {
		t.Errorf("wrote %s, %v", out, err)
	}
	var back file
	if err := json.Unmarshal(out, &back); err != nil || !back.Payments.Equal(f.Payments) || !back.Search.Equal(f.Search) {
		t.Errorf("read back %+v, %v", back, err)
	}
	err = json.Unmarshal([]byte(`{"payments": "rate(0.3,20,10)"}`), &back)
	var se *Error
	if !errors.As(err, &se) || se.Field != "Rate.over" || se.Column() != 13 {
		t.Errorf("bad spec in a file: %v", err)
	}
}

// SetSetting sets one setting by its key, as a per-setting flag would,
// and leaves a Backoff it copied from another Spec unchanged.
func TestSetSetting(t *testing.T) {
	var s Spec
	for _, kv := range [][2]string{{"open", "30s"}, {"probes", "2"}, {"backoff", "5m"}, {"backoff-factor", "3"}, {"probe-timeout", "off"}} {
		if err := s.SetSetting(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if s.String() != "@open=30s,probes=2,backoff=5m,backoff-factor=3,probe-timeout=off" {
		t.Errorf("got %s", s)
	}
	copied := s
	if err := copied.SetSetting("backoff-jitter", "0.5"); err != nil {
		t.Fatal(err)
	}
	if s.Backoff.Jitter != 0 || copied.Backoff.Jitter != 0.5 {
		t.Error("SetSetting changed the Backoff of another Spec")
	}
	for _, kv := range [][3]string{
		{"colour", "red", "spec: column 1: @colour: unknown setting; the settings are open, probes"},
		{"open", "-1s", "spec: column 1: @open: must be positive, got -1s"},
		{"probes", "x", `spec: column 1: @probes: "x" is not a whole number`},
	} {
		err := s.SetSetting(kv[0], kv[1])
		if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), kv[2]) {
			t.Errorf("SetSetting(%q, %q) = %v, want %q", kv[0], kv[1], err, kv[2])
		}
	}
}

// Equal compares every part of two Specs.
func TestEqual(t *testing.T) {
	base, _ := Parse("any(consecutive(5),rate(0.3,20,10s))@open=30s,backoff=5m")
	for _, other := range []string{
		"any(consecutive(6),rate(0.3,20,10s))@open=30s,backoff=5m",
		"all(consecutive(5),rate(0.3,20,10s))@open=30s,backoff=5m",
		"any(consecutive(5))@open=30s,backoff=5m",
		"any(consecutive(5),rate(0.3,20,10s))@open=31s,backoff=5m",
		"any(consecutive(5),rate(0.3,20,10s))@open=30s",
		"any(consecutive(5),rate(0.3,20,10s))@open=30s,backoff=6m",
		"any(consecutive(5),rate(0.3,20,10s))@open=30s,backoff=5m,probes=1",
		"@open=30s,backoff=5m",
	} {
		s, err := Parse(other)
		if err != nil {
			t.Fatal(err)
		}
		if s.Equal(base) || base.Equal(s) {
			t.Errorf("%s equals %s", s, base)
		}
	}
	same, _ := Parse("ANY(consecutive(5), rate(0.30,20,10000ms)) @ backoff=5m, open=30s")
	if !same.Equal(base) {
		t.Errorf("%s differs from %s", same, base)
	}
}

// A setting a spec leaves out is checked with its default by breaker.New,
// not by Parse: a backoff below the default open timeout parses, and the
// breaker refuses it, naming the field.
func TestDefaultsCheckedByNew(t *testing.T) {
	s, err := Parse("consecutive(5)@backoff=30s")
	if err != nil {
		t.Fatal(err)
	}
	_, err = breaker.New(Config[int](s))
	var ce *breaker.ConfigError
	if !errors.As(err, &ce) || ce.Field != "Backoff.Max" {
		t.Errorf("breaker.New: %v", err)
	}
}

// docsTable returns the rows of the table in docs/spec.md under heading,
// each cell without its backquotes.
func docsTable(t *testing.T, heading string) [][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "spec.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("docs/spec.md: no %q", heading)
	}
	var rows [][]string
	for line := range strings.Lines(section) {
		if strings.HasPrefix(line, "#") {
			break
		}
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), " | ")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
			cells[i] = strings.TrimSuffix(strings.TrimPrefix(cells[i], "`"), "`")
		}
		rows = append(rows, cells)
	}
	if len(rows) < 5 {
		t.Fatalf("docs/spec.md: only %d rows under %q", len(rows), heading)
	}
	return rows
}

// The canonical forms docs/spec.md shows are what String prints.
func TestDocsCanonical(t *testing.T) {
	for _, row := range docsTable(t, "## The canonical form") {
		s, err := Parse(row[0])
		if err != nil || s.String() != row[1] {
			t.Errorf("docs/spec.md: %s prints as %s; Parse gives %q, %v", row[0], row[1], s, err)
		}
	}
}

// The errors docs/spec.md shows are what Parse returns.
func TestDocsErrors(t *testing.T) {
	for _, row := range docsTable(t, "## Errors") {
		if _, err := Parse(row[0]); err == nil || err.Error() != row[1] {
			t.Errorf("docs/spec.md: %s gives\n%s\nbut Parse gives\n%v", row[0], row[1], err)
		}
	}
}

// The settings docs/spec.md lists are the language's, in String's order.
func TestDocsSettings(t *testing.T) {
	rows := docsTable(t, "### Settings")
	if len(rows) != len(settings) {
		t.Fatalf("docs/spec.md lists %d settings, the language has %d", len(rows), len(settings))
	}
	for i, row := range rows {
		key, _, _ := strings.Cut(row[0], "=")
		if key != settings[i].key || row[1] != settings[i].field {
			t.Errorf("docs/spec.md row %d: %s for %s; the language has %s for %s", i+1, key, row[1], settings[i].key, settings[i].field)
		}
		var s Spec
		if i >= 4 { // backoff-factor, -jitter and -forget need backoff
			s.Backoff = &breaker.Backoff{Max: time.Hour}
		}
		if err := s.SetSetting(key, strings.TrimPrefix(row[0], key+"=")); err != nil {
			t.Errorf("docs/spec.md's example %s: %v", row[0], err)
		}
	}
}

// The policies docs/spec.md lists are the language's, with their
// arguments' names.
func TestDocsPolicies(t *testing.T) {
	rows := docsTable(t, "### Policies")
	if len(rows) != len(families)+len(combinators) {
		t.Fatalf("docs/spec.md lists %d policies, the language has %d", len(rows), len(families)+len(combinators))
	}
	for _, row := range rows {
		name, args, _ := strings.Cut(strings.TrimSuffix(row[0], ")"), "(")
		if c, ok := combinators[name]; ok {
			if row[1] != "policy."+c.goName || args != "p,..." {
				t.Errorf("docs/spec.md: %s, %s", row[0], row[1])
			}
			continue
		}
		f := families[name]
		if f == nil {
			t.Errorf("docs/spec.md lists %s, which the language does not have", row[0])
			continue
		}
		var want []string
		for _, p := range f.params {
			want = append(want, p.name)
		}
		if row[1] != "policy."+f.goName || args != strings.Join(want, ",") {
			t.Errorf("docs/spec.md: %s, %s; the language has %s(%s)", row[0], row[1], f.goName, strings.Join(want, ","))
		}
	}
}
