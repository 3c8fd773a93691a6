package otelbreaker_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/internal/exporttest"
	"github.com/tripwire-go/tripwire/otelbreaker"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// points returns the points of the int64 counter or gauge named name, by
// the group they are about.
func points(t *testing.T, got map[string]metricdata.Metrics, name string) map[string]int64 {
	t.Helper()
	var dps []metricdata.DataPoint[int64]
	switch d := got[name].Data.(type) {
	case metricdata.Sum[int64]:
		if !d.IsMonotonic {
			t.Errorf("%s is not monotonic", name)
		}
		dps = d.DataPoints
	case metricdata.Gauge[int64]:
		dps = d.DataPoints
	default:
		t.Fatalf("%s: %T", name, got[name].Data)
	}
	out := map[string]int64{}
	for _, dp := range dps {
		v, ok := dp.Attributes.Value(otelbreaker.GroupKey)
		if !ok || dp.Attributes.Len() != 1 {
			t.Fatalf("%s: attributes %v", name, dp.Attributes.ToSlice())
		}
		out[v.AsString()] = dp.Value
	}
	return out
}

// A detector in shadow that finds an outlier is reported under the name
// given, with the ejection it would have made, beside an enforcing one and
// a group without a detector.
func TestRegisterOutliers(t *testing.T) {
	reader, provider := setup(t)
	trial, live := exporttest.TrialAndLive(t)
	plain, err := group.New(group.Config[string, int]{New: func(string) breaker.Config[int] { return breaker.Config[int]{} }})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := otelbreaker.Register(provider.Meter("test"))
	if err != nil {
		t.Fatal(err)
	}
	reg.AddGroup(live)
	for name, g := range map[string]otelbreaker.OutlierSource{"trial": trial, "live": live, "plain": plain} {
		if err := reg.AddOutliers(name, g); err != nil {
			t.Fatal(err)
		}
	}
	got := collect(t, reader)
	for name, want := range map[string]map[string]int64{
		otelbreaker.OutlierShadowName:      {"trial": 1, "live": 0, "plain": 0},
		otelbreaker.OutlierEvaluationsName: {"trial": 1, "live": 1, "plain": 0},
		otelbreaker.OutlierFoundName:       {"trial": 1, "live": 1, "plain": 0},
		otelbreaker.OutlierEjectedName:     {"trial": 1, "live": 1, "plain": 0},
	} {
		if p := points(t, got, name); fmt.Sprint(p) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", name, p, want)
		}
	}
	if u := got[otelbreaker.OutlierEjectedName].Unit; u != "{outlier}" {
		t.Errorf("unit %q", u)
	}
	// The enforcing detector's ejection is the breaker's external open.
	ext := got[otelbreaker.ExternalOpensName].Data.(metricdata.Sum[int64])
	opens := int64(-1)
	for _, dp := range ext.DataPoints {
		if v, _ := dp.Attributes.Value(otelbreaker.NameKey); v.AsString() == "bad" {
			opens = dp.Value
		}
	}
	if opens != 1 {
		t.Errorf("bad's external opens: %d, want 1", opens)
	}
	if b, _ := trial.Get("bad"); b.State() != breaker.Closed {
		t.Fatalf("the shadow detector's outlier is %v", b.State())
	}
}

// AddOutliers refuses an empty name, a nil group and a name taken, with
// errors that say which; a group's name may be a breaker's.
func TestRegistrationAddOutliersRefuses(t *testing.T) {
	_, provider := setup(t)
	g, _ := exporttest.Hosts(t, true)
	b := newBreaker(t, breaker.Config[int]{Name: "hosts", Clock: epochs.Mock(epochs.Today)})
	reg, err := otelbreaker.Register(provider.Meter("test"), b)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.AddOutliers("hosts", g); err != nil {
		t.Fatalf("a group named as a breaker: %v", err)
	}
	err = reg.AddOutliers("hosts", g)
	if !errors.Is(err, otelbreaker.ErrDuplicateGroupName) || !strings.Contains(err.Error(), `"hosts"`) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := reg.AddOutliers("", g); err == nil || !strings.Contains(err.Error(), "name is empty") {
		t.Fatalf("empty name: %v", err)
	}
	var none *group.Group[string, int]
	if err := reg.AddOutliers("none", none); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Fatalf("nil group: %v", err)
	}
	if err := reg.AddOutliers("a\xffb", g); err != nil {
		t.Fatal(err)
	}
	if err := reg.AddOutliers("a\uFFFDb", g); !errors.Is(err, otelbreaker.ErrDuplicateGroupName) {
		t.Fatalf("a name made valid: %v", err)
	}
}

// Collections run while the detector judges, in shadow, calls made on
// other goroutines, and while detectors are added: the counts only grow.
func TestCollectDuringOutlierDetection(t *testing.T) {
	reader, provider := setup(t)
	g, clk := exporttest.Hosts(t, true)
	reg, err := otelbreaker.Register(provider.Meter("test"))
	if err != nil {
		t.Fatal(err)
	}
	reg.AddGroup(g)
	if err := reg.AddOutliers("hosts", g); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	exporttest.DetectAndAdd(t, &wg, g, clk, func(name string) error { return reg.AddOutliers(name, g) })
	wg.Go(func() {
		last := int64(0)
		for range 50 {
			v := points(t, collect(t, reader), otelbreaker.OutlierEvaluationsName)["hosts"]
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
