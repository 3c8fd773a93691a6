package redisfleet_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/fleet/fleettest"
	"github.com/tripwire-go/tripwire/fleet/redisfleet"
	"github.com/tripwire-go/tripwire/fleet/redisfleet/internal/redistest"
)

// The tests of this file run on the Redis Cluster of the test binary:
// three masters, the first with a replica. Each keeps to prefixes of its
// own, new at each run (go test -count=N).

var prefixes atomic.Int64

// newPrefix returns a key prefix no other test or run of this binary uses.
func newPrefix(base string) string { return base + strconv.FormatInt(prefixes.Add(1), 10) }

// TestClusterKeysShareASlot: every script of a circuit (all six steps) touches keys of one
// hash slot, whatever the circuit's name and the store's prefix, or the
// step is refused with an error that says why, before it reaches Redis.
// Each step runs on the cluster too, where keys of two slots would fail
// with CROSSSLOT.
func TestClusterKeysShareASlot(t *testing.T) {
	cl := redistest.SharedCluster(t)
	cc := cl.Client(t, nil)
	ctx := context.Background()
	p := fleettest.Params()
	names := []string{"dep", "a}b", "{", "{}", "a{b}c", "x:y", "名前", "}", "}{", "}dep"}
	run := strconv.FormatInt(prefixes.Add(1), 10)
	for _, prefix := range []string{"tw", "{app}", "a{b", "x}y", "x{}"} {
		s := redisfleet.New(cc, redisfleet.Options{Prefix: prefix})
		for _, name := range names {
			name += run
			// An empty hash tag ("{}") makes Redis hash the whole key.
			refused := prefix == "x{}" || (!strings.Contains(prefix, "{") && strings.HasPrefix(name, "}"))
			what := "prefix " + strconv.Quote(prefix) + ", circuit " + strconv.Quote(name)
			keys := redisfleet.Keys(s, name)
			slot := cl.Slot(t, keys[0])
			same := true
			for _, k := range keys[1:] {
				same = same && cl.Slot(t, k) == slot
			}
			if same == refused {
				t.Fatalf("%s: keys %q in one slot: %v; the test expects that only where the store refuses", what, keys, same)
			}
			steps := map[string]func() error{
				"Trip": func() error {
					_, err := s.Trip(ctx, name, fleet.TripRequest{Instance: "a"}, p)
					return err
				},
				"Flush": func() error {
					_, errs, err := s.Flush(ctx, []fleet.Counts{{Name: name, Instance: "a", Successes: 1}}, p)
					return errors.Join(append(errs, err)...)
				},
				"AcquireProbe": func() error {
					_, _, err := s.AcquireProbe(ctx, name, fleet.ProbeRequest{Generation: 1, Lease: "l"}, p)
					return err
				},
				"ReportProbe": func() error {
					_, err := s.ReportProbe(ctx, name, fleet.ProbeReport{Generation: 1, Lease: "l", Outcome: breaker.Success}, p)
					return err
				},
				"Force": func() error {
					_, err := s.Force(ctx, name, fleet.ModeNone, p)
					return err
				},
				"Closed": func() error {
					_, err := s.Closed(ctx, name, fleet.CloseRequest{Instance: "a", Generation: 1}, p)
					return err
				},
			}
			for step, run := range steps {
				err := run()
				switch {
				case refused && (err == nil || !strings.Contains(err.Error(), "hash tag")):
					t.Errorf("%s: %s: %v, want a refusal naming the hash tag", what, step, err)
				case !refused && err != nil:
					t.Errorf("%s: %s on the cluster: %v", what, step, err)
				}
			}
		}
	}
}

