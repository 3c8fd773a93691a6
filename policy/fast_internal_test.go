package policy

import (
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/internal/fastrec"
)

// The fast path's two guarantees, taken one step at a time as the state
// machine takes them (internal/fastrec): a success that read the window
// before a Reset counts into a window that is no longer read, and one
// that reaches a sealed window counts nothing, while the window's counts
// stay readable for the successor that takes them over.
//
// The windows are made with GOMAXPROCS 1, so that they have one stripe:
// a goroutine picks its stripe by its stack address, which a call a few
// frames deeper can change, and a success into a stripe's word that no
// call has tagged yet takes the fenced path, rightly, but not the one
// these tests take a step at a time.
func oneStripe(ps ...func() Policy) []Policy {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var out []Policy
	for _, p := range ps {
		out = append(out, p())
	}
	return out
}

var fastPolicies = []func() Policy{
	func() Policy { return Rate(0.5, 20, time.Minute) },
	func() Policy { return Window(5, time.Minute) },
}

func TestFastSuccessAfterReset(t *testing.T) {
	at := epochs.Today
	for _, p := range oneStripe(fastPolicies...) {
		r := fastrec.Of(p)
		if r == nil {
			t.Fatalf("%v: no fast path", p)
		}
		if _, ok := r.RecordSuccess(r.Window(), at); ok {
			t.Fatalf("%v: a success into a window without a head took the fast path", p)
		}
		p.Record(Call{At: at}) // the first call places the head
		if _, ok := r.RecordSuccess(r.Window(), at); !ok {
			t.Fatalf("%v: a success into the head bucket did not take the fast path", p)
		}
		stale := r.Window() // read before the Reset, as Record reads it
		p.Reset()
		if _, ok := r.RecordSuccess(stale, at); !ok {
			t.Fatalf("%v: the stale success did not take the fast path", p)
		}
		if c := r.Window().Sum(at); c.Calls != 0 {
			t.Errorf("%v: %d calls after the Reset, want 0: a success admitted before it counted after it", p, c.Calls)
		}
		// The newest time seen survives the Reset, as window.Time.Reset
		// keeps it: a call timed before it counts into its bucket, and
		// the next one takes the fast path.
		p.Record(Call{At: at.Add(-time.Minute)})
		if _, ok := r.RecordSuccess(r.Window(), at.Add(-time.Minute)); !ok {
			t.Errorf("%v: a late success after the Reset did not take the fast path", p)
		}
		if c := r.Window().Sum(at); c.Calls != 2 {
			t.Errorf("%v: %d calls after the Reset, want 2", p, c.Calls)
		}
	}
}

func TestFastSuccessIntoSealedWindow(t *testing.T) {
	at := epochs.Today
	for _, p := range oneStripe(fastPolicies...) {
		r := fastrec.Of(p)
		p.Record(Call{Failed: true, At: at})
		for range 3 {
			r.RecordSuccess(r.Window(), at)
		}
		before := r.Window().Sum(at)
		w := r.Window()
		r.Seal()
		if _, ok := r.RecordSuccess(w, at); ok {
			t.Errorf("%v: a success counted into a sealed window", p)
		}
		if got := r.Window().Sum(at); got != before {
			t.Errorf("%v: sealed window sums %+v, want %+v as before the seal", p, got, before)
		}
		succ := Rate(0.5, 20, 2*time.Minute)
		if !succ.TakeOver(p, at) {
			t.Fatalf("%v: not taken over", p)
		}
		if got := succ.win().Sum(at); got != before {
			t.Errorf("%v: successor took over %+v, want %+v", p, got, before)
		}
		r.Unseal()
		if _, ok := r.RecordSuccess(w, at); !ok {
			t.Errorf("%v: an unsealed window refused a success", p)
		}
		if got := r.Window().Sum(at).Calls; got != before.Calls+1 {
			t.Errorf("%v: %d calls after the unseal, want %d", p, got, before.Calls+1)
		}
		r.Retire()
		if got := r.Window().Sum(at).Calls; got != 0 {
			t.Errorf("%v: %d calls once retired, want 0", p, got)
		}
	}
}

// TestTimedPoliciesFillTheirLines pins the fault behind the bimodal
// parallel Window Records: a WindowPolicy of 32 bytes shared its cache
// line with the next object of its size class, and when that object was
// written on every call (a parallel benchmark's testing.PB), every Record
// on another core missed its cache. The policies every call reads fill
// whole cache lines, which the allocator places on lines of their own.
func TestTimedPoliciesFillTheirLines(t *testing.T) {
	for _, c := range []struct {
		name string
		size uintptr
	}{
		{"WindowPolicy", unsafe.Sizeof(WindowPolicy{})},
		{"RatePolicy", unsafe.Sizeof(RatePolicy{})},
		{"SlowPolicy", unsafe.Sizeof(SlowPolicy{})},
	} {
		if c.size%lineSize != 0 {
			t.Errorf("%s is %d bytes, not a multiple of %d: it shares a cache line with its neighbour", c.name, c.size, lineSize)
		}
	}
}
