package metricset_test

import (
	"iter"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/metricset"
	"github.com/tripwire-go/tripwire/policy"
)

// withShadows is the config of a breaker named name with one candidate per
// name in cands.
func withShadows(name string, cands ...string) breaker.Config[int] {
	cfg := breaker.Config[int]{Name: name}
	for _, c := range cands {
		cfg.Shadows = append(cfg.Shadows, breaker.Shadow{Name: c, Settings: breaker.Settings{Policy: policy.Consecutive(1)}})
	}
	return cfg
}

// candidates collects s and returns, by breaker name, the names of its
// candidates.
func candidates(t *testing.T, s *metricset.Set) (map[string][]string, []metricset.Collision) {
	t.Helper()
	got := map[string][]string{}
	cs := s.Collect(func(m breaker.Metrics, shadows []breaker.ShadowStatus) {
		var names []string
		for _, sh := range shadows {
			names = append(names, sh.Name)
		}
		got[m.Name] = names
	})
	return got, cs
}

// metricsOnly is a Group that gives metrics and no breaker.
type metricsOnly struct{ b *breaker.Breaker[int] }

func (g metricsOnly) Metrics() iter.Seq[breaker.Metrics] {
	return func(yield func(breaker.Metrics) bool) { yield(g.b.Metrics()) }
}

// Collect hands each breaker's candidates with its metrics, whether the
// breaker was added, came from a group or from a registry; a breaker left
// out for its name is left out with its candidates; a group that gives
// only metrics gives no candidates.
func TestCollectShadows(t *testing.T) {
	var s metricset.Set
	added, err := breaker.New(withShadows("added", "quick", "slow"))
	if err != nil {
		t.Fatal(err)
	}
	s.Add(added)
	hosts, err := group.New(group.Config[string, int]{New: func(k string) breaker.Config[int] {
		if k == "added" { // collides with the breaker added: left out
			return withShadows("", "hidden")
		}
		return withShadows("", "quick")
	}})
	if err != nil {
		t.Fatal(err)
	}
	hosts.Get("a")
	hosts.Get("b")
	hosts.Get("added")
	s.AddGroup(hosts)
	var reg breaker.Registry
	viaReg, err := breaker.New(withShadows("registered", "r"))
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Add(viaReg); err != nil {
		t.Fatal(err)
	}
	s.AddGroup(metricset.Registry{R: &reg})
	plain, err := breaker.New(withShadows("plain", "unseen"))
	if err != nil {
		t.Fatal(err)
	}
	s.AddGroup(metricsOnly{plain})

	got, cs := candidates(t, &s)
	want := map[string][]string{
		"added":      {"quick", "slow"},
		"a":          {"quick"},
		"b":          {"quick"},
		"registered": {"r"},
		"plain":      nil,
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("candidates by breaker = %q, want %q", got, want)
	}
	if want := []metricset.Collision{{"added", 1}}; !slices.Equal(cs, want) {
		t.Fatalf("collisions = %v, want %v", cs, want)
	}
}

// shadower is a breaker of one's own that reports what it likes.
type shadower struct{ names []string }

func (s shadower) Metrics() breaker.Metrics { return breaker.Metrics{Name: "own"} }

func (s shadower) Shadows() []breaker.ShadowStatus {
	out := make([]breaker.ShadowStatus, len(s.names))
	for i, n := range s.names {
		out[i] = breaker.ShadowStatus{Name: n}
	}
	return out
}

// A Shadower of one's own cannot make an exporter send more than
// MaxShadows candidates, two of one name, or a name that is not UTF-8.
func TestShadowsBounded(t *testing.T) {
	names := []string{"x\xff", "x\xfe", "a", "a"}
	for i := range 2 * breaker.MaxShadows {
		names = append(names, strings.Repeat("c", i+1))
	}
	got := metricset.Shadows(shadower{names})
	if len(got) != breaker.MaxShadows {
		t.Fatalf("%d candidates, want MaxShadows (%d)", len(got), breaker.MaxShadows)
	}
	var gotNames []string
	for _, st := range got {
		gotNames = append(gotNames, st.Name)
	}
	want := []string{"x\uFFFD", "a", "c", "cc", "ccc", "cccc", "ccccc", "cccccc"}
	if !slices.Equal(gotNames, want) {
		t.Fatalf("names %q, want %q", gotNames, want)
	}
	if metricset.Shadows(newBreaker(t, "none")) != nil || metricset.Shadows(struct{}{}) != nil {
		t.Fatal("candidates of a breaker without any")
	}
}
