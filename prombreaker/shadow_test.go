package prombreaker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/internal/exporttest"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/prombreaker"
)

// A shadow-only breaker is exported marked, with the calls it would have
// rejected; other breakers have neither series.
func TestCollectorShadowOnly(t *testing.T) {
	b := newBreaker(t, breaker.Config[int]{Name: "trial", ShadowOnly: true, Policy: policy.Consecutive(1)})
	plain := newBreaker(t, breaker.Config[int]{Name: "plain"})
	c, err := prombreaker.NewCollector(prombreaker.Opts{}, b, plain)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("down") })
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	want := `# HELP tripwire_breaker_shadow_only 1 for a shadow-only breaker (Config.ShadowOnly), which rejects nothing: its state and opens are what it would have done. Absent for the others.
# TYPE tripwire_breaker_shadow_only gauge
tripwire_breaker_shadow_only{breaker="trial"} 1
# HELP tripwire_breaker_would_reject_total Calls a shadow-only breaker would have rejected, which ran all the same. Absent for the others.
# TYPE tripwire_breaker_would_reject_total counter
tripwire_breaker_would_reject_total{breaker="trial"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "tripwire_breaker_shadow_only", "tripwire_breaker_would_reject_total"); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) != 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}

// shadowFamilies are the names of the candidates' series.
var shadowFamilies = []string{
	"tripwire_shadow_state", "tripwire_shadow_trips_total", "tripwire_shadow_reopens_total",
	"tripwire_shadow_calls_total", "tripwire_shadow_would_reject_total", "tripwire_shadow_panics_total",
}

const shadowHelp = `# HELP tripwire_shadow_calls_total Calls offered to the candidate: every call the live breaker let run.
# TYPE tripwire_shadow_calls_total counter
# HELP tripwire_shadow_panics_total Panics recovered from the candidate's policy, or from OnTransition delivering one of its transitions.
# TYPE tripwire_shadow_panics_total counter
# HELP tripwire_shadow_reopens_total Times a failed probe would have opened the candidate's circuit again.
# TYPE tripwire_shadow_reopens_total counter
# HELP tripwire_shadow_state Whether the shadow candidate is in the state of the label (1) or not (0): the state a breaker with its settings would be in.
# TYPE tripwire_shadow_state gauge
# HELP tripwire_shadow_trips_total Times the candidate's policy would have opened its closed circuit.
# TYPE tripwire_shadow_trips_total counter
# HELP tripwire_shadow_would_reject_total Calls offered to the candidate that it would have rejected (open, or half-open with its probe slots taken); they ran all the same.
# TYPE tripwire_shadow_would_reject_total counter
`

// Every series of a breaker's candidates, for a breaker added and for the
// keys of a group, each labelled with its breaker and its candidate: a
// candidate that tripped, would have rejected calls and reopened at its
// probe; one whose policy panics; a key whose candidate saw only
// successes. The live breakers never opened.
func TestCollectorShadows(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	b := newBreaker(t, breaker.Config[int]{
		Name: "payments", Clock: clk, Policy: policy.Consecutive(5),
		Shadows: []breaker.Shadow{exporttest.Quick(), {Name: "panicky", Settings: breaker.Settings{Policy: exporttest.Panicky{}}}},
	})
	hosts, err := group.New(group.Config[string, int]{
		Clock: clk,
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(5), Shadows: []breaker.Shadow{exporttest.Quick()}}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := mustCollector(t, prombreaker.Opts{}, b)
	c.AddGroup(hosts)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)

	for range 3 {
		call(b, errDown) // quick trips at the first, would reject the others
	}
	clk.Add(61 * time.Second)
	call(b, errDown) // quick's probe fails: it reopens
	a, _ := hosts.Get("a")
	call(a, nil)
	call(a, nil)
	z, _ := hosts.Get("z")
	call(z, errDown)

	want := shadowHelp + `
