package breaker_test

import (
	"errors"
	"iter"
	"slices"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
)

type circuits []breaker.Circuit

func (cs circuits) Circuits() iter.Seq[breaker.Circuit] { return slices.Values(cs) }

func named(t *testing.T, name string) *breaker.Breaker[int] {
	t.Helper()
	b, err := breaker.New(breaker.Config[int]{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The registry lists breakers, then sets, each name once; Add refuses a
// name taken.
func TestRegistry(t *testing.T) {
	var r breaker.Registry
	a, b := named(t, "a"), named(t, "b")
	if err := r.Add(a, b); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(named(t, "a")); !errors.Is(err, breaker.ErrDuplicateName) {
		t.Fatalf("Add of a taken name: %v, want ErrDuplicateName", err)
	}
	if err := r.Add(nil); err == nil {
		t.Fatal("Add(nil) succeeded")
	}
	c := named(t, "c")
	r.AddSet(circuits{c, named(t, "b")})
	var got []string
	cols := r.Each(func(name string, cc breaker.Circuit) { got = append(got, name) })
	if !slices.Equal(got, []string{"a", "b", "c"}) || len(cols) != 1 || cols[0] != (breaker.Collision{Name: "b", Extra: 1}) {
		t.Fatalf("listed %v, collisions %v", got, cols)
	}
	if cc, ok := r.Lookup("c"); !ok || cc != breaker.Circuit(c) {
		t.Fatalf("Lookup(c) = %v, %v", cc, ok)
	}
	if _, ok := r.Lookup("zz"); ok {
		t.Fatal("Lookup of an unknown name found one")
	}
	n := 0
	for range r.Circuits() {
		n++
	}
	if n != 3 {
		t.Fatalf("Circuits listed %d, want 3", n)
	}
}
