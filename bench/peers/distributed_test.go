package peers

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/fleet/redisfleet"
)

// The distributed comparison: gobreaker v2's DistributedCircuitBreaker and
// tripwire's fleet over the same redis-server, on the same workload — four
// instances (each its own client and breaker, in one process), each with
// one caller making closed, successful calls — counting the commands Redis
// ran per call (INFO commandstats) and the calls per second.

// redisStore is gobreaker's SharedDataStore over go-redis, as its README
// suggests with redsync: a lock by SET NX PX (the 5 s expiry gobreaker
// uses), tried up to 32 times 1 ms apart (redsync's tries, with a shorter
// delay than its 50-250 ms, to favour gobreaker), released by DEL, and the
// state under a plain key. gobreaker itself waits 500 ms after a Lock that
// failed.
type redisStore struct {
	c *redis.Client
}

func (s *redisStore) Lock(name string) error {
	tok := make([]byte, 8)
	_, _ = rand.Read(tok)
	t := hex.EncodeToString(tok)
	for try := 0; try < 32; try++ {
		ok, err := s.c.SetNX(context.Background(), name, t, 5*time.Second).Result()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		d := time.NewTimer(time.Millisecond)
		<-d.C
	}
	return errors.New("lock: taken")
}

func (s *redisStore) Unlock(name string) error {
	return s.c.Del(context.Background(), name).Err()
}

func (s *redisStore) GetData(name string) ([]byte, error) {
	b, err := s.c.Get(context.Background(), name).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

func (s *redisStore) SetData(name string, data []byte) error {
	return s.c.Set(context.Background(), name, data, 0).Err()
}

func startRedis(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is not installed, and CI=true needs it: %v", err)
		}
		t.Skip("redis-server is not installed")
	}
	dir, err := os.MkdirTemp("", "rp")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "redis.sock")
	cmd := exec.Command("redis-server", "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no", "--dir", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.RemoveAll(dir)
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		found := false
		for sc.Scan() {
			if !found && strings.Contains(strings.ToLower(sc.Text()), "ready to accept connections") {
				found = true
				ready <- true
			}
		}
		if !found {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("redis-server exited before it was ready")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("redis-server was not ready within 10s")
	}
	return sock
}

func commands(t *testing.T, c *redis.Client) int64 {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") || name == "cmdstat_info" {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				x, _ := strconv.ParseInt(v, 10, 64)
				n += x
			}
		}
	}
	return n
}

func TestDistributedRoundTrips(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a redis-server")
	}
	sock := startRedis(t)
	newClient := func() *redis.Client {
		c := redis.NewClient(&redis.Options{Network: "unix", Addr: sock, ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	admin := newClient()
	const instances, callsEach = 4, 300
	run := func(call []func() error) (perSec float64, perCall float64) {
		before := commands(t, admin)
		start := time.Now()
		var wg sync.WaitGroup
		var failed sync.Map
		for i, f := range call {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range callsEach {
					if err := f(); err != nil {
						failed.Store(i, err)
					}
				}
			}()
		}
		wg.Wait()
		d := time.Since(start)
		failed.Range(func(k, v any) bool {
			t.Errorf("instance %v: %v", k, v)
			return false
		})
		total := float64(instances * callsEach)
		// Commands the scripts run (HGETALL, PUBLISH...) are counted by
		// INFO too; for tripwire there are only a few flushes here.
		return total / d.Seconds(), float64(commands(t, admin)-before) / total
	}
	ok := func() (int, error) { return 1, nil }

	var gb []func() error
	for range instances {
		store := &redisStore{c: newClient()}
		cb, err := gobreaker.NewDistributedCircuitBreaker[int](store, gobreaker.Settings{Name: "dep", MaxRequests: Probes, Timeout: OpenFor})
		if err != nil {
			t.Fatal(err)
		}
		gb = append(gb, func() error { _, err := cb.Execute(ok); return err })
	}
	gbRate, gbCmds := run(gb)

	var tw []func() error
	ctx := context.Background()
	for i := range instances {
		co, err := fleet.New(fleet.Config{Store: redisfleet.New(newClient(), redisfleet.Options{}), Instance: "i" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = co.Close() })
		b, err := breaker.New(breaker.Config[int]{Name: "dep"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := co.Attach(b); err != nil {
			t.Fatal(err)
		}
		tw = append(tw, func() error {
			_, err := b.Execute(ctx, func(context.Context) (int, error) { return 1, nil })
			return err
		})
	}
	twRate, twCmds := run(tw)
	t.Logf("gobreaker v2 DistributedCircuitBreaker: %.2f Redis commands per call, %.0f calls/s (%d instances, one caller each)", gbCmds, gbRate, instances)
	t.Logf("tripwire fleet (redisfleet): %.4f Redis commands per call, %.0f calls/s (the calls do nothing: this is the breaker's cost alone)", twCmds, twRate)
	if twCmds > 0.1 {
		t.Errorf("tripwire: %.4f commands per closed call; none is on the call path", twCmds)
	}
}
