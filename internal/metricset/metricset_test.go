package metricset_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/metricset"
)

func names(s *metricset.Set) []string {
	var ns []string
	for m := range s.All() {
		ns = append(ns, m.Name)
	}
	slices.Sort(ns)
	return ns
}

func TestSet(t *testing.T) {
	var s metricset.Set
	if got := names(&s); len(got) != 0 {
		t.Fatalf("empty set yields %v", got)
	}
	a, _ := breaker.New(breaker.Config[int]{Name: "a"})
	s.Add(a)
	g, _ := group.New(group.Config[string, int]{New: func(string) breaker.Config[int] { return breaker.Config[int]{} }})
	s.AddGroup(g)
	g.Get("g1")
	if got, want := names(&s), []string{"a", "g1"}; !slices.Equal(got, want) {
		t.Fatalf("All() names = %v, want %v", got, want)
	}
	for range s.All() {
		break // stopping early must not panic
	}
	var groupsOnly metricset.Set
	groupsOnly.AddGroup(g)
	groupsOnly.AddGroup(g)
	for range groupsOnly.All() {
		break // nor in a group, with more groups to go
	}

	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				b, _ := breaker.New(breaker.Config[int]{})
				s.Add(b)
				for range s.All() {
				}
			}
		}()
	}
	wg.Wait()
	if n := len(names(&s)); n != 2+4*50 {
		t.Fatalf("%d breakers in the set, want %d", n, 2+4*50)
	}
}