tripwire_shadow_calls_total{breaker="a",candidate="quick"} 2
tripwire_shadow_calls_total{breaker="payments",candidate="panicky"} 4
tripwire_shadow_calls_total{breaker="payments",candidate="quick"} 4
tripwire_shadow_calls_total{breaker="z",candidate="quick"} 1
tripwire_shadow_panics_total{breaker="a",candidate="quick"} 0
tripwire_shadow_panics_total{breaker="payments",candidate="panicky"} 4
tripwire_shadow_panics_total{breaker="payments",candidate="quick"} 0
tripwire_shadow_panics_total{breaker="z",candidate="quick"} 0
tripwire_shadow_reopens_total{breaker="a",candidate="quick"} 0
tripwire_shadow_reopens_total{breaker="payments",candidate="panicky"} 0
tripwire_shadow_reopens_total{breaker="payments",candidate="quick"} 1
tripwire_shadow_reopens_total{breaker="z",candidate="quick"} 0
tripwire_shadow_state{breaker="a",candidate="quick",state="closed"} 1
tripwire_shadow_state{breaker="a",candidate="quick",state="half-open"} 0
tripwire_shadow_state{breaker="a",candidate="quick",state="open"} 0
tripwire_shadow_state{breaker="payments",candidate="panicky",state="closed"} 1
tripwire_shadow_state{breaker="payments",candidate="panicky",state="half-open"} 0
tripwire_shadow_state{breaker="payments",candidate="panicky",state="open"} 0
tripwire_shadow_state{breaker="payments",candidate="quick",state="closed"} 0
tripwire_shadow_state{breaker="payments",candidate="quick",state="half-open"} 0
tripwire_shadow_state{breaker="payments",candidate="quick",state="open"} 1
tripwire_shadow_state{breaker="z",candidate="quick",state="closed"} 0
tripwire_shadow_state{breaker="z",candidate="quick",state="half-open"} 0
tripwire_shadow_state{breaker="z",candidate="quick",state="open"} 1
tripwire_shadow_trips_total{breaker="a",candidate="quick"} 0
tripwire_shadow_trips_total{breaker="payments",candidate="panicky"} 0
tripwire_shadow_trips_total{breaker="payments",candidate="quick"} 1
tripwire_shadow_trips_total{breaker="z",candidate="quick"} 1
tripwire_shadow_would_reject_total{breaker="a",candidate="quick"} 0
tripwire_shadow_would_reject_total{breaker="payments",candidate="panicky"} 0
tripwire_shadow_would_reject_total{breaker="payments",candidate="quick"} 2
tripwire_shadow_would_reject_total{breaker="z",candidate="quick"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), shadowFamilies...); err != nil {
		t.Fatal(err)
	}
	const live = `# HELP tripwire_breaker_trips_total Times the policy opened the closed circuit.
# TYPE tripwire_breaker_trips_total counter
tripwire_breaker_trips_total{breaker="a"} 0
tripwire_breaker_trips_total{breaker="payments"} 0
tripwire_breaker_trips_total{breaker="z"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(live), "tripwire_breaker_trips_total"); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) != 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}

// A breaker left out of a scrape for its name is left out with its
// candidates: the first breaker's are exported, and the scrape goes on. A
// registry's circuits, and a group's inside a registry, bring theirs; a
// breaker without candidates has no shadow series.
func TestCollectorShadowsCollideWithTheirBreaker(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	first := newBreaker(t, breaker.Config[int]{Name: "api", Clock: clk, Shadows: []breaker.Shadow{exporttest.Quick()}})
	c := mustCollector(t, prombreaker.Opts{Namespace: "shop"}, first,
		newBreaker(t, breaker.Config[int]{Name: "plain", Clock: clk}))
	hosts, err := group.New(group.Config[string, int]{
		Clock: clk,
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Clock: clk, Shadows: []breaker.Shadow{{Name: "other", Settings: breaker.Settings{Policy: policy.Consecutive(1)}}}}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	hosts.Get("api") // collides with first
	hosts.Get("db")
	r := new(breaker.Registry)
	r.AddSet(hosts)
	c.AddRegistry(r)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	call(first, errDown)

	want := `# HELP shop_shadow_trips_total Times the candidate's policy would have opened its closed circuit.
# TYPE shop_shadow_trips_total counter
shop_shadow_trips_total{breaker="api",candidate="quick"} 1
shop_shadow_trips_total{breaker="db",candidate="other"} 0
# HELP shop_breaker_name_collisions Breakers of a group left out of this scrape because a breaker with the same name was exported first.
# TYPE shop_breaker_name_collisions gauge
shop_breaker_name_collisions{breaker="api"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "shop_shadow_trips_total", "shop_breaker_name_collisions"); err != nil {
		t.Fatal(err)
	}
}

// Scrapes run while calls go through breakers with candidates, a group
// creating keys as they come: every scrape succeeds, clean under -race,
// and each candidate's count of calls never goes down. At the end it is
// the number of calls made, since the live policy never opens.
func TestScrapeShadowsDuringCalls(t *testing.T) {
	b, hosts := exporttest.WithCandidates(t)
	c := mustCollector(t, prombreaker.Opts{}, b)
	c.AddGroup(hosts)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	const workers = 2
	wait := exporttest.StartCalls(b, hosts, workers, errDown)
	defer wait() // when a scrape fails the test
	last := map[string]float64{}
	for range 30 {
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() != "tripwire_shadow_calls_total" {
				continue
			}
			for _, m := range f.GetMetric() {
				key := m.GetLabel()[0].GetValue() + "/" + m.GetLabel()[1].GetValue()
				v := m.GetCounter().GetValue()
				if v < last[key] {
					t.Fatalf("%s went from %v down to %v", key, last[key], v)
				}
				last[key] = v
			}
		}
	}
	wait()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series, total := 0, 0.0
	for _, f := range fams {
		if f.GetName() == "tripwire_shadow_calls_total" {
			for _, m := range f.GetMetric() {
				series++
				total += m.GetCounter().GetValue()
			}
		}
	}
	if series != 2*5 {
		t.Fatalf("%d series of calls, want 2 candidates of 5 breakers", series)
	}
	if want := float64(2 * 2 * workers * exporttest.CallsPerWorker); total != want {
		t.Fatalf("calls seen by all candidates: %v, want %v", total, want)
	}
}
