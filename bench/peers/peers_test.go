package peers

import (
	"slices"
	"sync/atomic"
	"testing"
)

// benchmark is one generated benchmark loop (see cmd/genbench).
type benchmark struct {
	order               int // place in the run: scenario, then lib, then mode
	scenario, lib, mode string
	run                 func(*testing.B)
}

// benchmarks is filled by the generated file.
var benchmarks []benchmark

// BenchmarkPeers runs every library in every scenario and mode, as
// BenchmarkPeers/scenario=S/lib=L/mode=M.
func BenchmarkPeers(b *testing.B) {
	slices.SortFunc(benchmarks, func(x, y benchmark) int { return x.order - y.order })
	for _, bm := range benchmarks {
		b.Run("scenario="+bm.scenario+"/lib="+bm.lib+"/mode="+bm.mode, bm.run)
	}
}

// mustBeClosed fails b unless a is closed after its loop: a benchmark of a
// closed circuit that tripped on the way measured rejections instead.
func mustBeClosed(b *testing.B, a Adapter) {
	b.Helper()
	if !a.Closed() {
		b.Fatalf("%T tripped during a closed-circuit benchmark", a)
	}
}

// mustBeOpen fails b unless a is still open after its loop.
func mustBeOpen(b *testing.B, a Adapter) {
	b.Helper()
	if a.Closed() {
		b.Fatalf("%T closed during an open-circuit benchmark", a)
	}
}

// phaser gives each RunParallel goroutine of a failure benchmark its own
// place in the one-in-ten cycle, so that the goroutines' failures do not
// line up: with up to 10 goroutines no two fail in step, and five failures
// in a row would need five goroutines to fail back to back. (3 is coprime
// with 10, so the first ten phases are all different.)
type phaser struct{ n atomic.Int64 }

func (p *phaser) next() int { return int(p.n.Add(3) % 10) }
