package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// The applier decides what to adopt on a read of the breaker's state (and
// of whether that state is the fleet's), then adopts. An operator's action
// on the breaker that lands between the two must end as it would had it
// landed before the read or after the adoption, never otherwise.

// A record lost and created again, closed, undoes only what the fleet set
// on a breaker (rule 2). Its close was decided on a read of the breaker
// forced open by the fleet; an operator's Trip or TripFor that landed
// before the adoption was closed by it, although the record created again
// knows nothing of it, and a read made after the operator's action leaves
// it standing.
func TestFaultLostRecordCloseUndoesOperatorActionAfterRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  func(b *breaker.Breaker[int])
	}{
		{"TripFor", func(b *breaker.Breaker[int]) { b.TripFor(time.Hour) }},
		{"Trip", func(b *breaker.Breaker[int]) { b.Trip() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, co, st, _ := countsEnv(t, 10, func(s fleet.Store) fleet.Store { return s })
			if err := co.ForceOpen(context.Background(), "dep"); err != nil {
				t.Fatal(err)
			}
			if m := b.Metrics(); m.Mode != fleet.ModeForcedOpen {
				t.Fatalf("after ForceOpen: mode %v", m.Mode)
			}
			st.(*fleet.Memory).Drop("dep")
			fleet.SetAfterStateRead(co, func() { tc.act(b) })
			mustSync(t, co)
			if m := b.Metrics(); m.State != breaker.Open || m.Mode != fleet.ModeNone {
				t.Fatalf("the operator's %s landed before the lost record's close was adopted, and was undone: the breaker is %v in mode %v", tc.name, m.State, m.Mode)
			}
		})
	}
}

// A breaker already in the fleet's mode when its record comes is marked as
// the fleet's (X1). Marked on a read made before an operator's TripFor,
// the TripFor's open period was taken for the fleet's, and the lost
// record's close undid it: an outcome of no order of the two.
func TestFaultOperatorTripForMarkedAsFleets(t *testing.T) {
	b, co, st, _ := countsEnv(t, 10, func(s fleet.Store) fleet.Store { return s })
	co.Step()
	b.ForceOpen() // the operator's, on this breaker alone
	fleet.SetAfterStateRead(co, func() { b.TripFor(time.Hour) })
	if err := co.ForceOpen(context.Background(), "dep"); err != nil {
		t.Fatal(err)
	}
	// Either order is sound: TripFor then the fleet's forced open (the
	// breaker is the fleet's), or the other way round (the TripFor is
	// the operator's, and stands).
	fleets := b.Metrics().Mode == fleet.ModeForcedOpen
	st.(*fleet.Memory).Drop("dep")
	mustSync(t, co)
	m := b.Metrics()
	switch {
	case fleets && (m.State != breaker.Closed || m.Mode != fleet.ModeNone):
		t.Fatalf("the fleet's forced open outlived its lost record: %v in mode %v", m.State, m.Mode)
	case !fleets && (m.State != breaker.Open || m.Mode != fleet.ModeNone):
		t.Fatalf("the operator's TripFor, taken for the fleet's, was undone by the lost record's close: %v in mode %v", m.State, m.Mode)
	}
}

// The same, with the breaker's own transition: a probe that failed, and
// reopened the breaker, between the read and the adoption of a lost
// record's close. The reopening is the breaker's own, which a record
// created again knows nothing of; it was closed all the same.
func TestFaultLostRecordCloseUndoesOwnReopenAfterRead(t *testing.T) {
	e := newFleetEnv(t, epochs.Today)
	e.cfg.FailureRate, e.cfg.MinCalls = 0.5, 10
	b, co, _ := e.attachDriven("a", nil, breaker.Config[int]{Name: "dep", Policy: policy.Consecutive(1000), OpenTimeout: 30 * time.Second, CountCalls: true})
	co.Step()
	fail(b, 10)
	mustSync(t, co)
	if m := b.Metrics(); m.State != breaker.Open || m.ExternalOpens != 1 {
		t.Fatalf("the fleet's failure rate should have opened the breaker: %+v", m)
	}
	e.clk.Add(31 * time.Second)
	e.store.(*fleet.Memory).Drop("dep")
	fleet.SetAfterStateRead(co, func() {
		fail(b, 1) // a probe of the breaker's own (the record is closed), failed
	})
	mustSync(t, co)
	if m := b.Metrics(); m.State != breaker.Open || m.Reopens != 1 {
		t.Fatalf("the breaker reopened on its own probe before the lost record's close was adopted, and was closed: %v, %d reopens", m.State, m.Reopens)
	}
}
