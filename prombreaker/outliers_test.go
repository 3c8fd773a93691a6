package prombreaker_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/exporttest"
	"github.com/tripwire-go/tripwire/prombreaker"
)

var outlierFamilies = []string{
	"tripwire_group_outlier_shadow", "tripwire_group_outlier_evaluations_total",
	"tripwire_group_outlier_found_total", "tripwire_group_outlier_ejected_total",
}

const outlierHelp = `# HELP tripwire_group_outlier_ejected_total Outliers the group's outlier detector opened, or in shadow would have opened; the others of those found a cap kept closed, or were no longer closed.
# TYPE tripwire_group_outlier_ejected_total counter
# HELP tripwire_group_outlier_evaluations_total Intervals the group's outlier detector judged.
# TYPE tripwire_group_outlier_evaluations_total counter
# HELP tripwire_group_outlier_found_total Outliers the group's outlier detector found, opened or not: a key that stands out in three intervals counts three times.
# TYPE tripwire_group_outlier_found_total counter
# HELP tripwire_group_outlier_shadow 1 when the group's outlier detector runs in shadow (Outliers.Shadow): it opens nothing, and its ejections are those it would have made; 0 when it enforces.
# TYPE tripwire_group_outlier_shadow gauge
`

// A detector in shadow that finds an outlier is exported under the name
// given, with the ejection it would have made, beside an enforcing one and
// a group without a detector; the shadow opened nothing, the enforcing one
// opened its outlier.
func TestCollectorOutliers(t *testing.T) {
	trial, live := exporttest.TrialAndLive(t)
	plain, err := group.New(group.Config[string, int]{New: func(string) breaker.Config[int] { return breaker.Config[int]{} }})
	if err != nil {
		t.Fatal(err)
	}
	c := mustCollector(t, prombreaker.Opts{})
	for name, g := range map[string]prombreaker.OutlierSource{"trial": trial, "live": live, "plain": plain} {
		if err := c.AddOutliers(name, g); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	want := outlierHelp + `tripwire_group_outlier_ejected_total{group="live"} 1
tripwire_group_outlier_ejected_total{group="plain"} 0
tripwire_group_outlier_ejected_total{group="trial"} 1
tripwire_group_outlier_evaluations_total{group="live"} 1
tripwire_group_outlier_evaluations_total{group="plain"} 0
tripwire_group_outlier_evaluations_total{group="trial"} 1
tripwire_group_outlier_found_total{group="live"} 1
tripwire_group_outlier_found_total{group="plain"} 0
tripwire_group_outlier_found_total{group="trial"} 1
tripwire_group_outlier_shadow{group="live"} 0
tripwire_group_outlier_shadow{group="plain"} 0
tripwire_group_outlier_shadow{group="trial"} 1
`
	// Sorted by the registry: the order of the families and labels above.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), outlierFamilies...); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) != 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	if b, _ := trial.Get("bad"); b.State() != breaker.Closed {
		t.Fatalf("the shadow detector's outlier is %v", b.State())
	}
	if b, _ := live.Get("bad"); b.State() != breaker.Open {
		t.Fatalf("the enforcing detector's outlier is %v", b.State())
	}
}

// The group's breakers and its detector are exported side by side: the
// shadow's would-be ejection beside the real opens of its breakers, as the
// docs' PromQL compares them. An enforcing detector's ejection is an
// external open of the breaker (the group adopts it), not a trip.
func TestCollectorOutliersBesideBreakers(t *testing.T) {
	trial, live := exporttest.TrialAndLive(t)
	c := mustCollector(t, prombreaker.Opts{})
	c.AddGroup(live)
	if err := c.AddOutliers("live", live); err != nil {
		t.Fatal(err)
	}
	if err := c.AddOutliers("trial", trial); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == "bad" || l.GetName() == "group" {
					got[mf.GetName()+"{"+l.GetValue()+"}"] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
	}
	for k, v := range map[string]float64{
		"tripwire_breaker_external_opens_total{bad}":  1,
		"tripwire_breaker_trips_total{bad}":           0,
		"tripwire_group_outlier_ejected_total{live}":  1,
		"tripwire_group_outlier_ejected_total{trial}": 1,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

// AddOutliers refuses an empty name, a nil group and a name taken, with
// errors that say which; a group's name may be a breaker's.
func TestCollectorAddOutliersRefuses(t *testing.T) {
	g, _ := exporttest.Hosts(t, true)
	c := mustCollector(t, prombreaker.Opts{}, newBreaker(t, breaker.Config[int]{Name: "hosts"}))
	if err := c.AddOutliers("hosts", g); err != nil {
		t.Fatalf("a group named as a breaker: %v", err)
	}
	err := c.AddOutliers("hosts", g)
	if !errors.Is(err, prombreaker.ErrDuplicateGroupName) || !strings.Contains(err.Error(), `"hosts"`) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := c.AddOutliers("", g); err == nil || !strings.Contains(err.Error(), "name is empty") {
		t.Fatalf("empty name: %v", err)
	}
	var none *group.Group[string, int]
	if err := c.AddOutliers("none", none); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Fatalf("nil group: %v", err)
	}
	if err := c.AddOutliers("nothing", nil); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Fatalf("nil: %v", err)
	}
	// Invalid UTF-8 is exported, and checked, as U+FFFD.
	if err := c.AddOutliers("a\xffb", g); err != nil {
		t.Fatal(err)
	}
	if err := c.AddOutliers("a\uFFFDb", g); !errors.Is(err, prombreaker.ErrDuplicateGroupName) {
		t.Fatalf("a name made valid: %v", err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) != 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}

// Scrapes run while the detector judges, in shadow, calls made on other
// goroutines, and while detectors are added: every scrape succeeds, and
// the counts only grow.
func TestScrapeDuringOutlierDetection(t *testing.T) {
	g, clk := exporttest.Hosts(t, true)
	c := mustCollector(t, prombreaker.Opts{})
	c.AddGroup(g)
	if err := c.AddOutliers("hosts", g); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	var wg sync.WaitGroup
	exporttest.DetectAndAdd(t, &wg, g, clk, func(name string) error { return c.AddOutliers(name, g) })
	wg.Go(func() {
		last := 0.0
		for range 50 {
			n, err := testutil.GatherAndCount(reg, "tripwire_group_outlier_evaluations_total")
			if err != nil || n == 0 {
				t.Error(n, err)
				return
			}
			v := evaluations(t, reg, "hosts")
			if v < last {
				t.Errorf("evaluations went from %v to %v", last, v)
			}
			last = v
		}
	})
	wg.Wait()
	if st := g.OutlierStats(); st.Evaluations != 10 || st.Ejected == 0 {
		t.Fatalf("OutlierStats: %+v", st)
	}
}

// evaluations returns the evaluations exported for the group named name.
func evaluations(t *testing.T, reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		t.Error(err)
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() != "tripwire_group_outlier_evaluations_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == name {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Errorf("no evaluations for %q", name)
	return 0
}

// A collector whose ConstLabels has "group" registers and scrapes as it did
// before detectors were exported; AddOutliers says why it cannot export
// one there.
func TestCollectorConstLabelGroupStillRegisters(t *testing.T) {
	c := mustCollector(t, prombreaker.Opts{ConstLabels: prometheus.Labels{"group": "payments"}},
		newBreaker(t, breaker.Config[int]{Name: "api"}))
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	g, _ := exporttest.Hosts(t, true)
	if err := c.AddOutliers("hosts", g); err == nil || !strings.Contains(err.Error(), `ConstLabels has the label "group"`) {
		t.Fatalf("AddOutliers: %v", err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}
