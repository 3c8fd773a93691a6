package goid_test

import (
	"testing"

	"github.com/tripwire-go/tripwire/internal/goid"
)

// Current tells the goroutine running callbacks from the others: it must
// give each goroutine its own positive id, and the same one every time.
func TestCurrentTellsGoroutinesApart(t *testing.T) {
	mine := goid.Current()
	other := make(chan int64)
	go func() { other <- goid.Current() }()
	theirs := <-other
	if mine <= 0 || theirs <= 0 || mine == theirs || goid.Current() != mine {
		t.Fatalf("goid: %d here (then %d), %d on another goroutine", mine, goid.Current(), theirs)
	}
}
