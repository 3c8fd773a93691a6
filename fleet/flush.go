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
// overlaps a flush (or another Sync) waits for it, so that no count is
// sent twice; the ctx is the caller's: its end fails the Sync but says
// nothing of the store's health.
func (co *Coordinator) Sync(ctx context.Context) error {
	if co.closed.Load() {
		return ErrClosed
	}
	return co.flush(ctx, true)
}

// flush sends the counts and reads the records of every attached breaker,
// in one batch. Flushes are serialised; each count is sent at most once
// (a batch whose answer is lost is not sent again: a count sent twice
// would inflate the fleet's failure rate, one lost only thins it). The
// records are applied after the flush has let go of its lock; with wait,
// flush returns once they were (see submitAll).
func (co *Coordinator) flush(ctx context.Context, wait bool) error {
	co.flushMu.Lock()
	ms := co.members()
	if len(ms) == 0 {
		co.flushMu.Unlock()
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
	var bad []*member
	var badErrs []error
	var err error
	for _, p := range order {
		got, b, be, gerr := co.flushBatch(ctx, groups[p], p)
		updates, bad, badErrs = append(updates, got...), append(bad, b...), append(badErrs, be...)
		if gerr != nil {
			err = gerr
		}
	}
	co.flushMu.Unlock()
	for i, m := range bad {
		co.unreadable(m, badErrs[i])
	}
	co.submitAll(updates, wait)
	return err
}

// flushBatch sends the counts and reads the records of ms, whose steps
// follow p. It returns the records to apply, and the members whose record
// could not be read with the reason.
func (co *Coordinator) flushBatch(ctx context.Context, ms []*member, p Params) ([]update, []*member, []error, error) {
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
			m.mu.Lock()
			batch[i].Successes, batch[i].Failures = mt.Successes-m.sentS, mt.Failures-m.sentF
			m.sentS, m.sentF = mt.Successes, mt.Failures
			m.mu.Unlock()
		}
	}
	var recs []Record
	var errs []error
	err := co.step(ctx, func(ctx context.Context) (err error) {
		recs, errs, err = co.store.Flush(ctx, batch, p)
		return err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if len(recs) != len(ms) || len(errs) != len(ms) {
		err := errors.New("fleet: store returned " + strconv.Itoa(len(recs)) + " records for " + strconv.Itoa(len(ms)))
		co.failed(err)
		return nil, nil, nil, err
	}
	at := co.cfg.Clock.Now()
	var updates []update
	var bad []*member
	var badErrs []error
	for i, m := range ms {
		if errs[i] != nil {
			bad, badErrs = append(bad, m), append(badErrs, errs[i])
			continue
		}
		updates = append(updates, update{m: m, rec: recs[i], seq: seqs[i], at: at})
	}
	return updates, bad, badErrs, nil
}
