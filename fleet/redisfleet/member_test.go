package redisfleet_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/fleet/redisfleet"
	"github.com/tripwire-go/tripwire/policy"
)

// The member role of the multi-process test: the test binary, run again
// with memberEnv set, is one instance of a service. It calls the parent's
// dependency through a breaker (shared through a coordinator unless
// memberShared is "0") and talks to the parent on stdin and stdout:
//
//	stdin:  "phase NAME" starts a phase (the stats of the last one are
//	        printed); "quit" prints the final stats and exits.
//	stdout: "tr FROM TO CAUSE GEN", each transition;
//	        "deg 0|1", each change of Coordinator.Degraded;
//	        "stats PHASE maxwait=NS calls=N rejected=N admitted=N local=N
//	        timeouts=N" (the probe gate's answers in the phase),
//	        "rtt calls=N" at exit.
const (
	memberEnv     = "TW_FLEET_MEMBER"
	memberRedis   = "TW_FLEET_REDIS"   // network:address
	memberDep     = "TW_FLEET_DEP"     // the dependency's URL
	memberShared  = "TW_FLEET_SHARED"  // "0": no coordinator
	memberOffset  = "TW_FLEET_OFFSET"  // the member's clock offset, a time.Duration
	memberWorkers = "TW_FLEET_WORKERS" // calling goroutines
	memberEvery   = "TW_FLEET_EVERY"   // each goroutine's time between calls
)

// The rules of the multi-process test's fleet.
const (
	mpFailures     = 5
	mpOpenTimeout  = time.Second
	mpProbes       = 3
	mpGateTimeout  = 20 * time.Millisecond
	mpFlush        = 100 * time.Millisecond
	mpStepTimeout  = 200 * time.Millisecond
	mpProbeTimeout = 2 * time.Second
)

type offsetClock time.Duration

func (c offsetClock) Now() time.Time { return time.Now().Add(time.Duration(c)) }

func memberMain() {
	out := &lineWriter{w: bufio.NewWriter(os.Stdout)}
	id := os.Getenv(memberEnv)
	network, addr, _ := cut(os.Getenv(memberRedis), ':')
	offset, _ := time.ParseDuration(os.Getenv(memberOffset))
	workers, _ := strconv.Atoi(os.Getenv(memberWorkers))
	every, _ := time.ParseDuration(os.Getenv(memberEvery))
	clk := offsetClock(offset)
	b, err := breaker.New(breaker.Config[int]{
		Name: "dep", Policy: policy.Consecutive(mpFailures), OpenTimeout: mpOpenTimeout,
		HalfOpenProbes: mpProbes, Clock: clk,
	})
	if err != nil {
		panic(err)
	}
	b.Subscribe(func(t breaker.Transition) {
		out.printf("tr %v %v %v %d", t.From, t.To, t.Cause, t.Generation)
	})
	var co *fleet.Coordinator
	if os.Getenv(memberShared) != "0" {
		c := redis.NewClient(&redis.Options{
			Network: network, Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1,
			DialTimeout: mpStepTimeout, ReadTimeout: mpStepTimeout, WriteTimeout: mpStepTimeout,
			PoolTimeout: mpStepTimeout,
		})
		co, err = fleet.New(fleet.Config{
			Store: redisfleet.New(c, redisfleet.Options{Prefix: "mp"}), Instance: "m" + id,
			Quorum: 2, OpenTimeout: mpOpenTimeout, Backoff: &breaker.Backoff{Factor: 2, Max: 2 * time.Second},
			Probes: mpProbes, ProbeTimeout: mpProbeTimeout, FlushInterval: mpFlush,
			GateTimeout: mpGateTimeout, StepTimeout: mpStepTimeout, Clock: clk,
		})
		if err != nil {
			panic(err)
		}
		if _, err := co.Attach(b); err != nil {
			panic(err)
		}
	}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	dep := os.Getenv(memberDep)
	var maxWait, calls, rejected atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				var inFn time.Duration
				start := time.Now()
				_, err := b.Execute(context.Background(), func(ctx context.Context) (int, error) {
					s := time.Now()
					defer func() { inFn = time.Since(s) }()
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, dep, nil)
					req.Header.Set("X-Member", id)
					resp, err := hc.Do(req)
					if err != nil {
						return 0, err
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						return 0, errors.New(resp.Status)
					}
					return 1, nil
				})
				wait := int64(time.Since(start) - inFn)
				for w := maxWait.Load(); wait > w && !maxWait.CompareAndSwap(w, wait); w = maxWait.Load() {
				}
				calls.Add(1)
				if errors.Is(err, breaker.ErrOpen) {
					rejected.Add(1)
				}
			}
		}()
	}
	if co != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			last := false
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if d := co.Degraded(); d != last {
					last = d
					out.printf("deg %d", map[bool]int{false: 0, true: 1}[d])
				}
			}
		}()
	}
	phase := "start"
	total := int64(0)
	var last fleet.Stats
	report := func() {
		c := calls.Swap(0)
		total += c
		var s fleet.Stats
		if co != nil {
			s = co.Stats()
		}
		out.printf("stats %s maxwait=%d calls=%d rejected=%d admitted=%d local=%d timeouts=%d", phase, maxWait.Swap(0), c, rejected.Swap(0),
			s.ProbesAdmitted-last.ProbesAdmitted, s.ProbesLocal-last.ProbesLocal, s.GateTimeouts-last.GateTimeouts)
		last = s
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		line := in.Text()
		if name, ok := cutPrefix(line, "phase "); ok {
			report()
			phase = name
			continue
		}
		if line == "quit" {
			break
		}
	}
	close(stop)
	wg.Wait()
	report()
	if co != nil {
		s := co.Stats()
		out.printf("co %+v", s)
		_ = co.Close()
	}
	out.printf("rtt calls=%d", total)
	out.printf("bye")
}

// lineWriter writes whole lines, flushed, from any goroutine.
type lineWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (l *lineWriter) printf(format string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", a...)
	l.w.Flush()
}

func cut(s string, sep byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}
