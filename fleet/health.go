package fleet

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// This file watches the store's health: every step goes through the guard
// breaker and says whether the store answered, failed, or answered too
// late for the probe gate.

// health is what the coordinator knows of the store. down and slow are
// read with one load each; a change of either is logged once, under mu,
// which guards nothing else and is never held across a call out.
type health struct {
	mu   sync.Mutex
	down atomic.Bool // the last step failed
	slow atomic.Bool // the store answered after GateTimeout, or not at all
}

// step runs one store step through the guard breaker, with StepTimeout,
// and notes whether the store answered. A step whose own ctx is done (an
// operator who gave up, or Close) says nothing about the store; nor does a
// step the guard refuses, which only turns away steps after failures that
// already made the coordinator degraded.
func (co *Coordinator) step(ctx context.Context, f func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := co.guard.Allow()
	if err != nil {
		co.stats.storeErrors.Add(1)
		return err
	}
	start := co.now()
	sctx, cancel := context.WithTimeout(ctx, co.cfg.StepTimeout)
	err = f(sctx)
	cancel()
	switch {
	case err == nil || errors.Is(err, ErrProtocol):
		p.Done(struct{}{}, nil)
		co.answered(co.now().Sub(start))
	case ctx.Err() != nil:
		p.Release()
	default:
		p.Done(struct{}{}, err)
		co.failed(err)
	}
	return err
}

// now is the time a step's duration is measured in: Config.Clock when
// driven (a simulation's store answers late on its clock), else the real
// time, which a test's mock clock would not move.
func (co *Coordinator) now() time.Time {
	if co.cfg.Driven {
		return co.cfg.Clock.Now()
	}
	return time.Now()
}

// answered notes that the store answered, in took. After an outage it
// reads every record again, since events were lost meanwhile. A store
// found slow by the probe gate (see gateTimedOut) is fast again once a
// step answers within GateTimeout; a slow answer of another step (a large
// flush, say) does not make it slow by itself.
func (co *Coordinator) answered(took time.Duration) {
	h := &co.health
	fast := took <= co.cfg.GateTimeout
	if !h.down.Load() && !(fast && h.slow.Load()) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down.Load() {
		co.log.Info("fleet: store answers again; resynchronising", "instance", co.cfg.Instance)
		h.down.Store(false)
		co.stats.resyncs.Add(1)
		co.kick()
	}
	if fast {
		co.setSlow(false, took)
	}
}

// gateTimedOut notes that a probe candidate waited the whole GateTimeout:
// a store that answers after the gate gave up is, for the K bound, a store
// that does not answer, and Degraded says so. Until a step answers in time
// again, candidates decide locally at once rather than each wait the whole
// GateTimeout.
func (co *Coordinator) gateTimedOut() {
	if co.health.slow.Load() {
		return
	}
	co.health.mu.Lock()
	defer co.health.mu.Unlock()
	co.setSlow(true, co.cfg.GateTimeout)
}

// setSlow records whether the store is slower than the gate, under
// health.mu.
func (co *Coordinator) setSlow(slow bool, took time.Duration) {
	if co.health.slow.Load() == slow {
		return
	}
	if slow {
		co.log.Warn("fleet: store answers after the gate timeout; probes are decided locally until it is fast again",
			"instance", co.cfg.Instance, "took", took, "gate_timeout", co.cfg.GateTimeout)
	} else {
		co.log.Info("fleet: store answers within the gate timeout again", "instance", co.cfg.Instance, "took", took)
	}
	co.health.slow.Store(slow)
}

// failed notes that a step failed. The log line is written before the
// coordinator reports itself degraded, so that whoever sees Degraded also
// finds the line.
func (co *Coordinator) failed(err error) {
	co.stats.storeErrors.Add(1)
	if co.health.down.Load() {
		return
	}
	co.health.mu.Lock()
	defer co.health.mu.Unlock()
	if !co.health.down.Load() {
		co.log.Warn("fleet: store failed; breakers work locally until it answers", "instance", co.cfg.Instance, "err", err)
		co.health.down.Store(true)
	}
}

// storeUsable reports whether the probe gate should ask the store: not
// while it is down, slow, or refused by the guard, nor once closed.
func (co *Coordinator) storeUsable() bool {
	return !co.health.down.Load() && !co.health.slow.Load() && co.guard.State() != breaker.Open && co.ctx.Err() == nil
}
