package group

import "testing"

// goid tells the goroutine delivering callbacks from the others: it must
// give each goroutine its own positive id, and the same one every time.
func TestGoidTellsGoroutinesApart(t *testing.T) {
	mine := goid()
	other := make(chan int64)
	go func() { other <- goid() }()
	theirs := <-other
	if mine <= 0 || theirs <= 0 || mine == theirs || goid() != mine {
		t.Fatalf("goid: %d here (then %d), %d on another goroutine", mine, goid(), theirs)
	}
}
