package redisfleet_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tripwire-go/tripwire/fleet/redisfleet/internal/redistest"
)

// dependency is the service the members call: it fails while failing is
// set, and logs every request with the fleet generation the parent knew.
type dependency struct {
	failing  atomic.Bool
	inflight atomic.Int64
	fleet    *fleetWatch
	mu       sync.Mutex
	log      []request
}

type request struct {
	at       time.Time
	member   string
	failing  bool
	gen      uint64
	inflight int64
}

func (d *dependency) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := d.inflight.Add(1)
	defer d.inflight.Add(-1)
	failing := d.failing.Load()
	d.mu.Lock()
	d.log = append(d.log, request{time.Now(), r.Header.Get("X-Member"), failing, d.fleet.gen.Load(), n})
	d.mu.Unlock()
	if failing {
		// A failing dependency is slow too: concurrent probes overlap.
		t := time.NewTimer(20 * time.Millisecond)
		<-t.C
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (d *dependency) requests(from, to time.Time) []request {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []request
	for _, r := range d.log {
		if !r.at.Before(from) && r.at.Before(to) {
			out = append(out, r)
		}
	}
	return out
}

// fleetWatch follows the fleet's record through its events.
type fleetWatch struct {
	gen    atomic.Uint64
	mu     sync.Mutex
	events []fleetEvent
}

type fleetEvent struct {
	at        time.Time
	gen       uint64
	state     string // "0" closed, "1" open, "2" half-open
	remaining time.Duration
}

func (f *fleetWatch) run(ctx context.Context, c *redis.Client, channel string) {
	ps := c.Subscribe(ctx, channel)
	go func() {
		<-ctx.Done()
		ps.Close()
	}()
	for m := range ps.Channel() {
		p := strings.Split(m.Payload, "|")
		if len(p) < 6 {
			continue
		}
		gen, _ := strconv.ParseUint(p[2], 10, 64)
		us, _ := strconv.ParseInt(p[5], 10, 64)
		f.gen.Store(gen)
		f.mu.Lock()
		f.events = append(f.events, fleetEvent{time.Now(), gen, p[3], time.Duration(us) * time.Microsecond})
		f.mu.Unlock()
	}
}

func (f *fleetWatch) since(t time.Time) []fleetEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fleetEvent
	for _, e := range f.events {
		if !e.at.Before(t) {
			out = append(out, e)
		}
	}
	return out
}

// member is one member process, seen from the parent.
type member struct {
	id    int
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}

	mu       sync.Mutex
	state    string
	changes  []change
	degraded bool
	degAt    time.Time
	stats    map[string]string
	co       string
	calls    int64
}

type change struct {
	at        time.Time
	to, cause string
}

func (m *member) read(r io.Reader) {
	defer close(m.done)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		now := time.Now()
		m.mu.Lock()
		switch f[0] {
		case "tr":
			m.state = f[2]
			m.changes = append(m.changes, change{now, f[2], f[3]})
		case "deg":
			m.degraded, m.degAt = f[1] == "1", now
		case "stats":
			m.stats[f[1]] = strings.Join(f[2:], " ")
		case "co":
			m.co = strings.Join(f[1:], " ")
		case "rtt":
			m.calls, _ = strconv.ParseInt(strings.TrimPrefix(f[1], "calls="), 10, 64)
		}
		m.mu.Unlock()
	}
}

func (m *member) now() (state string, degraded bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state, m.degraded
}

// firstTo is when m first went to state at or after t.
func (m *member) firstTo(state string, t time.Time) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.changes {
		if c.to == state && !c.at.Before(t) {
			return c.at, true
		}
	}
	return time.Time{}, false
}

func (m *member) send(line string) { fmt.Fprintln(m.stdin, line) }

