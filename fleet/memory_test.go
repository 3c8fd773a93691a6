package fleet_test

import (
	"slices"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

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
