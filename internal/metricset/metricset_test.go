package metricset_test

import (
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/metricset"
)

func newBreaker(t *testing.T, name string) *breaker.Breaker[int] {
	t.Helper()
	b, err := breaker.New(breaker.Config[int]{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func collect(s *metricset.Set) (names []string, cs []metricset.Collision) {
	cs = s.Collect(func(m breaker.Metrics, _ []breaker.ShadowStatus) { names = append(names, m.Name) })
	slices.Sort(names)
	return names, cs
}

func TestSet(t *testing.T) {
	var s metricset.Set
	if got, cs := collect(&s); len(got) != 0 || cs != nil {
		t.Fatalf("empty set yields %v, %v", got, cs)
	}
	if !s.Add(newBreaker(t, "a")) {
		t.Fatal("Add refused the first breaker")
	}
	g, _ := group.New(group.Config[string, int]{New: func(string) breaker.Config[int] { return breaker.Config[int]{} }})
	s.AddGroup(g)
	g.Get("g1")
	if got, want := names(&s), []string{"a", "g1"}; !slices.Equal(got, want) {
		t.Fatalf("Collect names = %v, want %v", got, want)
	}

	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if !s.Add(newBreaker(t, string(rune('A'+w))+string(rune('0'+i)))) {
					t.Errorf("Add refused a new name")
				}
				collect(&s)
			}
		}()
	}
	wg.Wait()
	if n := len(names(&s)); n != 2+4*50 {
		t.Fatalf("%d breakers in the set, want %d", n, 2+4*50)
	}
}

func names(s *metricset.Set) []string { n, _ := collect(s); return n }

// Every way two breakers can share a name: Add refuses a second breaker,
// Collect reports a name once and counts the rest.
func TestCollisions(t *testing.T) {
	var s metricset.Set
	first := newBreaker(t, "api")
	if !s.Add(first) {
		t.Fatal("Add refused the first breaker")
	}
	if s.Add(newBreaker(t, "api")) {
		t.Fatal("Add accepted a second breaker named api")
	}
	if s.Add(first) {
		t.Fatal("Add accepted the same breaker twice")
	}
	// Names that differ only in invalid UTF-8 are one name once made valid.
	if !s.Add(newBreaker(t, "bad\xff")) || s.Add(newBreaker(t, "bad\xfe")) {
		t.Fatal("Add told apart two names that export as one")
	}

	// A group whose keys hit an added breaker, a group whose New names every
	// breaker alike, and one group added twice.
	hosts, _ := group.New(group.Config[string, int]{New: func(string) breaker.Config[int] { return breaker.Config[int]{} }})
	hosts.Get("api")
	hosts.Get("db")
	fixed, _ := group.New(group.Config[int, int]{New: func(int) breaker.Config[int] { return breaker.Config[int]{Name: "same"} }})
	fixed.Get(1)
	fixed.Get(2)
	fixed.Get(3)
	s.AddGroup(hosts)
	s.AddGroup(fixed)
	s.AddGroup(hosts)

	got, cs := collect(&s)
	if want := []string{"api", "bad\uFFFD", "db", "same"}; !slices.Equal(got, want) {
		t.Fatalf("Collect names = %q, want %q", got, want)
	}
	want := []metricset.Collision{{"api", 2}, {"db", 1}, {"same", 2}}
	if !slices.Equal(cs, want) {
		t.Fatalf("collisions = %v, want %v", cs, want)
	}
}

// Each way a circuit opens is counted under its own name.
func TestOpenCounts(t *testing.T) {
	b := newBreaker(t, "a")
	b.Trip()
	b.ForceOpen()
	got := map[string]uint64{}
	for _, o := range metricset.OpenCounts(b.Metrics()) {
		got[o.Name] = o.N
		if o.Help == "" || o.Unit == "" {
			t.Errorf("%s: no help or unit", o.Name)
		}
	}
	want := map[string]uint64{"trips": 0, "reopens": 0, "manual_opens": 2, "external_opens": 0}
	if !maps.Equal(got, want) {
		t.Fatalf("OpenCounts = %v, want %v", got, want)
	}
}
