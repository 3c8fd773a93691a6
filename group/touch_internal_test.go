package group

import "testing"

// A Get that read the period just before it moved on stores it after a
// later Get stored the newer one. touch used to store whatever period it
// read when it differed from the entry's, so the entry went back to the
// older period and looked idle in the period it was used in: the next sweep
// evicted a breaker in use. touchAt only moves forward.
func TestTouchNeverStoresAnOlderPeriod(t *testing.T) {
	e := &entry[int]{}
	touchAt(e, 6) // a Get in period 6
	touchAt(e, 5) // a Get that read period 5 before it ended
	if got := e.seen.Load(); got != 6 {
		t.Fatalf("seen = %d after uses in periods 6 and 5, want 6", got)
	}
	touchAt(e, 7)
	if got := e.seen.Load(); got != 7 {
		t.Fatalf("seen = %d after a use in period 7, want 7", got)
	}
}
