package breaker

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// readCounter is a clock that counts its reads, each a microsecond after
// the one before.
type readCounter struct {
	mu    sync.Mutex
	at    time.Time
	reads int
}

func (c *readCounter) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	c.at = c.at.Add(time.Microsecond)
	return c.at
}

func (c *readCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// A coarse clock reads its clock once per period, however many calls
// ask, gives them that reading, and reads again once the period's timer
// has fired (called here by hand: the period is an hour).
func TestCoarseClockReadsOncePerPeriod(t *testing.T) {
	clk := &readCounter{at: epochs.Today}
	c := newCoarseClock(clk, time.Hour)
	defer c.timer.Stop()
	first := c.Now()
	for range 100 {
		if got := c.Now(); !got.Equal(first) {
			t.Fatalf("Now = %v within the period, want its reading %v", got, first)
		}
	}
	if n := clk.count(); n != 1 {
		t.Fatalf("%d clock reads in one period, want 1", n)
	}
	c.expire()
	if second := c.Now(); !second.After(first) || clk.count() != 2 {
		t.Fatalf("after the period: Now = %v (the first reading %v), %d reads; want a new reading", second, first, clk.count())
	}
}

// Callers that find the period over at once each read the clock, and one
// of them begins the next period: the others' calls are not held up.
func TestCoarseClockConcurrentRefresh(t *testing.T) {
	clk := &readCounter{at: epochs.Today}
	c := newCoarseClock(clk, time.Hour)
	defer c.timer.Stop()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.Now()
			}
		}()
	}
	wg.Wait()
	if n := clk.count(); n < 1 || n > 8 {
		t.Fatalf("%d clock reads by 8 goroutines in one period, want 1 to 8", n)
	}
	if !c.armed.Load() || c.now.Load() == nil {
		t.Fatal("no period begun")
	}
}

// Which breakers read a coarse clock: on the real clock, those whose
// policy needs the time of each call to within a tolerance (of minCoarse
// or more) and not its duration. A Clock of the user's, a policy that needs the exact time or
// the duration, or one that needs no time, is read as before.
func TestCoarseClockOnlyWhereTermsAllow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config[int]
		coarse bool
	}{
		{"rate", Config[int]{Policy: policy.Rate(0.5, 20, time.Minute)}, true},
		{"window", Config[int]{Policy: policy.Window(5, time.Minute)}, true},
		{"any(consecutive, rate)", Config[int]{Policy: policy.Any(policy.Consecutive(5), policy.Rate(0.5, 20, time.Minute))}, true},
		{"default", Config[int]{}, false},
		{"rate over 100ms: a timer too busy", Config[int]{Policy: policy.Rate(0.5, 20, 100*time.Millisecond)}, false},
		{"slow", Config[int]{Policy: policy.Slow(time.Second, 0.5, 20, time.Minute)}, false},
		{"rate on a clock of the user's", Config[int]{Policy: policy.Rate(0.5, 20, time.Minute), Clock: &readCounter{at: epochs.Today}}, false},
		{"exact time", Config[int]{Policy: exactTime{}}, false},
		{"any(exact time, rate)", Config[int]{Policy: policy.Any(exactTime{}, policy.Rate(0.5, 20, time.Minute))}, false},
	} {
		b, err := New(tc.cfg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := b.coarse.Load() != nil; got != tc.coarse {
			t.Errorf("%s: coarse clock %v, want %v", tc.name, got, tc.coarse)
		}
	}
}

// exactTime is a policy that asks for the time of each call with Need:
// the exact time.
type exactTime struct{}

func (exactTime) Record(policy.Call) bool { return false }
func (exactTime) Reset()                  {}
func (exactTime) Bind(b *policy.Binding) error {
	b.Need(policy.NeedTime)
	return nil
}

// A Rate breaker on the real clock gives its policy the coarse clock's
// reading: many closed calls, successes and failures, through Execute and
// Allow, read the clock once.
func TestCoarseClockFeedsClosedCalls(t *testing.T) {
	b, err := New(Config[int]{Policy: policy.Rate(0.9, 1000, time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.coarse.Load().timer.Stop()
	clk := &readCounter{at: epochs.Today}
	// Before any call, so no race: a clock that counts, and a period
	// that cannot end while the test runs.
	b.coarse.Load().clock, b.coarse.Load().every = clk, time.Hour
	ok := func(context.Context) (int, error) { return 1, nil }
	bad := func(context.Context) (int, error) { return 0, context.DeadlineExceeded }
	for i := range 50 {
		fn := ok
		if i%5 == 0 {
			fn = bad
		}
		b.Execute(context.Background(), fn)
		p, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		p.Done(1, nil)
	}
	if n := clk.count(); n != 1 {
		t.Fatalf("%d clock reads for 100 closed calls in one period, want 1", n)
	}
}
