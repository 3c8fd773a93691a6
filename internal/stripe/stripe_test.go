package stripe

import "testing"

// A goroutine keeps its stripe from pick to pick, and Contended, once it
// has moved the salt, moves goroutines: the picks of a few goroutines on
// stacks of their own change.
func TestPickIsStableUntilContended(t *testing.T) {
	var p Picker
	const mask = 7
	if a, b := p.Pick(mask), p.Pick(mask); a != b || a > mask {
		t.Fatalf("picks %d and %d, want one stripe in [0, %d]", a, b, mask)
	}
	picks := func() (s [8]uintptr) {
		done := make(chan struct{})
		for i := range s {
			go func() {
				defer func() { done <- struct{}{} }()
				s[i] = p.Pick(mask)
			}()
			<-done
		}
		return s
	}
	before := picks()
	salt := p.salt.Load()
	for p.salt.Load() == salt {
		p.Contended()
	}
	// Goroutines' stacks come from a cache, so the same stacks pick again;
	// the new salt must move at least one of them.
	if after := picks(); after == before {
		t.Fatalf("the same picks %v after the salt moved", after)
	}
}
