package fleet

// Seams for the deterministic simulation (package fleetsim), which cannot
// see inside a Coordinator: what it knows, and a way to hand it an event
// when it is driven (a driven coordinator subscribes to nothing).

// KnownRecord returns the record co knows for the circuit name: false if
// none is attached under that name or none is known yet.
func KnownRecord(co *Coordinator, name string) (Record, bool) {
	m := co.member(name)
	if m == nil {
		return Record{}, false
	}
	k := m.known.Load()
	if k == nil {
		return Record{}, false
	}
	return *k, true
}

// DeliverEvent hands rec to co as its events loop would.
func DeliverEvent(co *Coordinator, rec Record) {
	co.stats.events.Add(1)
	if m := co.member(rec.Name); m != nil {
		co.observeEvent(m, rec)
	}
}
