package fleet

import (
	"errors"
	"time"
)

// This file listens to the store's events, for a coordinator that runs
// itself.

// events hands the records the store pushes to the applier, subscribing
// again after the subscription fails, until Close.
func (co *Coordinator) events() {
	defer co.wg.Done()
	for co.ctx.Err() == nil {
		ch, err := co.store.Events(co.ctx)
		if err != nil {
			if co.ctx.Err() != nil {
				return
			}
			co.failed(err)
			t := time.NewTimer(co.cfg.FlushInterval)
			select {
			case <-co.ctx.Done():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		for rec := range ch {
			co.Deliver(rec)
		}
	}
}

// Deliver hands co a record as its store's events would: the record is
// applied if it is newer than the one co applied to the breaker of that
// name, as an event is (an event of another incarnation is not trusted:
// the record is read again). A coordinator built with Config.Driven
// subscribes to no events, so that a simulation delivers them itself, in
// the order and at the moment it chooses; a coordinator that runs itself
// takes a delivered record as one more event. A record of a circuit not
// attached is ignored.
func (co *Coordinator) Deliver(rec Record) {
	co.stats.events.Add(1)
	if m := co.member(rec.Name); m != nil {
		co.submit(update{m: m, rec: rec, event: true, at: co.cfg.Clock.Now()})
	}
}

func isProtocol(err error) bool { return errors.Is(err, ErrProtocol) }
