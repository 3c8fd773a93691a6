package console

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
)

// The error rate is recent: once the console has seen a circuit for a
// minute, old failures stop counting against it; before, it is lifelong.
// A circuit no listing saw for a while is forgotten.
func TestRatesAreRecent(t *testing.T) {
	var r rates
	now := epochs.Today
	read := func(s, f uint64) circuitJSON {
		j := circuitJSON{countsJSON: countsJSON{Name: "db"}}
		r.recent(&j, breaker.Metrics{Successes: s, Failures: f}, now)
		return j
	}
	if j := read(50, 50); j.ErrorRate != 0.5 || j.Volume != 100 {
		t.Fatalf("first read: %v %v, want the lifelong 0.5 of 100", j.ErrorRate, j.Volume)
	}
	now = now.Add(rateWindow)
	read(150, 50) // a healthy minute
	now = now.Add(rateWindow)
	if j := read(250, 50); j.ErrorRate != 0 || j.Volume != 100 {
		t.Fatalf("after two healthy minutes: %v %v, want 0 of the last minute's 100", j.ErrorRate, j.Volume)
	}
	r.forget(now.Add(forgetAfter + time.Second))
	if len(r.samples) != 0 {
		t.Fatalf("%d circuits kept after %v unseen", len(r.samples), forgetAfter)
	}
}
