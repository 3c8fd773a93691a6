package redisfleet_test

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tripwire-go/tripwire/fleet/fleetsim"
	"github.com/tripwire-go/tripwire/fleet/redisfleet"
	"github.com/tripwire-go/tripwire/fleet/redisfleet/internal/redistest"
)

var (
	simSeeds = flag.Int("sim.seeds", 30, "how many seeds TestSimRedis and TestSimCluster run")
	simSeed  = flag.Uint64("sim.seed", 0, "run only this seed, with its trace")
)

// serverClock is a run's virtual clock, and the time of the store's
// scripts set to it at every move: a real server cannot follow a virtual
// clock, so its time is offset to read the clock's (plus the little real
// time that passes between two moves).
type serverClock struct {
	*fleetsim.VirtualClock
	mu sync.Mutex
	s  *redisfleet.Store
}

func (c *serverClock) Advance(d time.Duration) {
	c.VirtualClock.Advance(d)
	c.sync()
}

func (c *serverClock) sync() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s != nil {
		redisfleet.SetTime(c.s, c.VirtualClock.Now())
	}
}

// simOverRedis runs the schedules of package fleetsim (the same seeds as
// package fleet's TestSim) over a redisfleet.Store on client, each seed
// under a prefix of its own. Drop deletes the circuit's keys, as a
// FLUSHALL or a restart would.
func simOverRedis(t *testing.T, client redis.UniversalClient) {
	first, n := uint64(1), *simSeeds
	if *simSeed != 0 {
		first, n = *simSeed, 1
	}
	start := time.Now()
	for seed := first; seed < first+uint64(n); seed++ {
		var clk *serverClock
		o := fleetsim.Options{
			Seed:                    seed,
			CallbacksUseCoordinator: true,
			NewClock: func(at time.Time) fleetsim.Clock {
				clk = &serverClock{VirtualClock: fleetsim.NewVirtualClock(at)}
				return clk
			},
			NewStore: func(fleetsim.Clock) (fleetsim.Target, error) {
				s := redisfleet.New(client, redisfleet.Options{Prefix: "sim" + strconv.FormatUint(seed, 10) + "-" + strconv.FormatInt(start.UnixNano(), 36)})
				clk.mu.Lock()
				clk.s = s
				clk.mu.Unlock()
				clk.sync()
				return fleetsim.Target{Store: s, Drop: func(name string) {
					if err := client.Del(context.Background(), redisfleet.Keys(s, name)...).Err(); err != nil {
						t.Errorf("seed %d: dropping the record: %v", seed, err)
					}
				}}, nil
			},
		}
		if *simSeed != 0 && testing.Verbose() {
			o.Echo = func(l string) { fmt.Println(l) }
		}
		if f := fleetsim.Run(o); f != nil {
			t.Fatal(f.Report())
		}
	}
	took := time.Since(start)
	t.Logf("%d seeds in %v: %.1f seeds/s", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
}

// TestSimRedis runs the fleet's deterministic simulation over a real
// redis-server, reached through the fault-injecting TCP proxy (the faults
// themselves are fleetsim's, injected at each step; the proxy puts a real
// network between the coordinators and the server).
func TestSimRedis(t *testing.T) {
	srv := redistest.Start(t)
	p := redistest.NewProxy(t, "unix", srv.Sock)
	c := redis.NewClient(&redis.Options{Network: "tcp", Addr: p.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	simOverRedis(t, c)
	calls := srv.CommandCalls(t)
	if calls["evalsha"] == 0 {
		t.Fatalf("no script reached the server: %v", calls)
	}
	t.Logf("scripts run on the server: %d", calls["evalsha"]+calls["eval"])
}

// TestSimCluster runs the same schedules over the Redis Cluster the tests
// share: every script's keys hash to one slot.
func TestSimCluster(t *testing.T) {
	c := redistest.SharedCluster(t).Client(t, nil)
	simOverRedis(t, c)
}