// TestConformanceCluster runs the suite on the cluster.
func TestConformanceCluster(t *testing.T) {
	cl := redistest.SharedCluster(t)
	cc := cl.Client(t, nil)
	fleettest.Run(t, fleettest.Harness{
		New: func(t *testing.T, start time.Time) (fleet.Store, func(time.Duration)) {
			s := redisfleet.New(cc, redisfleet.Options{Prefix: newPrefix("k")})
			redisfleet.Advance(s, time.Until(start))
			return s, func(d time.Duration) { redisfleet.Advance(s, d) }
		},
		Drop: func(t *testing.T, s fleet.Store, name string) {
			if err := cc.Del(context.Background(), redisfleet.Keys(s.(*redisfleet.Store), name)...).Err(); err != nil {
				t.Fatal(err)
			}
		},
		KeepsTime: true,
		Slack:     time.Second,
	})
}

// TestClusterFlushAndEventsOnEveryMaster: one flush reaches circuits on
// every master, and the one subscription of a store hears the records
// that scripts on every master publish.
func TestClusterFlushAndEventsOnEveryMaster(t *testing.T) {
	cl := redistest.SharedCluster(t)
	cc := cl.Client(t, nil)
	s := redisfleet.New(cc, redisfleet.Options{Prefix: newPrefix("ev")})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A circuit on each master.
	byMaster := map[string]string{}
	for i := 0; len(byMaster) < 3 && i < 1000; i++ {
		name := "dep" + strconv.Itoa(i)
		m := cl.MasterOf(t, cl.Slot(t, name)).Addr
		if _, ok := byMaster[m]; !ok {
			byMaster[m] = name
		}
	}
	if len(byMaster) != 3 {
		t.Fatalf("circuits on %d masters, want 3", len(byMaster))
	}
	var batch []fleet.Counts
	for _, name := range byMaster {
		batch = append(batch, fleet.Counts{Name: name, Instance: "a", Successes: 1})
	}
	recs, errs, err := s.Flush(ctx, batch, fleettest.Params())
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if e != nil || recs[i].Name != batch[i].Name {
			t.Fatalf("flush of %s: %+v, %v", batch[i].Name, recs[i], e)
		}
	}
	ch, err := s.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := fleettest.Params()
	p.Quorum = 1
	want := map[string]uint64{}
	for _, name := range byMaster {
		r, err := s.Trip(ctx, name, fleet.TripRequest{Instance: "a"}, p)
		if err != nil {
			t.Fatal(err)
		}
		want[name] = r.Generation
	}
	for len(want) > 0 {
		select {
		case ev := <-ch:
			if g, ok := want[ev.Name]; ok && ev.Generation == g && ev.State == breaker.Open {
				delete(want, ev.Name)
			}
		case <-ctx.Done():
			t.Fatalf("no event of the trips of %v", want)
		}
	}
}

// failoverFleet is a fleet of two instances, a and b, each with its own
// cluster client, sharing a circuit that lives on the master with the
// replica.
type failoverFleet struct {
	t               *testing.T
	cl              *redistest.Cluster
	replica, master *redistest.Node
	prefix, name    string
	dep             *flakyDep
	a, b            *instance
}

func newFailoverFleet(t *testing.T) *failoverFleet {
	cl := redistest.SharedCluster(t)
	cl.WaitHealthy(t)
	f := &failoverFleet{t: t, cl: cl, dep: &flakyDep{}, prefix: newPrefix("fo")}
	f.replica, f.master = cl.Replica(t)
	for i := 0; f.name == "" && i < 1000; i++ {
		if n := "fo" + strconv.Itoa(i); cl.MasterOf(t, cl.Slot(t, n)) == f.master {
			f.name = n
		}
	}
	if f.name == "" {
		t.Fatal("no circuit name on the replicated master")
	}
	f.a = newInstance(t, "a", f.name, redisfleet.New(cl.Client(t, clusterOptions()), redisfleet.Options{Prefix: f.prefix}), f.dep)
	f.b = newInstance(t, "b", f.name, redisfleet.New(cl.Client(t, clusterOptions()), redisfleet.Options{Prefix: f.prefix}), f.dep)
	eventually(t, "warm-up: the coordinators in touch with the store", 3*time.Second, settled(f.a, f.b))
	checkWaits(t, "warm-up", f.a, f.b)
	return f
}

