package redisfleet_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/fleet/redisfleet"
	"github.com/tripwire-go/tripwire/policy"
)

// The rules of the in-process fleets of the fault tests: one trip opens
// the fleet, one probe per period, a short open period, and the timeouts
// of a service that must not wait on its store.
const (
	fxFailures     = 3
	fxOpen         = 300 * time.Millisecond
	fxProbeTimeout = time.Second
	fxFlush        = 50 * time.Millisecond
	fxGate         = 20 * time.Millisecond
	fxStep         = 200 * time.Millisecond
	fxEvery        = 5 * time.Millisecond
	// fxSlack is what a loaded machine, under the race detector, may add
	// to a wait bounded by the gate timeout.
	fxSlack = 100 * time.Millisecond
)

// standaloneOptions and clusterOptions are the client options of an
// instance: no step waits past fxStep, none is retried.
func standaloneOptions(network, addr string) *redis.Options {
	return &redis.Options{Network: network, Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1,
		DialTimeout: fxStep, ReadTimeout: fxStep, WriteTimeout: fxStep, PoolTimeout: fxStep}
}

func clusterOptions() *redis.ClusterOptions {
	return &redis.ClusterOptions{MaxRetries: -1,
		DialTimeout: fxStep, ReadTimeout: fxStep, WriteTimeout: fxStep, PoolTimeout: fxStep}
}

// testLog writes a coordinator's log lines to its test's log, shown when
// the test fails.
type testLog struct {
	t  *testing.T
	id string
}

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("%s: %s", l.id, strings.TrimSpace(string(p)))
	return len(p), nil
}

// flakyDep is the dependency the instances call: it fails while failing is
// set.
type flakyDep struct{ failing atomic.Bool }

var errDep = errors.New("dependency failing")

// instance is one instance of a service, in this process: a breaker shared
// through a coordinator over a store of its own, called every fxEvery by
// two goroutines. It records the longest wait of a call outside the
// dependency, and whether the coordinator was degraded, since the last
// mark.
type instance struct {
	id      string
	b       *breaker.Breaker[int]
	co      *fleet.Coordinator
	maxWait atomic.Int64
	wasDeg  atomic.Bool
	calls   atomic.Int64
	idle    atomic.Bool // set: the instance makes no calls
	stop    chan struct{}
	wg      sync.WaitGroup
}

func newInstance(t *testing.T, id, circuit string, s *redisfleet.Store, dep *flakyDep) *instance {
	t.Helper()
	b, err := breaker.New(breaker.Config[int]{Name: circuit, Policy: policy.Consecutive(fxFailures), OpenTimeout: fxOpen, HalfOpenProbes: 1})
	if err != nil {
		t.Fatal(err)
	}
	co, err := fleet.New(fleet.Config{
		Store: s, Instance: id, Quorum: 1, OpenTimeout: fxOpen, Probes: 1, ProbeTimeout: fxProbeTimeout,
		FlushInterval: fxFlush, GateTimeout: fxGate, StepTimeout: fxStep,
		Logger: slog.New(slog.NewTextHandler(testLog{t, id}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := co.Attach(b); err != nil {
		t.Fatal(err)
	}
	in := &instance{id: id, b: b, co: co, stop: make(chan struct{})}
	for range 2 {
		in.wg.Add(1)
		go in.load(dep)
	}
	in.wg.Add(1)
	go in.watch()
	t.Cleanup(func() {
		close(in.stop)
		in.wg.Wait()
		_ = co.Close()
	})
	return in
}

func (in *instance) load(dep *flakyDep) {
	defer in.wg.Done()
	tick := time.NewTicker(fxEvery)
	defer tick.Stop()
	for {
		select {
		case <-in.stop:
			return
		case <-tick.C:
		}
		if in.idle.Load() {
			continue
		}
		var inFn time.Duration
		start := time.Now()
		_, _ = in.b.Execute(context.Background(), func(context.Context) (int, error) {
			s := time.Now()
			defer func() { inFn = time.Since(s) }()
			if dep.failing.Load() {
				return 0, errDep
			}
			return 1, nil
		})
		wait := int64(time.Since(start) - inFn)
		for w := in.maxWait.Load(); wait > w && !in.maxWait.CompareAndSwap(w, wait); w = in.maxWait.Load() {
		}
		in.calls.Add(1)
	}
}

// watch notes whether the coordinator is degraded, every 2ms.
func (in *instance) watch() {
	defer in.wg.Done()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-in.stop:
			return
		case <-tick.C:
		}
		if in.co.Degraded() {
			in.wasDeg.Store(true)
		}
	}
}

// mark starts a new phase: it returns the longest wait of a call and
// whether the coordinator was degraded since the last mark.
func (in *instance) mark() (maxWait time.Duration, degraded bool) {
	return time.Duration(in.maxWait.Swap(0)), in.wasDeg.Swap(false)
}

// eventually waits until cond holds, at most timeout, and returns how long
// that took; it fails t (naming what) if it does not hold in time.
func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		<-tick.C
	}
	return time.Since(start)
}

// states says whether every instance's breaker is in state st.
func states(st breaker.State, ins ...*instance) func() bool {
	return func() bool {
		for _, in := range ins {
			if in.b.Metrics().State != st {
				return false
			}
		}
		return true
	}
}

// settled says whether no instance is degraded.
func settled(ins ...*instance) func() bool {
	return func() bool {
		for _, in := range ins {
			if in.co.Degraded() {
				return false
			}
		}
		return true
	}
}

// checkWaits fails t if a call of an instance waited longer than the gate
// timeout allows since the last mark, and returns the longest wait and
// which instances were degraded.
func checkWaits(t *testing.T, phase string, ins ...*instance) (time.Duration, []bool) {
	t.Helper()
	var longest time.Duration
	var deg []bool
	for _, in := range ins {
		w, d := in.mark()
		longest = max(longest, w)
		deg = append(deg, d)
		if w > fxGate+fxSlack {
			t.Errorf("%s: a call of %s waited %v outside the dependency; the gate timeout is %v", phase, in.id, w, fxGate)
		}
	}
	return longest, deg
}
