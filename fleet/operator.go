package fleet

import (
	"context"
	"errors"
)

// This file holds the fleet-wide operator actions.

// ForceOpen forces the circuit name open on every instance: every call is
// rejected and no probe runs until Clear or Disable. It returns once the
// store has taken it; this instance's breaker adopts it before ForceOpen
// returns, the others on the event, or at their next flush. A call made
// from a callback that the adoption of a record runs returns at once, and
// its record is applied right after that callback returns. A call from any
// other goroutine waits for the record being applied, so a callback must
// not wait for a goroutine that calls the coordinator.
func (co *Coordinator) ForceOpen(ctx context.Context, name string) error {
	return co.force(ctx, name, ModeForcedOpen)
}

// Disable disables the circuit name on every instance: every call runs
// and nothing trips it, until Clear or ForceOpen.
func (co *Coordinator) Disable(ctx context.Context, name string) error {
	return co.force(ctx, name, ModeDisabled)
}

// Clear ends a fleet-wide mode and closes the fleet's circuit, as Reset
// closes a breaker.
func (co *Coordinator) Clear(ctx context.Context, name string) error {
	return co.force(ctx, name, ModeNone)
}

// force sets the fleet-wide mode. The ctx is the operator's: a ctx that
// ends first fails the call but does not make the coordinator degraded.
func (co *Coordinator) force(ctx context.Context, name string, mode Mode) error {
	if name == "" {
		return errors.New("fleet: a circuit needs a name")
	}
	if co.closed.Load() {
		return ErrClosed
	}
	m := co.member(name)
	var seq uint64
	p := co.params
	if m != nil {
		seq, p = m.view.Load().seq, m.params
	}
	var rec Record
	err := co.step(ctx, func(ctx context.Context) (err error) {
		rec, err = co.store.Force(ctx, name, mode, p)
		return err
	})
	if err != nil {
		return err
	}
	if m != nil {
		co.submitAll([]update{{m: m, rec: rec, seq: seq, at: co.cfg.Clock.Now()}}, true)
	}
	return nil
}
