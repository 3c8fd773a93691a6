package fleet_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/fleet/fleettest"
	"github.com/tripwire-go/tripwire/internal/epochs"
)

func TestMemoryConformance(t *testing.T) {
	fleettest.Run(t, fleettest.Harness{
		New: func(t *testing.T, start time.Time) (fleet.Store, func(time.Duration)) {
			clk := clock.NewMock()
			clk.Set(start)
			return fleet.NewMemory(clk), clk.Add
		},
		Drop:   func(t *testing.T, s fleet.Store, name string) { s.(*fleet.Memory).Drop(name) },
		Epochs: append(slices.Clone(fleettest.Epochs), epochs.FarEnd),
	})
}

// TestMemoryWallSteps: open periods, leases and rate windows follow the
// monotonic clock: a step of the wall clock (NTP, a resumed VM) changes
// none of them.
func TestMemoryWallSteps(t *testing.T) {
	for _, step := range []time.Duration{-time.Hour, time.Hour} {
		clk := epochs.NewClock(epochs.Today)
		m := fleet.NewMemory(clk)
		p := fleettest.Params()
		p.Quorum, p.Probes = 1, 1
		p.FailureRate, p.MinCalls, p.RateWindow = 0.5, 4, 10*time.Second
		ctx := context.Background()
		if _, _, err := m.Flush(ctx, []fleet.Counts{{Name: "rate", Instance: "a", Failures: 3}}, p); err != nil {
			t.Fatal(err)
		}
		r, _ := m.Trip(ctx, "dep", fleet.TripRequest{Instance: "a"}, p)
		clk.Add(10 * time.Second)
		clk.StepWall(step)
		recs, _, _ := m.Flush(ctx, []fleet.Counts{{Name: "dep", Instance: "a"}, {Name: "rate", Instance: "a", Failures: 1}}, p)
		if recs[0].Remaining != p.OpenTimeout-10*time.Second {
			t.Errorf("step %v: remaining %v, want %v", step, recs[0].Remaining, p.OpenTimeout-10*time.Second)
		}
		// The three failures left the window 10s ago by the monotonic
		// clock, whatever the wall clock says: one failure is no rate.
		if recs[1].State != breaker.Closed {
			t.Errorf("step %v: the rate record opened on counts that left its window", step)
		}
		clk.Add(p.OpenTimeout - 10*time.Second)
		v, _, _ := m.AcquireProbe(ctx, "dep", fleet.ProbeRequest{Incarnation: r.Incarnation, Generation: r.Generation, Lease: "l"}, p)
		if v != fleet.ProbeAdmit {
			t.Errorf("step %v: acquire at the end of the period: %v", step, v)
		}
	}
}