// gen reads the generation of the fleet's record on node n itself: an
// error (MOVED) unless n serves the circuit now.
func (f *failoverFleet) gen(n *redistest.Node) (uint64, error) {
	s, err := n.Client().HGet(context.Background(), f.prefix+":{"+f.name+"}:r", "gen").Result()
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(s, 10, 64)
}

// serves waits until node n serves the circuit.
func (f *failoverFleet) serves(what string, n *redistest.Node) time.Duration {
	f.t.Helper()
	return eventually(f.t, what, 10*time.Second, func() bool {
		_, err := f.gen(n)
		return err == nil
	})
}

// outage makes the dependency fail until every instance is open, then
// recover until every instance is closed, and returns the generation of
// the fleet's record on n then.
func (f *failoverFleet) outage(phase string, n *redistest.Node) uint64 {
	t := f.t
	t.Helper()
	f.dep.failing.Store(true)
	d := eventually(t, phase+": every instance open", 3*time.Second, states(breaker.Open, f.a, f.b))
	f.dep.failing.Store(false)
	d2 := eventually(t, phase+": every instance closed after the recovery", 5*time.Second, states(breaker.Closed, f.a, f.b))
	g, err := f.gen(n)
	if err != nil {
		t.Fatalf("%s: the fleet's record on %s: %v", phase, n.Addr, err)
	}
	t.Logf("%s: every instance open after %v, closed %v after the recovery; fleet generation %d on %s", phase,
		d.Round(time.Millisecond), d2.Round(time.Millisecond), g, n.Addr)
	return g
}

// TestClusterFailover: a fleet of two instances survives the failover of
// the master that holds its circuit, forced with CLUSTER FAILOVER on the
// replica while the instances call: no call waits beyond the gate
// timeout, a coordinator degraded meanwhile recovers, and the fleet's
// steps reach the new master.
func TestClusterFailover(t *testing.T) {
	f := newFailoverFleet(t)
	g0 := f.outage("before the failover", f.master)
	// The master pauses its clients until the replica has caught up, then
	// hands its slots over.
	start := time.Now()
	if err := f.replica.Client().Do(context.Background(), "CLUSTER", "FAILOVER").Err(); err != nil {
		t.Fatal(err)
	}
	took := f.serves("CLUSTER FAILOVER: the replica serves the circuit", f.replica)
	// The coordinators are degraded if the failover took longer than
	// their steps may (a master pauses its writers until its replica has
	// caught up and won the vote, up to 5s): they recover.
	eventually(t, "after the failover: no coordinator degraded", 10*time.Second, settled(f.a, f.b))
	recovered := time.Since(start)
	g1 := f.outage("after the failover", f.replica)
	if g1 <= g0 {
		t.Errorf("the new master's record has generation %d, not past %d: the fleet's steps did not reach it", g1, g0)
	}
	w, deg := checkWaits(t, "CLUSTER FAILOVER", f.a, f.b)
	t.Logf("CLUSTER FAILOVER: the replica served the circuit %v after the command; longest call wait %v; degraded meanwhile (a, b): %v; none degraded %v after the command",
		took.Round(time.Millisecond), w.Round(100*time.Microsecond), deg, recovered.Round(time.Millisecond))
	f.cl.WaitHealthy(t)
}

