package redisfleet_test

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/fleet/fleettest"
	"github.com/tripwire-go/tripwire/fleet/redisfleet"
	"github.com/tripwire-go/tripwire/fleet/redisfleet/internal/redistest"
)

// countHook counts what a client sends: single commands and pipelines.
type countHook struct{ single, pipelines atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.single.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.pipelines.Add(1)
		return next(ctx, cmds)
	}
}

// TestFlushIsOneRoundTrip: the flush of many circuits is one pipeline,
// once the server has the script.
func TestFlushIsOneRoundTrip(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	h := &countHook{}
	c.AddHook(h)
	s := redisfleet.New(c, redisfleet.Options{})
	batch := make([]fleet.Counts, 50)
	for i := range batch {
		batch[i] = fleet.Counts{Name: "dep" + strconv.Itoa(i), Instance: "a"}
	}
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil { // the connection's handshake is not the flush's
		t.Fatal(err)
	}
	for round := range 3 {
		h.single.Store(0)
		h.pipelines.Store(0)
		recs, errs, err := s.Flush(ctx, batch, fleettest.Params())
		if err != nil || len(recs) != len(batch) {
			t.Fatalf("Flush: %v, %d records", err, len(recs))
		}
		for i, e := range errs {
			if e != nil || recs[i].Name != batch[i].Name {
				t.Fatalf("record %d: %+v %v", i, recs[i], e)
			}
		}
		if round == 0 {
			// NOSCRIPT: the first step goes again by EVAL, which loads the
			// script, and the others by EVALSHA after it (go-redis also
			// dials a fresh connection after the errors).
			calls := srv.CommandCalls(t)
			if calls["eval"] != 1 || calls["evalsha"] != int64(2*len(batch)-1) || calls["script|load"] != 0 {
				t.Fatalf("first flush of %d circuits: %d EVAL, %d EVALSHA, %d SCRIPT LOAD; want 1, %d, 0",
					len(batch), calls["eval"], calls["evalsha"], calls["script|load"], 2*len(batch)-1)
			}
			continue
		}
		if h.single.Load() != 0 || h.pipelines.Load() != 1 {
			t.Fatalf("round %d: %d commands and %d pipelines for a flush of %d circuits, want one pipeline",
				round, h.single.Load(), h.pipelines.Load(), len(batch))
		}
	}
}

// TestMalformedEventsAreDropped: a message on the events channel that is
// not a record is dropped, and the records after it still come.
func TestMalformedEventsAreDropped(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	s := redisfleet.New(c, redisfleet.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, junk := range []string{"", "x", "1|a|b|c|d|e|f|g|h|dep", "9|inc|2|1|0|5|1|0|0|dep", "1|inc|2|7|0|5|1|0|0|dep"} {
		if err := c.Publish(ctx, "tw:events", junk).Err(); err != nil {
			t.Fatal(err)
		}
	}
	p := fleettest.Params()
	p.Quorum = 1
	r, err := s.Trip(ctx, "dep", fleet.TripRequest{Instance: "a"}, p)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-ch:
		if ev.Generation != r.Generation || ev.State != breaker.Open || ev.Incarnation != r.Incarnation {
			t.Fatalf("first event delivered: %+v, want the trip's record %+v", ev, r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
}

// TestCloseLeavesNoGoroutineOverRedis: a coordinator over Redis, with its
// subscription, leaves no goroutine behind once it and its client are
// closed, also when the server went away meanwhile.
func TestCloseLeavesNoGoroutineOverRedis(t *testing.T) {
	srv := redistest.Start(t)
	before := runtime.NumGoroutine()
	for _, kill := range []bool{false, true} {
		c := redis.NewClient(&redis.Options{Network: "unix", Addr: srv.Sock, ContextTimeoutEnabled: true})
		co, err := fleet.New(fleet.Config{Store: redisfleet.New(c, redisfleet.Options{}), Instance: "a", FlushInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := breaker.New(breaker.Config[int]{Name: "dep"})
		if _, err := co.Attach(b); err != nil {
			t.Fatal(err)
		}
		if err := co.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		if kill {
			srv.Stop()
			_ = co.Sync(context.Background())
		}
		if err := co.Close(); err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