// stat returns the count key of m's stats of phase (-1: none yet).
func (m *member) stat(phase, key string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, kv := range strings.Fields(m.stats[phase]) {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// maxWait returns the longest wait of a call in phase, from m's stats.
func (m *member) maxWait(phase string) time.Duration { return time.Duration(m.stat(phase, "maxwait")) }

// sum adds key of every member's stats of phase, waiting for them.
func (c *cluster) sum(phase, key string) int64 {
	var n int64
	for _, m := range c.members {
		v := m.stat(phase, key)
		for deadline := time.Now().Add(2 * time.Second); v < 0 && time.Now().Before(deadline); v = m.stat(phase, key) {
			hold(2 * time.Millisecond)
		}
		n += max(v, 0)
	}
	return n
}

type cluster struct {
	t       *testing.T
	members []*member
	dep     *dependency
	stderr  lockedBuffer // the members' logs, shown if the test fails
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startMembers(t *testing.T, n int, shared bool, addr func(i int) string, depURL string, dep *dependency) *cluster {
	t.Helper()
	c := &cluster{t: t, dep: dep}
	offsets := []string{"0s", "30s", "-30s", "0s"}
	// Instances of a service do not all see the same traffic: member i
	// calls every 10ms·2^i from each of its two goroutines.
	every := []string{"10ms", "20ms", "40ms", "80ms"}
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(),
			memberEnv+"="+strconv.Itoa(i), memberRedis+"="+addr(i), memberDep+"="+depURL,
			memberShared+"="+map[bool]string{true: "1", false: "0"}[shared],
			memberOffset+"="+offsets[i%len(offsets)], memberWorkers+"=2", memberEvery+"="+every[i%len(every)])
		cmd.Stderr = &c.stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		m := &member{id: i, cmd: cmd, stdin: stdin, done: make(chan struct{}), state: "closed", stats: map[string]string{}}
		go m.read(stdout)
		c.members = append(c.members, m)
	}
	t.Cleanup(func() {
		c.stop()
		if t.Failed() {
			t.Logf("members' logs:\n%s", c.stderr.String())
		}
	})
	return c
}

// stop asks every member to quit and waits for it (killing it after 5s).
func (c *cluster) stop() {
	for _, m := range c.members {
		if m.stdin != nil {
			m.send("quit")
			m.stdin.Close()
			m.stdin = nil
		}
	}
	for _, m := range c.members {
		select {
		case <-m.done:
		case <-time.After(5 * time.Second):
			_ = m.cmd.Process.Kill()
			<-m.done
		}
		_ = m.cmd.Wait()
	}
}

func (c *cluster) phase(name string) {
	for _, m := range c.members {
		m.send("phase " + name)
	}
}

// waitAll waits until cond holds for every member, at most timeout, and
// returns how long that took.
func (c *cluster) waitAll(timeout time.Duration, cond func(state string, degraded bool) bool) (time.Duration, bool) {
	start := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		ok := true
		for _, m := range c.members {
			if !cond(m.now()) {
				ok = false
				break
			}
		}
		if ok {
			return time.Since(start), true
		}
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		<-tick.C
	}
}

// hold lets real time pass while the members work.
func hold(d time.Duration) {
	t := time.NewTimer(d)
	<-t.C
}

func isOpen(s string, _ bool) bool     { return s == "open" || s == "half-open" }
func closedOK(s string, d bool) bool   { return s == "closed" && !d }
func closedOnly(s string, _ bool) bool { return s == "closed" }

// outage runs a shared outage of failFor, then recovery, and returns what
// the dependency and the fleet saw.
type outageResult struct {
	toAllOpen     time.Duration
	intoOutage    int // requests from the first failure to every member open
	duringOutage  int // requests while the dependency failed
	intoOpenFleet int // requests while the fleet's record was open (not probing)
	probes        map[uint64]int
	maxConcurrent map[uint64]int64
	closeLag      time.Duration
	toAllClosed   time.Duration
}

func (c *cluster) outage(t *testing.T, fw *fleetWatch, name string, failFor time.Duration) outageResult {
	var res outageResult
	c.phase(name + "-warm")
	hold(300 * time.Millisecond)
	c.phase(name)
	t0 := time.Now()
	c.dep.failing.Store(true)
	d, ok := c.waitAll(3*time.Second, isOpen)
	if !ok {
		t.Fatalf("%s: not every member open within 3s of the first failure", name)
	}
	res.toAllOpen = d
	allOpen := t0.Add(d)
	res.intoOutage = len(c.dep.requests(t0, allOpen))
	hold(time.Until(t0.Add(failFor)))
	t1 := time.Now()
	c.dep.failing.Store(false)
	res.duringOutage = len(c.dep.requests(t0, t1))
	c.phase(name + "-recover")
	d, ok = c.waitAll(8*time.Second, closedOnly)
	if !ok {
		t.Fatalf("%s: not every member closed within 8s of the recovery", name)
	}
	res.toAllClosed = d
	end := time.Now()
	if fw == nil {
		return res
	}
	// The close event reaches the watch on a connection of its own, which
	// may lag behind the members' reports (the parent reads those from
	// pipes) on a loaded machine; and a fleet whose members closed on
	// their own probes closes once a quorum of their Closed steps reached
	// the store. Wait for it, boundedly: a record that never closes still
	// fails below.
	closed := func() bool {
		for _, e := range fw.since(t0) {
			if e.state == "0" {
				return true
			}
		}
		return false
	}
	for wait := time.Now(); !closed() && time.Since(wait) < 3*time.Second; {
		hold(5 * time.Millisecond)
	}
	// Split the requests by the fleet's open periods, from its events.
	evs := fw.since(t0)
	res.probes, res.maxConcurrent = map[uint64]int{}, map[uint64]int64{}
	var closeAt time.Time
	for i, e := range evs {
		next := end
		if i+1 < len(evs) {
			next = evs[i+1].at
		}
		switch e.state {
		case "1":
			due := e.at.Add(e.remaining)
			// In flight when the fleet opened, or sent before the member
			// heard of it: every member open within res.toAllOpen.
			res.intoOpenFleet += len(c.dep.requests(e.at, minTime(due, next)))
			for _, r := range c.dep.requests(due, next) {
				res.probes[e.gen]++
				if r.inflight > res.maxConcurrent[e.gen] {
					res.maxConcurrent[e.gen] = r.inflight
				}
			}
		case "0":
			if closeAt.IsZero() {
				closeAt = e.at
			}
		}
	}
	if closeAt.IsZero() {
		t.Fatalf("%s: no close event from the fleet", name)
	}
	for _, m := range c.members {
		at, ok := m.firstTo("closed", t1)
		if !ok {
			at = closeAt // closed before t1: cannot be
		}
		if lag := at.Sub(closeAt); lag > res.closeLag {
			res.closeLag = lag
		}
	}
	return res
}

