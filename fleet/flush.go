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
// in one batch per set of rules. Each count is taken once, under its
// member's lock, so that overlapping flushes never send it twice; a batch
// whose answer is lost is not sent again (a count sent twice would inflate
// the fleet's failure rate, one lost only thins it). No lock is held
// across a step. With wait, flush returns once the records were applied
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
			batch[i].Successes, batch[i].Failures = m.take(mt.Successes, mt.Failures)
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
		updates = append(updates, update{m: m, rec: recs[i], seq: seqs[i], at: at})
	}
	return updates, nil
}

// take returns the counts of m's breaker not taken yet, given its totals,
// and marks them taken. Totals read before an overlapping flush took later
// ones give nothing: counts only grow.
func (m *member) take(succ, fail uint64) (ds, df uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if succ > m.sentS {
		ds, m.sentS = succ-m.sentS, succ
	}
	if fail > m.sentF {
		df, m.sentF = fail-m.sentF, fail
	}
	return ds, df
}
