package breaker

import (
	"runtime"
	"sync/atomic"
	"testing"
	"unsafe"
)

// sharedCounters is what counters would be without shards: one cache line
// that every core writes. Kept to measure the sharding against.
type sharedCounters struct {
	_ [64]byte
	n [kindRejected + 1]atomic.Uint64
	_ [64]byte
}

//go:noinline
func (c *sharedCounters) add(k int) { c.n[k].Add(1) }

// BenchmarkCounters compares the sharded counters of CountCalls with a
// single shared line. The difference shows in mode=parallel, and grows
// with the number of cores.
func BenchmarkCounters(b *testing.B) {
	b.Run("kind=shared/mode=serial", func(b *testing.B) {
		c := new(sharedCounters)
		b.ReportAllocs()
		for b.Loop() {
			c.add(0)
		}
	})
	b.Run("kind=shared/mode=parallel", func(b *testing.B) {
		c := new(sharedCounters)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.add(0)
			}
		})
	})
	b.Run("kind=sharded/mode=serial", func(b *testing.B) {
		c := newCounters()
		b.ReportAllocs()
		for b.Loop() {
			c.add(0)
		}
	})
	b.Run("kind=sharded/mode=parallel", func(b *testing.B) {
		c := newCounters()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.add(0)
			}
		})
	})
}

// Every shard is one cache line, so that shards written by different
// cores do not share one.
func TestShardIsOneCacheLine(t *testing.T) {
	if n := len(newCounters().shards); n < 1 || n > maxShards || n&(n-1) != 0 {
		t.Fatalf("%d shards, want a power of two in [1, %d]", n, maxShards)
	}
	var s shard
	if size := int(unsafe.Sizeof(s)); size != 64 {
		t.Fatalf("a shard is %d bytes, want 64", size)
	}
}

// The shards of every count up to maxShards start on a cache line, as the
// counters doc says the allocator places them: a misaligned block would
// put each shard across two lines, shared with its neighbours.
func TestShardsAreCacheLineAligned(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for procs := 1; procs <= maxShards; procs <<= 1 {
		runtime.GOMAXPROCS(procs)
		c := newCounters()
		want := 1
		if procs > 1 {
			want = min(4*procs, maxShards)
		}
		if len(c.shards) != want {
			t.Fatalf("GOMAXPROCS %d: %d shards, want %d", procs, len(c.shards), want)
		}
		if p := uintptr(unsafe.Pointer(&c.shards[0])); p%64 != 0 {
			t.Fatalf("GOMAXPROCS %d: shards at %#x, not on a 64-byte boundary", procs, p)
		}
	}
}
