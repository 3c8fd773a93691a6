package stripe

import (
	"math/rand/v2"
	"testing"
)

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

// TestResaltPartsCollidingStacks pins the fault that made parallel window
// Records bimodal: the salt was added to the stack address, which left the
// distance between two goroutines' hashes as it was, so that one pair of
// stacks in eight shared a stripe under every salt, and Contended could
// not part them. For every distance between two stacks, the salts that
// Contended draws must part the pair as often as chance does.
func TestResaltPartsCollidingStacks(t *testing.T) {
	const mask, salts = 7, 64
	x := uint64(0xc000123000 >> 11) // a stack address, in units of 2 KiB
	rng := rand.New(rand.NewPCG(1, 2))
	stuck := 0
	for d := uint64(1); d <= 4096; d++ {
		shared := 0
		for range salts {
			s := rng.Uint64()
			if pick(x, s, mask) == pick(x+d, s, mask) {
				shared++
			}
		}
		// By chance, a pair shares one stripe in eight (8 of 64 salts):
		// half of them is far out.
		if shared >= salts/2 {
			stuck++
		}
	}
	if stuck > 0 {
		t.Fatalf("%d of 4096 distances between two stacks share a stripe under half the salts or more, want none", stuck)
	}
}
