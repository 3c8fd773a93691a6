package lab

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// genTrace is a trace of n calls, 1,000 a second, generated line by line
// as it is read, so that the test holds none of it: 1% of calls fail, and
// 90% from the 30% mark to the 42% mark (an outage).
type genTrace struct {
	n, i    int
	buf     []byte
	onLine  func(i int)
	started bool
}

func (g *genTrace) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && g.i < g.n {
		if !g.started {
			g.buf = append(g.buf, "start,duration_ms,status\n"...)
			g.started = true
		}
		status := 200
		switch {
		case g.i >= g.n*30/100 && g.i < g.n*42/100 && g.i%10 != 0:
			status = 503
		case g.i%100 == 0:
			status = 500
		}
		g.buf = fmt.Appendf(g.buf, "%d,%d,%d\n", 1796047200000+int64(g.i), 20+g.i%60, status)
		if g.onLine != nil && g.i%1_000 == 0 {
			g.onLine(g.i)
		}
		g.i++
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[:copy(g.buf, g.buf[n:])]
	return n, nil
}

// peakHeap replays a generated trace of n calls against the default
// candidates and returns the most heap in use seen while it ran.
func peakHeap(t *testing.T, n int) uint64 {
	t.Helper()
	var peak uint64
	g := &genTrace{n: n, onLine: func(int) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapAlloc)
	}}
	// A reorder window of a second holds 1,000 calls: what is left to
	// grow is what would grow with the calls.
	rep, err := ReplayTrace(g, Trace{Reorder: time.Second}, DefaultCandidates(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Scenarios[0].Results[0].Calls; got != n {
		t.Fatalf("%d calls replayed, want %d", got, n)
	}
	return peak
}

// A trace streams: the heap in use while replaying 200,000 calls is no
// larger than while replaying 25,000, give or take a megabyte of garbage
// between two collections. Kept calls would take 175,000 × 40 bytes, 7 MB,
// more. (What a replay holds is the calls within the reorder window, a
// second here, and the transitions, a few per trip.)
func TestReplayTraceBoundedMemory(t *testing.T) {
	n := 25_000
	if raceEnabled {
		n = 5_000
	}
	// Collect often, so that the heap in use tracks what is live.
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	runtime.GC()
	small := peakHeap(t, n)
	runtime.GC()
	large := peakHeap(t, 8*n)
	t.Logf("peak heap: %d KiB for %d calls, %d KiB for %d", small>>10, n, large>>10, 8*n)
	if large > small+1<<20 {
		t.Errorf("peak heap grew from %d KiB to %d KiB with eight times the calls: the trace is not streamed", small>>10, large>>10)
	}
}

// BenchmarkReplayTrace replays a generated trace against the six default
// candidates; ns/op divided by the calls is the cost of one call through
// six breakers, parsing included.
func BenchmarkReplayTrace(b *testing.B) {
	for _, n := range []int{100_000} {
		b.Run(fmt.Sprintf("calls=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ReplayTrace(&genTrace{n: n}, Trace{}, DefaultCandidates(), Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/call")
		})
	}
}
