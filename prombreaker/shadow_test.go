package prombreaker_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/tripwire-go/tripwire/breaker"
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
