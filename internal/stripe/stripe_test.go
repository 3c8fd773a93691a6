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
	// Eight goroutines, alive at once and each on a stack of its own, pick
	// before the salt moves and again after it, on the same stacks.
	// (Goroutines run one after another reuse one cached stack and all pick
	// alike, so comparing such runs matched by chance one time in eight.)
	var before, after [8]uintptr
	picked, moved, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	for i := range before {
		go func() {
			defer func() { done <- struct{}{} }()
			before[i] = p.Pick(mask)
			if again := p.Pick(mask); again != before[i] {
				t.Errorf("goroutine %d picks %d, then %d", i, before[i], again)
			}
			picked <- struct{}{}
			<-moved
			after[i] = p.Pick(mask)
		}()
		<-picked
	}
	salt := p.salt.Load()
	for p.salt.Load() == salt {
		p.Contended()
	}
	close(moved)
	for range before {
		<-done
	}
	// The new salt must move at least one of them: eight stacks that all
	// keep their stripes under a new multiplier happen one time in 8^8.
	if after == before {
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