// TestClusterStepsFollowTakeoverOfHungMaster: when the master of a
// circuit hangs (SIGSTOP) and its replica takes over (CLUSTER FAILOVER
// TAKEOVER), the coordinators are degraded and the breakers protect on
// their own meanwhile, no call waits beyond the gate timeout, and the
// fleet's steps reach the new master while the old one still hangs. They
// did not: go-redis learns of a failover from the old master's MOVED
// replies, which a hung master never sends, or after a minute
// (ClusterStateReloadInterval); until then every step went to the hung
// node, and the fleet stayed degraded.
func TestClusterStepsFollowTakeoverOfHungMaster(t *testing.T) {
	f := newFailoverFleet(t)
	a, b := f.a, f.b
	hung, heir := f.master, f.replica
	start := time.Now()
	if err := hung.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = hung.Signal(syscall.SIGCONT)
		}
	}
	defer resume()
	toDeg := eventually(t, "master hung: every coordinator degraded", 3*time.Second, func() bool {
		return a.co.Degraded() && b.co.Degraded()
	})
	f.dep.failing.Store(true)
	eventually(t, "master hung: every instance open on its own", 3*time.Second, states(breaker.Open, a, b))
	f.dep.failing.Store(false)
	takeover := time.Now()
	if err := heir.Client().Do(context.Background(), "CLUSTER", "FAILOVER", "TAKEOVER").Err(); err != nil {
		t.Fatal(err)
	}
	f.serves("TAKEOVER: the replica serves the circuit", heir)
	eventually(t, "TAKEOVER: every coordinator recovered, the old master still hung", 10*time.Second, settled(a, b))
	toRecover := time.Since(takeover)
	eventually(t, "TAKEOVER: every instance closed", 5*time.Second, states(breaker.Closed, a, b))
	g := f.outage("after the takeover", heir)
	w, _ := checkWaits(t, "hung master and TAKEOVER", a, b)
	t.Logf("hung master: every coordinator degraded after %v; recovered %v after the takeover; longest call wait %v; fleet generation %d; %v in all",
		toDeg.Round(time.Millisecond), toRecover.Round(time.Millisecond), w.Round(100*time.Microsecond), g, time.Since(start).Round(time.Millisecond))
	resume()
	f.cl.WaitHealthy(t)
}

// TestClusterFlushAfterScriptLossNeedsOnlyItsMasters: after the masters
// lost their scripts (a restart, SCRIPT FLUSH), a flush loads them again
// through the masters of its own circuits. It loaded them on every node
// the client knows (go-redis's ScriptLoad), so a node that did not answer
// — a hung replica here — failed every flush until it came back.
func TestClusterFlushAfterScriptLossNeedsOnlyItsMasters(t *testing.T) {
	cl := redistest.SharedCluster(t)
	cl.WaitHealthy(t)
	replica, master := cl.Replica(t)
	// A client that knows the replica (see Cluster.Slots).
	o := clusterOptions()
	o.ClusterSlots = cl.Slots
	s := redisfleet.New(cl.Client(t, o), redisfleet.Options{Prefix: newPrefix("sl")})
	name := ""
	for i := 0; name == "" && i < 1000; i++ {
		if n := "sl" + strconv.Itoa(i); cl.MasterOf(t, cl.Slot(t, n)) == master {
			name = n
		}
	}
	batch := []fleet.Counts{{Name: name, Instance: "a", Successes: 1}}
	flush := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), fxStep)
		defer cancel()
		_, errs, err := s.Flush(ctx, batch, fleettest.Params())
		return errors.Join(append(errs, err)...)
	}
	if err := flush(); err != nil {
		t.Fatal(err)
	}
	for _, n := range cl.Nodes {
		if err := n.Client().ScriptFlush(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := replica.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	err := flush()
	if err := replica.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatalf("flush after the scripts were lost, with the replica hung: %v", err)
	}
	cl.WaitHealthy(t)
}