// otherCommands counts the commands other than scripts and the INFO that
// read them, between two readings of the statistics. Commands that
// scripts call are counted too (HGETALL, ZADD, PUBLISH, ...): they run on
// the server, no round trip each.
func otherCommands(before, after map[string]int64) int64 {
	var n int64
	for k, v := range after {
		switch k {
		case "evalsha", "eval", "info":
			continue
		}
		n += v - before[k]
	}
	return n
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// TestMultiProcess runs N = 4 member processes against a real redis-server
// and a loopback dependency: a shared outage and recovery (members 1 and
// 2 with clocks 30s ahead and behind), the same outage without sharing,
// and then faults of Redis and of one member's network. It logs the
// measurements it asserts on.
func TestMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and a redis-server; takes ~30s")
	}
	srv := redistest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fw := &fleetWatch{}
	watchC := srv.Client(t)
	go fw.run(ctx, watchC, "mp:events")
	dep := &dependency{fleet: fw}
	hs := httptest.NewServer(dep)
	defer hs.Close()
	px := redistest.NewProxy(t, "unix", srv.Sock)
	addr := func(i int) string {
		if i == 0 {
			return "tcp:" + px.Addr()
		}
		return "unix:" + srv.Sock
	}
	const n = 4

	// Without sharing first: the same members, no coordinator.
	local := startMembers(t, n, false, addr, hs.URL, dep)
	lr := local.outage(t, nil, "local", 2500*time.Millisecond)
	local.stop()
	t.Logf("without sharing: every member open %v after the first failure; %d requests reached the dependency by then, %d during the whole 2.5s outage",
		lr.toAllOpen.Round(time.Millisecond), lr.intoOutage, lr.duringOutage)

	shared := startMembers(t, n, true, addr, hs.URL, dep)
	hold(300 * time.Millisecond) // attach and first sync
	before := srv.CommandCalls(t)
	sr := shared.outage(t, fw, "shared", 2500*time.Millisecond)
	after := srv.CommandCalls(t)
	t.Logf("with sharing: every member open %v after the first failure; %d requests by then, %d during the whole outage, %d while the fleet was open (in flight or not yet heard of it); every member closed %v after the fleet's close",
		sr.toAllOpen.Round(time.Millisecond), sr.intoOutage, sr.duringOutage, sr.intoOpenFleet, sr.closeLag.Round(time.Millisecond))
	var gens []uint64
	for g := range sr.probes {
		gens = append(gens, g)
	}
	sort.Slice(gens, func(i, j int) bool { return gens[i] < gens[j] })
	// The K bound holds for the probes the store leased. A candidate whose
	// lease did not come within the gate timeout (a loaded machine) runs
	// as a local probe: the members count those, and they are allowed
	// for, one each.
	shared.phase("shared-done")
	nLocal, timeouts := int64(0), int64(0)
	for _, p := range []string{"shared", "shared-recover"} {
		nLocal += shared.sum(p, "local")
		timeouts += shared.sum(p, "timeouts")
	}
	total := 0
	for _, g := range gens {
		t.Logf("  fleet generation %d: %d probes, at most %d at once (K = %d)", g, sr.probes[g], sr.maxConcurrent[g], mpProbes)
		total += sr.probes[g]
		if nLocal == 0 && (sr.probes[g] > mpProbes || sr.maxConcurrent[g] > mpProbes) {
			t.Errorf("generation %d: %d probes, %d at once; K = %d", g, sr.probes[g], sr.maxConcurrent[g], mpProbes)
		}
	}
	t.Logf("  probe candidates decided locally: %d (%d after a gate timeout)", nLocal, timeouts)
	// Round trips, from the server's command statistics over the shared
	// outage (warm-up, outage, recovery): every script step is one EVALSHA
	// (or EVAL); a flush of a process's breakers is one pipelined round
	// trip.
	calls := shared.sum("shared-warm", "calls") + shared.sum("shared", "calls") + shared.sum("shared-recover", "calls")
	scripts := after["evalsha"] + after["eval"] - before["evalsha"] - before["eval"]
	t.Logf("round trips: %d script steps (EVALSHA+EVAL) for %d calls: %.4f per call; %d other commands",
		scripts, calls, float64(scripts)/float64(calls), otherCommands(before, after))
	if limit := len(gens)*mpProbes + int(nLocal); total > limit {
		t.Errorf("%d probes in %d generations, more than K per generation plus %d local decisions", total, len(gens), nLocal)
	}
	if len(gens) == 0 {
		t.Error("no probe reached the dependency")
	}
	// While the fleet is open only calls already in flight when it opened
	// (or sent before a member heard of it) reach the dependency: at most
	// one per calling goroutine.
	if callers := 2 * n; sr.intoOpenFleet > callers {
		t.Errorf("%d requests reached the dependency while the fleet was open; %d callers", sr.intoOpenFleet, callers)
	}
	if sr.toAllOpen > time.Second {
		t.Errorf("every member open only %v after the first failure", sr.toAllOpen)
	}
	if sr.closeLag > time.Second {
		t.Errorf("members closed up to %v after the fleet's close", sr.closeLag)
	}

	// Faults, each with the dependency failing so that the members must
	// protect it on their own, then removed with the dependency back.
	type fault struct {
		name        string
		who         string
		apply, undo func()
	}
	pauser := srv.Client(t)
	faults := []fault{
		{"SIGSTOP redis", "all", func() { srv.Signal(syscall.SIGSTOP) }, func() { srv.Signal(syscall.SIGCONT) }},
		{"kill + restart redis", "all", srv.Stop, srv.Start},
		{"CLIENT PAUSE 10s", "all", func() {
			if err := pauser.Do(ctx, "CLIENT", "PAUSE", "10000", "ALL").Err(); err != nil {
				t.Fatal(err)
			}
		}, func() {
			if err := pauser.Do(ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
				t.Fatal(err)
			}
		}},
		{"FLUSHALL", "all", func() {
			if err := pauser.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}, func() {}},
		{"proxy +150ms each way", "member 0", func() { px.SetLatency(150 * time.Millisecond) }, func() { px.SetLatency(0) }},
		{"proxy cut", "member 0", func() { px.Refuse() }, func() { px.Heal() }},
	}
	type row struct {
		name, who         string
		wait              time.Duration
		toOpen, toRecover time.Duration
		degraded          int
	}
	var rows []row
	for _, f := range faults {
		phase := strings.ReplaceAll(f.name, " ", "-")
		shared.phase(phase)
		f.apply()
		start := time.Now()
		dep.failing.Store(true)
		toOpen, ok := shared.waitAll(3*time.Second, isOpen)
		if !ok {
			t.Errorf("%s: the members did not all open within 3s of the failures", f.name)
		}
		hold(time.Until(start.Add(1500 * time.Millisecond)))
		deg := 0
		for _, m := range shared.members {
			if _, d := m.now(); d {
				deg++
			}
		}
		f.undo()
		dep.failing.Store(false)
		undone := time.Now()
		shared.phase(phase + "-recover")
		toRecover, ok := shared.waitAll(10*time.Second, closedOK)
		if !ok {
			t.Errorf("%s: the members did not all close and resynchronise within 10s", f.name)
		}
		_ = undone
		shared.phase(phase + "-after")
		hold(50 * time.Millisecond) // the members print their stats
		var wait time.Duration
		for _, m := range shared.members {
			for _, p := range []string{phase, phase + "-recover"} {
				if w := m.maxWait(p); w > wait {
					wait = w
				}
			}
		}
		rows = append(rows, row{f.name, f.who, wait, toOpen, toRecover, deg})
		if wait > mpGateTimeout+100*time.Millisecond {
			t.Errorf("%s: a call waited %v, more than the gate timeout (%v) and scheduling allow", f.name, wait, mpGateTimeout)
		}
	}
	shared.stop()
	for _, m := range shared.members {
		t.Logf("member %d coordinator: %s", m.id, m.co)
	}
	t.Logf("| fault | who | longest call wait | members open after | degraded at the end | recovered after |")
	for _, r := range rows {
		t.Logf("| %s | %s | %v | %v | %d of %d | %v |", r.name, r.who, r.wait.Round(100*time.Microsecond), r.toOpen.Round(time.Millisecond), r.degraded, n, r.toRecover.Round(time.Millisecond))
	}
}
