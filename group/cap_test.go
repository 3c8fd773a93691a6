package group_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// newCapped returns a group on a mock clock whose breakers trip at the
// first failure, with the cap given.
func newCapped(t *testing.T, share float64, keepOne bool) *group.Group[string, int] {
	t.Helper()
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Minute}
		},
		MaxOpenShare:  share,
		KeepOneClosed: keepOne,
		Clock:         epochs.Mock(epochs.Today),
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func fail(g *group.Group[string, int], key string) error {
	_, err := g.Execute(context.Background(), key, func(context.Context) (int, error) { return 0, errDown })
	return err
}

func openKeys(g *group.Group[string, int]) (n int) {
	for m := range g.Metrics() {
		if m.State != breaker.Closed {
			n++
		}
	}
	return n
}

func TestCapKeepsPolicyTripsUnderTheShare(t *testing.T) {
	g := newCapped(t, 0.3, false)
	for i := range 10 {
		mustGet(t, g, fmt.Sprint("h", i))
	}
	for i := range 10 {
		fail(g, fmt.Sprint("h", i))
	}
	if n := openKeys(g); n != 3 {
		t.Fatalf("%d keys open, want 3 (30%% of 10)", n)
	}
	kept := g.KeptClosed()
	if len(kept) != 7 {
		t.Fatalf("KeptClosed lists %d keys, want 7: %+v", len(kept), kept)
	}
	for _, k := range kept {
		if k.By != "policy" || k.Limit != 3 || k.Keys != 10 || k.Open != 3 {
			t.Errorf("kept %+v: want By policy, Open 3, Keys 10, Limit 3", k)
		}
		if st := mustGet(t, g, k.Key).State(); st != breaker.Closed {
			t.Errorf("%s kept closed is %v", k.Key, st)
		}
	}
	// A kept key's calls still run.
	ran := false
	g.Execute(context.Background(), kept[0].Key, func(context.Context) (int, error) { ran = true; return 0, nil })
	if !ran {
		t.Fatal("a key kept closed rejected a call")
	}
	// Once an open key closes, the next failure of a kept key opens it.
	for m := range g.Metrics() {
		if m.State == breaker.Open {
			mustGet(t, g, m.Name).Reset()
			break
		}
	}
	fail(g, kept[1].Key)
	if st := mustGet(t, g, kept[1].Key).State(); st != breaker.Open {
		t.Fatalf("after a place freed, %s is %v, want open", kept[1].Key, st)
	}
	if n := openKeys(g); n != 3 {
		t.Fatalf("%d keys open, want 3", n)
	}
	if open, limit := g.OpenLimit(); open != 3 || limit != 3 {
		t.Fatalf("OpenLimit = %d, %d; want 3, 3", open, limit)
	}
}

func TestCapAtLeastOneKeyMayOpen(t *testing.T) {
	g := newCapped(t, 0.1, false)
	for i := range 5 {
		fail(g, fmt.Sprint("h", i))
	}
	if n := openKeys(g); n != 1 {
		t.Fatalf("%d keys open, want 1: a share lets one key open whatever the size", n)
	}
}

func TestKeepOneClosed(t *testing.T) {
	g := newCapped(t, 0, true)
	for i := range 4 {
		fail(g, fmt.Sprint("h", i))
	}
	if n := openKeys(g); n != 3 {
		t.Fatalf("%d of 4 keys open, want 3", n)
	}
	one := newCapped(t, 0, true)
	fail(one, "only")
	fail(one, "only")
	if st := mustGet(t, one, "only").State(); st != breaker.Closed {
		t.Fatalf("the one key of a KeepOneClosed group is %v", st)
	}
}

// Trip, ForceOpen and an adopted open happen inside the breaker: the group
// closes the key again before the call returns, and says so.
func TestCapUndoesManualAndExternalOpens(t *testing.T) {
	g := newCapped(t, 0.5, false)
	for i := range 4 {
		mustGet(t, g, fmt.Sprint("h", i))
	}
	mustGet(t, g, "h0").Trip()
	mustGet(t, g, "h1").ForceOpen()
	mustGet(t, g, "h2").ForceOpen()
	mustGet(t, g, "h3").Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: time.Minute})
	if n := openKeys(g); n != 2 {
		t.Fatalf("%d keys open, want 2", n)
	}
	for _, k := range []string{"h2", "h3"} {
		if st := mustGet(t, g, k).State(); st != breaker.Closed {
			t.Errorf("%s is %v, want closed", k, st)
		}
	}
	by := map[string]string{}
	for _, k := range g.KeptClosed() {
		by[k.Key] = k.By
	}
	if by["h2"] != "manual" || by["h3"] != "external" || len(by) != 2 {
		t.Fatalf("KeptClosed: %v", by)
	}
	// The closing transition says the cap kept the key closed, and why.
	ts := mustGet(t, g, "h3").Transitions()
	if ev := ts[len(ts)-1].Evidence; ev == nil || ev.Who != "group cap" ||
		!strings.Contains(ev.Why, "2 keys open already") || !strings.Contains(ev.Why, "opened by external") {
		t.Fatalf("evidence of the re-close: %+v", ev)
	}
}

// A place is given back when the key closes, whether by probes, Reset or
// Disable.
func TestCapPlaceComesBackWhenTheKeyCloses(t *testing.T) {
	g := newCapped(t, 0.5, false)
	mustGet(t, g, "a")
	mustGet(t, g, "b")
	fail(g, "a")
	fail(g, "b")
	if open, _ := g.OpenLimit(); open != 1 {
		t.Fatalf("open %d", open)
	}
	mustGet(t, g, "a").Disable()
	fail(g, "b")
	if st := mustGet(t, g, "b").State(); st != breaker.Open {
		t.Fatalf("b is %v once a was disabled", st)
	}
	if len(g.KeptClosed()) != 0 {
		t.Fatalf("b still listed: %+v", g.KeptClosed())
	}
}

func TestCapConfigErrors(t *testing.T) {
	for _, share := range []float64{-0.1, 1.5} {
		_, err := group.New(group.Config[string, int]{New: func(string) breaker.Config[int] { return breaker.Config[int]{} }, MaxOpenShare: share})
		if err == nil {
			t.Errorf("MaxOpenShare %v accepted", share)
		}
	}
}

// A full group does not evict a closed key that the cap needs: with half of
// its keys open, one key fewer would put the open share over the cap.
func TestCapFullGroupKeepsTheClosedKeysItNeeds(t *testing.T) {
	g, err := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1), OpenTimeout: time.Minute}
		},
		MaxBreakers:  4,
		MaxOpenShare: 0.5,
		Clock:        epochs.Mock(epochs.Today),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		mustGet(t, g, k)
	}
	fail(g, "a")
	fail(g, "b")
	if _, err := g.Get("e"); !errors.Is(err, group.ErrFull) {
		t.Fatalf("Get(e) = %v, want ErrFull", err)
	}
	mustGet(t, g, "a").Reset() // one open of four: a closed key may go
	if _, err := g.Get("e"); err != nil {
		t.Fatalf("Get(e) = %v", err)
	}
	if keys, open := countOpen(g); open > limitOf(0.5, false, keys) {
		t.Fatalf("%d of %d open", open, keys)
	}
}
