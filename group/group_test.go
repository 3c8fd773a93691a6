package group_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

var errDown = errors.New("down")

// newGroup returns a group of string-keyed breakers on a mock clock that
// starts at start, each tripping at the first failure, and counts the
// calls of Config.New for keys other than the zero key (which group.New
// tries twice).
func newGroup(t *testing.T, start time.Time, max int, idle time.Duration) (*group.Group[string, int], *clock.Mock, *int) {
	t.Helper()
	clk := epochs.Mock(start)
	built := new(int)
	var mu sync.Mutex
	g, err := group.New(group.Config[string, int]{
		New: func(key string) breaker.Config[int] {
			if key != "" {
				mu.Lock()
				*built++
				mu.Unlock()
			}
			return breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Hour}
		},
		MaxBreakers: max,
		IdleAfter:   idle,
		Clock:       clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g, clk, built
}

func mustGet(t *testing.T, g *group.Group[string, int], key string) *breaker.Breaker[int] {
	t.Helper()
	b, err := g.Get(key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return b
}

func keys(g *group.Group[string, int]) []string {
	var ks []string
	for k := range g.All() {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestGetCreatesLazilyOnePerKey(t *testing.T) {
	g, _, built := newGroup(t, epochs.Today, 0, 0)
	if g.Len() != 0 || *built != 0 {
		t.Fatalf("a new group holds %d breakers, built %d", g.Len(), *built)
	}
	a := mustGet(t, g, "a")
	if mustGet(t, g, "a") != a || *built != 1 {
		t.Fatalf("a second Get built another breaker")
	}
	if a.Name() != "a" {
		t.Fatalf("Name() = %q, want the key", a.Name())
	}
	b := mustGet(t, g, "b")
	// Each key has its own circuit.
	g.Execute(context.Background(), "a", func(context.Context) (int, error) { return 0, errDown })
	if a.State() != breaker.Open || b.State() != breaker.Closed {
		t.Fatalf("a %v, b %v; want a open, b closed", a.State(), b.State())
	}
	if _, err := g.Execute(context.Background(), "a", func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("Execute on an open key: %v", err)
	}
	if got := keys(g); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("All() keys = %v", got)
	}
	var names []string
	for m := range g.Metrics() {
		names = append(names, m.Name+"="+m.State.String())
	}
	slices.Sort(names)
	if want := []string{"a=open", "b=closed"}; !slices.Equal(names, want) {
		t.Fatalf("Metrics() = %v, want %v", names, want)
	}
}

// The group's clock reaches breakers whose Config has none.
func TestGroupClockReachesBreakers(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		g, clk, _ := newGroup(t, start, 0, 0)
		b := mustGet(t, g, "a")
		b.Trip()
		clk.Add(time.Hour)
		if b.State() != breaker.HalfOpen {
			t.Fatalf("state %v an hour after the trip on the group's clock, want half-open", b.State())
		}
	})
}

// Config errors have the shared shape: a *ConfigError naming the field,
// with a Problem, wrapping breaker.ErrInvalidConfig.
func TestInvalidConfig(t *testing.T) {
	fresh := func(string) breaker.Config[int] { return breaker.Config[int]{} }
	for _, tt := range []struct {
		cfg   group.Config[string, int]
		field string
	}{
		{group.Config[string, int]{}, "New"},
		{group.Config[string, int]{New: fresh, MaxBreakers: -1}, "MaxBreakers"},
		{group.Config[string, int]{New: fresh, IdleAfter: -time.Second}, "IdleAfter"},
	} {
		_, err := group.New(tt.cfg)
		var ce *group.ConfigError
		if !errors.Is(err, breaker.ErrInvalidConfig) || !errors.As(err, &ce) || ce.Field != tt.field {
			t.Errorf("New: %v, want a *group.ConfigError for %s wrapping ErrInvalidConfig", err, tt.field)
			continue
		}
		if want := "group: invalid config: " + tt.field + ": " + ce.Problem(); err.Error() != want || ce.Problem() == "" {
			t.Errorf("Error() = %q, want %q", err, want)
		}
	}
}

// A Config.New that returns one captured policy is refused when the group
// is built, not at the second key in production.
func TestNewReturningOnePolicyIsRefusedByNew(t *testing.T) {
	shared := policy.Consecutive(3)
	_, err := group.New(group.Config[int, int]{
		New: func(int) breaker.Config[int] { return breaker.Config[int]{Policy: shared} },
	})
	var ce *group.ConfigError
	if !errors.Is(err, breaker.ErrInvalidConfig) || !errors.As(err, &ce) || ce.Field != "New" {
		t.Fatalf("New = %v, want a ConfigError for New", err)
	}
	// Fresh policies, and the nil default, pass.
	for _, cfg := range []func(int) breaker.Config[int]{
		func(int) breaker.Config[int] { return breaker.Config[int]{Policy: policy.Consecutive(3)} },
		func(int) breaker.Config[int] { return breaker.Config[int]{} },
	} {
		if _, err := group.New(group.Config[int, int]{New: cfg}); err != nil {
			t.Fatalf("New refused fresh policies: %v", err)
		}
	}
}

// A New that shares a policy past the check at New (here, one that builds
// a fresh policy for the zero key only) is caught at the second key: the
// error names the key and the field, and the group keeps only the first
// key's breaker.
func TestNewSharingAPolicyIsRefusedAtTheSecondKey(t *testing.T) {
	shared := policy.Consecutive(3)
	g, err := group.New(group.Config[int, int]{
		New: func(k int) breaker.Config[int] {
			if k == 0 {
				return breaker.Config[int]{Policy: policy.Consecutive(3)}
			}
			return breaker.Config[int]{Policy: shared}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Get(1); err != nil {
		t.Fatal(err)
	}
	_, err = g.Get(2)
	var ce *group.ConfigError
	if !errors.Is(err, breaker.ErrInvalidConfig) || !errors.Is(err, policy.ErrShared) ||
		!errors.As(err, &ce) || ce.Field != "New" || !strings.Contains(err.Error(), "key 2") {
		t.Fatalf("Get(2) = %v, want a ConfigError for New naming key 2", err)
	}
	if g.Len() != 1 {
		t.Fatalf("Len() = %d after a refused breaker", g.Len())
	}
}

// TestNewPanickingOnZeroKeyIsReported: group.New calls Config.New with the
// zero key; a New that panics there used to be accepted silently, and the
// panic came back at the first Get of that key. It is now a ConfigError
// for New that quotes the panic.
func TestNewPanickingOnZeroKeyIsReported(t *testing.T) {
	_, err := group.New(group.Config[string, int]{
		New: func(host string) breaker.Config[int] {
			if host == "" {
				panic("empty host")
			}
			return breaker.Config[int]{}
		},
	})
	var ce *group.ConfigError
	if !errors.As(err, &ce) || ce.Field != "New" || !errors.Is(err, breaker.ErrInvalidConfig) ||
		!strings.Contains(err.Error(), "zero key") || !strings.Contains(err.Error(), "empty host") {
		t.Fatalf("New = %v, want a ConfigError for New that names the zero key and the panic", err)
	}
}

func TestIdleBreakersAreEvicted(t *testing.T) {
	epochs.Run(t, epochs.All(), testIdleBreakersAreEvicted)
}

func testIdleBreakersAreEvicted(t *testing.T, start time.Time) {
	g, clk, _ := newGroup(t, start, 0, time.Minute)
	a := mustGet(t, g, "a")
	b := mustGet(t, g, "b")
	open := mustGet(t, g, "open")
	open.Trip()

	clk.Add(time.Minute)
	mustGet(t, g, "c") // a sweep: everything was used since the group began
	if got := keys(g); !slices.Equal(got, []string{"a", "b", "c", "open"}) {
		t.Fatalf("after the first sweep: %v", got)
	}
	mustGet(t, g, "a")

	clk.Add(59 * time.Second)
	mustGet(t, g, "d") // too early for a sweep
	if g.Len() != 5 {
		t.Fatalf("swept before IdleAfter: %v", keys(g))
	}
	clk.Add(time.Second)
	mustGet(t, g, "e") // a sweep: b went a minute without a Get; open is open
	if got := keys(g); !slices.Equal(got, []string{"a", "c", "d", "e", "open"}) {
		t.Fatalf("after the second sweep: %v", got)
	}
	if mustGet(t, g, "a") != a {
		t.Fatalf("a breaker in use was replaced")
	}
	if mustGet(t, g, "b") == b {
		t.Fatalf("an evicted key got its old breaker back")
	}

	// An open circuit whose timeout passed while nobody called is idle too.
	clk.Add(time.Hour)
	mustGet(t, g, "f")
	clk.Add(time.Minute)
	mustGet(t, g, "g")
	if got := keys(g); !slices.Equal(got, []string{"f", "g"}) {
		t.Fatalf("after an hour: %v", got)
	}
}

func TestFullGroupMakesRoom(t *testing.T) {
	epochs.Run(t, epochs.All(), testFullGroupMakesRoom)
}

func testFullGroupMakesRoom(t *testing.T, start time.Time) {
	g, clk, _ := newGroup(t, start, 8, time.Minute)
	for i := range 8 {
		mustGet(t, g, fmt.Sprint(i))
	}
	// All in use, all closed: room is made among them, down to 7/8.
	mustGet(t, g, "new")
	if g.Len() != 8 {
		t.Fatalf("Len() = %d, want 8 after making room for one", g.Len())
	}

	// The least recently used go first: x and the key used in the new
	// period stay, an older one makes room for y.
	clk.Add(time.Minute)
	mustGet(t, g, "x")
	var recent string
	for k := range g.All() {
		if k != "x" {
			recent = k
			break
		}
	}
	mustGet(t, g, recent)
	mustGet(t, g, "y")
	if ks := keys(g); !slices.Contains(ks, "x") || !slices.Contains(ks, recent) || !slices.Contains(ks, "y") || len(ks) != 8 {
		t.Fatalf("keys %v: want x, %s and y among 8", ks, recent)
	}

	// Open circuits are never evicted, however old.
	for k, b := range g.All() {
		if k != "x" {
			b.Trip()
		}
	}
	mustGet(t, g, "z")
	if ks := keys(g); slices.Contains(ks, "x") || !slices.Contains(ks, "z") {
		t.Fatalf("keys %v: want x evicted for z, the only closed circuit", ks)
	}
	mustGet(t, g, "z").Trip()
	if _, err := g.Get("w"); !errors.Is(err, group.ErrFull) {
		t.Fatalf("Get on a group full of open circuits: %v, want ErrFull", err)
	}
	if g.Len() != 8 {
		t.Fatalf("Len() = %d, want 8", g.Len())
	}
}

func TestGetExistingKeyDoesNotAllocate(t *testing.T) {
	g, _, _ := newGroup(t, epochs.Today, 0, 0)
	mustGet(t, g, "a")
	mustGet(t, g, "a") // published by now
	if n := testing.AllocsPerRun(100, func() { g.Get("a") }); n != 0 {
		t.Fatalf("Get of an existing key allocates %v times", n)
	}
}

func TestConcurrentGets(t *testing.T) {
	const max = 16
	g, _, _ := newGroup(t, epochs.Today, max, time.Minute)
	var wg sync.WaitGroup
	seen := make([]map[string]*breaker.Breaker[int], 4)
	for w := range seen {
		seen[w] = map[string]*breaker.Breaker[int]{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				key := fmt.Sprint(i % 12) // fits: nothing is evicted
				b, err := g.Get(key)
				if err != nil {
					t.Error(err)
					return
				}
				if prev := seen[w][key]; prev != nil && prev != b {
					t.Errorf("key %s changed breaker", key)
					return
				}
				seen[w][key] = b
				if n := g.Len(); n > max {
					t.Errorf("Len() = %d > %d", n, max)
				}
			}
		}()
	}
	wg.Wait()
	for _, s := range seen[1:] {
		for k, b := range s {
			if seen[0][k] != b {
				t.Fatalf("two goroutines got different breakers for %s", k)
			}
		}
	}
	// Many more keys than room: the bound holds.
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				if _, err := g.Get(fmt.Sprint(w, "-", i)); err != nil {
					t.Error(err)
					return
				}
				_ = keys(g)
			}
		}()
	}
	wg.Wait()
	if n := g.Len(); n > max {
		t.Fatalf("Len() = %d > %d", n, max)
	}
}
