package fleet

// View is what a coordinator knows of one attached circuit, for an
// operator's page: see [Coordinator.View].
type View struct {
	// Record is the newest record of the circuit seen from the store;
	// meaningful only when Known is true.
	Record Record
	// Known is false until the coordinator has read the circuit's record.
	Known bool
	// Degraded is Coordinator.Degraded: the breakers work locally.
	Degraded bool
}

// View returns what the coordinator knows of the attached circuit name,
// and false if no circuit of that name is attached. It reads what the
// coordinator holds, with no round trip to the store, so an operator's page
// may call it for every circuit it shows.
func (co *Coordinator) View(name string) (View, bool) {
	m := co.member(name)
	if m == nil {
		return View{}, false
	}
	out := View{Degraded: co.Degraded()}
	if v := m.view.Load(); v.known {
		out.Record, out.Known = v.rec, true
	}
	return out, true
}