// TestClusterFlushCountsOnceWhenOneMasterLostItsScripts: when one master
// lost the scripts and the others did not, a flush sends again only the
// steps that master refused. It sent the whole batch again, so the counts
// of the circuits on the other masters were added twice, inflating the
// fleet's failure rate.
func TestClusterFlushCountsOnceWhenOneMasterLostItsScripts(t *testing.T) {
	cl := redistest.SharedCluster(t)
	cl.WaitHealthy(t)
	cc := cl.Client(t, clusterOptions())
	s := redisfleet.New(cc, redisfleet.Options{Prefix: newPrefix("co")})
	ctx := context.Background()
	p := fleettest.Params()
	p.FailureRate, p.MinCalls, p.RateWindow = 0.9, 1000, time.Minute // counts kept, never opening
	// A circuit on each master.
	var batch []fleet.Counts
	var masters []*redistest.Node
	for i := 0; len(batch) < 3 && i < 1000; i++ {
		name := "co" + strconv.Itoa(i)
		m := cl.MasterOf(t, cl.Slot(t, name))
		if !slices.Contains(masters, m) {
			masters = append(masters, m)
			batch = append(batch, fleet.Counts{Name: name, Instance: "a", Successes: 5, Failures: 1})
		}
	}
	if _, _, err := s.Flush(ctx, batch, p); err != nil {
		t.Fatal(err)
	}
	if err := masters[0].Client().ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	_, errs, err := s.Flush(ctx, batch, p)
	if err := errors.Join(append(errs, err)...); err != nil {
		t.Fatal(err)
	}
	for _, c := range batch {
		counts, err := cc.HGetAll(ctx, redisfleet.Keys(s, c.Name)[3]).Result()
		if err != nil {
			t.Fatal(err)
		}
		var ok, failed int
		for k, v := range counts {
			n, _ := strconv.Atoi(v)
			if strings.HasSuffix(k, ":s") {
				ok += n
			} else {
				failed += n
			}
		}
		if ok != 10 || failed != 2 {
			t.Errorf("circuit %s: %d successes and %d failures after two flushes of 5 and 1", c.Name, ok, failed)
		}
	}
}

// TestClusterFlushWithOneMasterCutOff: when one instance's link to one
// master is cut (a blackhole), its flush returns within the step timeout,
// the single steps of circuits on the other masters still work, and once
// the link is back every circuit flushes again.
//
// The flush fails as a whole, not only for the circuits of the master cut
// off: go-redis's cluster pipeline, when its context ends while it waits
// to retry one node, marks every command failed, also those the other
// masters answered (and ran).
func TestClusterFlushWithOneMasterCutOff(t *testing.T) {
	cl := redistest.SharedCluster(t)
	cl.WaitHealthy(t)
	cc, proxies := cl.ProxiedClient(t, clusterOptions())
	s := redisfleet.New(cc, redisfleet.Options{Prefix: newPrefix("cut")})
	p := fleettest.Params()
	var batch []fleet.Counts
	var masters []*redistest.Node
	for i := 0; len(batch) < 3 && i < 1000; i++ {
		name := "cut" + strconv.Itoa(i)
		m := cl.MasterOf(t, cl.Slot(t, name))
		if !slices.Contains(masters, m) {
			masters = append(masters, m)
			batch = append(batch, fleet.Counts{Name: name, Instance: "a", Successes: 1})
		}
	}
	ctx := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), fxStep)
		t.Cleanup(cancel)
		return ctx
	}
	flush := func() error {
		_, errs, err := s.Flush(ctx(), batch, p)
		return errors.Join(append(errs, err)...)
	}
	if err := flush(); err != nil {
		t.Fatal(err)
	}
	cut := proxies[masters[0].Addr]
	cut.Blackhole()
	start := time.Now()
	err := flush()
	if took := time.Since(start); err == nil || took > fxStep+fxSlack {
		t.Errorf("flush with a master cut off: %v after %v; want an error within the step timeout, %v", err, took, fxStep)
	}
	for i, c := range batch {
		_, err := s.Trip(ctx(), c.Name, fleet.TripRequest{Instance: "a"}, p)
		if cutOff := i == 0; cutOff != (err != nil) {
			t.Errorf("Trip of %s on %s (cut off: %v): %v", c.Name, masters[i].Addr, cutOff, err)
		}
	}
	cut.Heal()
	eventually(t, "link back: every circuit flushes", 5*time.Second, func() bool { return flush() == nil })
}
