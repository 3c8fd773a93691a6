package breaker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

// TestExecuteMisuseNamesItself (issue 19): Execute with a nil fn, a nil
// ctx, on a nil *Breaker or on a zero Breaker{} ended in a raw nil-pointer
// panic inside the breaker; a nil fn was counted as a failure of the
// dependency on its way. Each misuse now panics at once, saying what it
// is, and counts nothing.
func TestExecuteMisuseNamesItself(t *testing.T) {
	ok := func(context.Context) (int, error) { return 1, nil }
	built := func() *breaker.Breaker[int] {
		b, err := breaker.New(breaker.Config[int]{Policy: policy.Consecutive(1)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var nilBreaker *breaker.Breaker[int]
	var nilCtx context.Context // the misuse under test: a nil ctx, held in a variable
	cases := []struct {
		name string
		b    *breaker.Breaker[int]
		call func(b *breaker.Breaker[int])
		want string
	}{
		{"nil breaker", nilBreaker, func(b *breaker.Breaker[int]) { b.Execute(t.Context(), ok) }, "Execute called on a nil *Breaker: check the error breaker.New returned"},
		{"zero breaker", &breaker.Breaker[int]{}, func(b *breaker.Breaker[int]) { b.Execute(t.Context(), ok) }, "Execute called on a zero Breaker: build breakers with breaker.New"},
		{"nil ctx", built(), func(b *breaker.Breaker[int]) { b.Execute(nilCtx, ok) }, "Execute called with a nil context.Context"},
		{"nil fn", built(), func(b *breaker.Breaker[int]) { b.Execute(t.Context(), nil) }, "Execute called with a nil fn"},
		{"nil ctx and fn", built(), func(b *breaker.Breaker[int]) { b.Execute(nilCtx, nil) }, "Execute called with a nil context.Context"},
		{"Allow on nil", nilBreaker, func(b *breaker.Breaker[int]) { b.Allow() }, "Allow called on a nil *Breaker"},
		{"Allow on zero", &breaker.Breaker[int]{}, func(b *breaker.Breaker[int]) { b.Allow() }, "Allow called on a zero Breaker"},
		{"State on nil", nilBreaker, func(b *breaker.Breaker[int]) { b.State() }, "State called on a nil *Breaker"},
		{"Name on zero", &breaker.Breaker[int]{}, func(b *breaker.Breaker[int]) { b.Name() }, "Name called on a zero Breaker"},
		{"Trip on nil", nilBreaker, func(b *breaker.Breaker[int]) { b.Trip() }, "Trip called on a nil *Breaker"},
		{"TripFor on zero", &breaker.Breaker[int]{}, func(b *breaker.Breaker[int]) { b.TripFor(0) }, "TripFor called on a zero Breaker"},
		{"ForceOpen on nil", nilBreaker, func(b *breaker.Breaker[int]) { b.ForceOpen() }, "ForceOpen called on a nil *Breaker"},
		{"Disable on zero", &breaker.Breaker[int]{}, func(b *breaker.Breaker[int]) { b.Disable() }, "Disable called on a zero Breaker"},
		{"Reset on nil", nilBreaker, func(b *breaker.Breaker[int]) { b.Reset() }, "Reset called on a nil *Breaker"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := func() (msg string) {
				defer func() { msg, _ = recover().(string) }()
				c.call(c.b)
				return "no panic"
			}()
			if !strings.HasPrefix(got, "breaker: "+c.want) {
				t.Fatalf("panic %q, want one that starts %q", got, "breaker: "+c.want)
			}
			// Consecutive(1): one failure counted would have opened it.
			if strings.HasPrefix(c.want, "Execute called with") {
				if s := c.b.State(); s != breaker.Closed {
					t.Fatalf("after the misuse the circuit is %v, want closed: it counted a failure", s)
				}
			}
		})
	}
}
