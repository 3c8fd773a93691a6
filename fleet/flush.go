package fleet

import (
	"context"
	"errors"
	"strconv"
)

// This file is the periodic flush, and Sync: the counts of every attached
// breaker and the reading of their records, in one batch per interval.

// Sync sends the counts and reads the records of every attached breaker
// now, as the periodic flush does, and adopts what changed. A Sync that
// overlaps a flush (or another Sync) never sends a count twice; the ctx is
// the caller's: its end fails the Sync but says nothing of the store's
// health.
func (co *Coordinator) Sync(ctx context.Context) error {
	if co.closed.Load() {
		return ErrClosed
	}
	return co.flush(ctx, true)
}

// flush sends the counts and reads the records of every attached breaker,
// in one batch per set of rules. Counts go as totals under the member's
// Sender, with those a store acknowledged, so that the store adds each call
// exactly once: overlapping flushes, and a batch sent again after its
// answer was lost, add nothing twice (a count sent twice would inflate the
// fleet's failure rate). No lock is held across a step. With wait, flush returns once the records were applied
// (see submitAll).
func (co *Coordinator) flush(ctx context.Context, wait bool) error {
	ms := co.members()
	if len(ms) == 0 {
		return nil
	}
	// One batch per set of rules: one, unless circuits follow breakers of
	// different open periods.
	var order []Params
	groups := map[Params][]*member{}
	for _, m := range ms {
		if groups[m.params] == nil {
			order = append(order, m.params)
		}
		groups[m.params] = append(groups[m.params], m)
	}
	var updates []update
	var err error
	for _, p := range order {
		got, gerr := co.flushBatch(ctx, groups[p], p)
		updates = append(updates, got...)
		if gerr != nil {
			err = gerr
		}
	}
	co.submitAll(updates, wait)
	return err
}

// flushBatch sends the counts and reads the records of ms, whose steps
// follow p, and returns the records to apply.
func (co *Coordinator) flushBatch(ctx context.Context, ms []*member, p Params) ([]update, error) {
	batch := make([]Counts, len(ms))
	seqs := make([]uint64, len(ms))
	for i, m := range ms {
		seqs[i] = m.view.Load().seq
		batch[i] = Counts{Name: m.name, Instance: co.cfg.Instance}
		if p.FailureRate <= 0 {
			continue
		}
		// Metrics takes the breaker's lock but runs no callback.
		if mt := m.c.Metrics(); mt.Counted {
			batch[i] = m.counts(batch[i], mt.Successes, mt.Failures)
		}
	}
	var recs []Record
	var errs []error
	err := co.step(ctx, func(ctx context.Context) (err error) {
		recs, errs, err = co.store.Flush(ctx, batch, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(recs) != len(ms) || len(errs) != len(ms) {
		err := errors.New("fleet: store returned " + strconv.Itoa(len(recs)) + " records for " + strconv.Itoa(len(ms)))
		co.failed(err)
		return nil, err
	}
	at := co.cfg.Clock.Now()
	var updates []update
	for i, m := range ms {
		if errs[i] != nil {
			co.unreadable(m, errs[i])
			continue
		}
		m.ack(batch[i])
		updates = append(updates, update{m: m, rec: recs[i], seq: seqs[i], at: at})
	}
	return updates, nil
}

// counts fills c with the totals of m's breaker since it was attached,
// given its totals now, and those a store acknowledged. Overlapping
// flushes, and a flush sent again after its answer was lost, send the same
// totals: the store adds each call once (see [Counts]).
func (m *member) counts(c Counts, succ, fail uint64) Counts {
	m.mu.Lock()
	defer m.mu.Unlock()
	c.Sender = m.sender
	// Totals below the base (a breaker whose counts were reset) send
	// nothing new.
	c.Successes, c.Failures = max(succ, m.baseS)-m.baseS, max(fail, m.baseF)-m.baseF
	c.Successes, c.Failures = max(c.Successes, m.ackedS), max(c.Failures, m.ackedF)
	c.AckedSuccesses, c.AckedFailures = m.ackedS, m.ackedF
	return c
}

// ack notes that a store's answer acknowledged c's totals.
func (m *member) ack(c Counts) {
	if c.Sender == "" {
		return
	}
	m.mu.Lock()
	m.ackedS, m.ackedF = max(m.ackedS, c.Successes), max(m.ackedF, c.Failures)
	m.mu.Unlock()
}
