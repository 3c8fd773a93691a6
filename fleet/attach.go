package fleet

import (
	"errors"
	"reflect"
	"strconv"
	"sync"

	"github.com/tripwire-go/tripwire/breaker"
)

// This file attaches breakers to a coordinator and detaches them: one
// breaker belongs to at most one coordinator, and a detached one gets no
// more of the coordinator's work.

// owners maps each attached breaker to its coordinator, process-wide: a
// breaker attached to two coordinators would count twice toward a quorum.
var owners struct {
	sync.Mutex
	m map[breaker.Circuit]*Coordinator
}

// own records that co owns c; false if another coordinator (or co) does.
// A circuit whose dynamic type cannot be a map key is not tracked.
func own(c breaker.Circuit, co *Coordinator) bool {
	if !reflect.TypeOf(c).Comparable() {
		return true
	}
	owners.Lock()
	defer owners.Unlock()
	if owners.m == nil {
		owners.m = map[breaker.Circuit]*Coordinator{}
	}
	if owners.m[c] != nil {
		return false
	}
	owners.m[c] = co
	return true
}

func disown(c breaker.Circuit, co *Coordinator) {
	if !reflect.TypeOf(c).Comparable() {
		return
	}
	owners.Lock()
	defer owners.Unlock()
	if owners.m[c] == co {
		delete(owners.m, c)
	}
}

// Attach shares c's circuit with the fleet under c's name, until detach is
// called or the coordinator is closed. It installs a transition listener
// and a probe gate on c, and reads the fleet's record (off the caller's
// path), so that a breaker attached during an outage opens with the fleet.
// Attach each breaker of a group.Group as it is created. A circuit needs a
// name, unique among those attached; a breaker belongs to at most one
// coordinator at a time (attached to two, its trips would count twice
// toward the quorum).
func (co *Coordinator) Attach(c breaker.Circuit) (detach func(), err error) {
	if c == nil || isNil(c) {
		return nil, errors.New("fleet: Attach: the circuit is nil")
	}
	name := c.Name()
	if name == "" {
		return nil, errors.New("fleet: Attach: the circuit has no name; its fleet record is found by name")
	}
	if !own(c, co) {
		return nil, errors.New("fleet: Attach: the breaker " + strconv.Quote(name) + " is already attached to a coordinator; detach it first")
	}
	m := &member{c: c, name: name, params: co.paramsFor(c), leases: map[breaker.ProbeID]heldLease{},
		sender: co.leases + "a" + strconv.FormatUint(co.attaches.Add(1), 10)}
	// The calls counted before the attachment are not the fleet's: a
	// breaker attached again sends only what it counts from now on.
	if mt := c.Metrics(); mt.Counted {
		m.baseS, m.baseF = mt.Successes, mt.Failures
	}
	m.rules = m.params.Rules()
	m.view.Store(&view{})
	co.mu.Lock()
	switch {
	case co.closed.Load():
		err = ErrClosed
	case co.circuits[name] != nil:
		err = errors.New("fleet: Attach: a circuit named " + strconv.Quote(name) + " is already attached")
	default:
		co.circuits[name] = m
	}
	co.mu.Unlock()
	if err != nil {
		disown(c, co)
		return nil, err
	}
	cancel := c.Subscribe(func(t breaker.Transition) { co.transition(m, t) })
	c.SetProbeGate(&gate{co: co, m: m})
	m.mu.Lock()
	if m.detached.Load() {
		// Close ran meanwhile, and left the undoing to us.
		m.mu.Unlock()
		cancel()
		c.SetProbeGate(nil)
		disown(c, co)
		return nil, ErrClosed
	}
	m.cancel = cancel
	m.mu.Unlock()
	co.enqueue(job{kind: jobSync, m: m})
	var once sync.Once
	return func() { once.Do(func() { co.detach(m, true) }) }, nil
}

// detach ends m's attachment: from then on no queued work applies a record
// to it or marks it unreadable. With back, it gives back the leases of m's
// probes in flight, whose reports no longer reach this coordinator, before
// it lets go of the breaker; otherwise it returns them, for Close to give
// back.
func (co *Coordinator) detach(m *member, back bool) []heldLease {
	m.mu.Lock()
	if m.detached.Load() {
		m.mu.Unlock()
		return nil
	}
	m.detached.Store(true)
	cancel := m.cancel
	var held []heldLease
	for _, l := range m.leases {
		held = append(held, l)
	}
	clear(m.leases)
	wasBad := m.bad
	m.bad = false
	m.mu.Unlock()
	if wasBad {
		co.bad.Add(-1)
	}
	if back {
		for _, l := range held {
			l.Outcome = breaker.Ignored
			co.giveBack(m, l.ProbeReport)
		}
		held = nil
	}
	if cancel != nil { // else Attach is still setting up, and undoes it
		cancel()
		m.c.SetProbeGate(nil)
		disown(m.c, co)
	}
	co.mu.Lock()
	if co.circuits[m.name] == m {
		delete(co.circuits, m.name)
	}
	co.mu.Unlock()
	return held
}
