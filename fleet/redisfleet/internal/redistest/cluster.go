package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// NodeTimeout is the cluster's --cluster-node-timeout: how long a node may
// not answer before the others suspect it.
const NodeTimeout = 2 * time.Second

// clusterTimeout bounds the start of a cluster, and each wait for it to be
// healthy.
const clusterTimeout = 30 * time.Second

// Cluster is a Redis Cluster of four nodes on 127.0.0.1, started with
// --cluster-enabled yes and no persistence: three masters that share the
// 16384 slots, and a replica of the first. Failovers move the roles
// around: ask [Cluster.Replica] and [Cluster.MasterOf] who holds which now.
// Its methods are safe for concurrent use.
type Cluster struct {
	// Nodes are the cluster's nodes, in the order they were started.
	Nodes []*Node
	// Took is how long the cluster took to start and become healthy.
	Took time.Duration
	dir  string
}

// Node is one redis-server of a cluster.
type Node struct {
	// Addr is the node's address, "127.0.0.1:port".
	Addr string
	// ID is the node's cluster id.
	ID    string
	admin *redis.Client
	p     *process
}

// Client returns the node's own client (not a cluster client): for
// commands meant for this node alone. The cluster closes it.
func (n *Node) Client() *redis.Client { return n.admin }

// Signal sends sig to the node: SIGSTOP and SIGCONT freeze and thaw it.
func (n *Node) Signal(sig syscall.Signal) error { return n.p.cmd.Process.Signal(sig) }

// Log returns the last lines the node logged.
func (n *Node) Log() string { return n.p.log.String() }

var shared struct {
	mu      sync.Mutex
	main    bool // Main runs the tests: it stops the cluster at the end
	started bool
	c       *Cluster
	err     error
}

// Main runs the tests of m and then stops the shared cluster, if a test
// started one; call it from TestMain: os.Exit(redistest.Main(m)).
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.main = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.c != nil {
		shared.c.Stop()
	}
	return code
}

// SharedCluster returns the cluster of this test binary, started by the
// first test that asks (the start is the costly part: a master waits 2s
// after its start before it serves) and stopped by [Main] after the last
// test. Tests share it, so each keeps to keys of its own (a prefix), and
// one that moves roles around leaves the cluster healthy
// ([Cluster.WaitHealthy]). Without redis-server it skips t, except under
// CI=true.
func SharedCluster(t testing.TB) *Cluster {
	t.Helper()
	Need(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.main {
		t.Fatal("redistest: SharedCluster needs TestMain to run the tests with redistest.Main, which stops the cluster")
	}
	if !shared.started {
		shared.started = true
		shared.c, shared.err = startCluster()
		if shared.err == nil {
			t.Logf("redistest: cluster of %d nodes started and healthy in %v", len(shared.c.Nodes), shared.c.Took.Round(time.Millisecond))
		}
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.c
}

// StartCluster starts a cluster for t alone and stops it when t ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	Need(t)
	c, err := startCluster()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// Stop kills every node and removes the cluster's files.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		_ = n.admin.Close()
		n.p.kill()
	}
	_ = os.RemoveAll(c.dir)
}

// Client returns a cluster client of c, closed when t ends. o may be nil;
// its Addrs are set to the nodes', and ContextTimeoutEnabled to true.
func (c *Cluster) Client(t testing.TB, o *redis.ClusterOptions) *redis.ClusterClient {
	var opt redis.ClusterOptions
	if o != nil {
		opt = *o
	}
	opt.Addrs = nil
	for _, n := range c.Nodes {
		opt.Addrs = append(opt.Addrs, n.Addr)
	}
	opt.ContextTimeoutEnabled = true
	cc := redis.NewClusterClient(&opt)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// ProxiedClient returns a cluster client of c whose connections to each
// node go through a [Proxy] of their own, and those proxies by node
// address: a test can slow down or cut off this client's link to one
// node while other clients keep theirs. o is as for Client.
func (c *Cluster) ProxiedClient(t testing.TB, o *redis.ClusterOptions) (*redis.ClusterClient, map[string]*Proxy) {
	t.Helper()
	proxies := map[string]*Proxy{}
	for _, n := range c.Nodes {
		proxies[n.Addr] = NewProxy(t, "tcp", n.Addr)
	}
	var opt redis.ClusterOptions
	if o != nil {
		opt = *o
	}
	opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if p := proxies[addr]; p != nil {
			addr = p.Addr()
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return c.Client(t, &opt), proxies
}

func startCluster() (c *Cluster, err error) {
	begin := time.Now()
	dir, err := os.MkdirTemp("", "rfc")
	if err != nil {
		return nil, err
	}
	c = &Cluster{dir: dir, Nodes: make([]*Node, 4)}
	defer func() {
		if err != nil {
			err = fmt.Errorf("redistest: starting a cluster: %w%s", err, c.logs())
			c.Stop()
			c = nil
		}
	}()
	// The four start together: each takes a moment to load.
	errs := make([]error, len(c.Nodes))
	var wg sync.WaitGroup
	for i := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Nodes[i], errs[i] = startNode(filepath.Join(dir, strconv.Itoa(i)))
		}()
	}
	wg.Wait()
	c.Nodes = slices.DeleteFunc(c.Nodes, func(n *Node) bool { return n == nil })
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	// As redis-cli --cluster create does, by hand and without its
	// one-second sleeps: distinct config epochs, slots, a meeting, and the
	// fourth node as the first's replica.
	ranges := [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}}
	for i, n := range c.Nodes {
		if n.ID, err = n.admin.ClusterMyID(ctx).Result(); err != nil {
			return c, err
		}
		if err := n.admin.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			return c, err
		}
		if i < len(ranges) {
			if err := n.admin.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", ranges[i][0], ranges[i][1]).Err(); err != nil {
				return c, err
			}
		}
	}
	first := c.Nodes[0]
	host, port, _ := net.SplitHostPort(first.Addr)
	bus := first.p.cmd.Args[slices.Index(first.p.cmd.Args, "--cluster-port")+1]
	for _, n := range c.Nodes[1:] {
		if err := n.admin.Do(ctx, "CLUSTER", "MEET", host, port, bus).Err(); err != nil {
			return c, err
		}
	}
	replica := c.Nodes[3]
	if err := poll(ctx, func() error {
		// Fails until the replica has met the master.
		return replica.admin.Do(ctx, "CLUSTER", "REPLICATE", first.ID).Err()
	}); err != nil {
		return c, fmt.Errorf("CLUSTER REPLICATE: %w", err)
	}
	if err := c.waitHealthy(ctx); err != nil {
		return c, err
	}
	c.Took = time.Since(begin)
	return c, nil
}

func (c *Cluster) logs() string {
	if c == nil {
		return ""
	}
	var b strings.Builder
	for _, n := range c.Nodes {
		fmt.Fprintf(&b, "\n--- node %s %s:\n%s", n.Addr, n.ID, n.Log())
	}
	return b.String()
}

// startNode starts one cluster node in dir on two free ports (the clients'
// and the cluster bus's), trying other ports if one was taken meanwhile.
func startNode(dir string) (*Node, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var err error
	for range 3 {
		var ports []int
		if ports, err = freePorts(2); err != nil {
			return nil, err
		}
		var p *process
		p, err = launch("--port", strconv.Itoa(ports[0]), "--cluster-port", strconv.Itoa(ports[1]),
			"--bind", "127.0.0.1", "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", strconv.FormatInt(NodeTimeout.Milliseconds(), 10),
			"--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "notice",
			// A replica syncs at once, not after the default 5s wait for others.
			"--repl-diskless-sync-delay", "0")
		if err != nil {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
		return &Node{Addr: addr, p: p, admin: redis.NewClient(&redis.Options{
			Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1,
		})}, nil
	}
	return nil, err
}

// freePorts returns n ports on 127.0.0.1 that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// poll calls f every few milliseconds until it returns nil, or returns its
// last error at ctx's end.
func poll(ctx context.Context, f func() error) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-tick.C:
		}
	}
}

// nodeView is one line of CLUSTER NODES, as one node sees another.
type nodeView struct {
	id, addr, master, slots string
	isMaster, failing       bool
}

// view reads CLUSTER NODES from n, sorted by id.
func (n *Node) view(ctx context.Context) ([]nodeView, error) {
	s, err := n.admin.ClusterNodes(ctx).Result()
	if err != nil {
		return nil, err
	}
	var out []nodeView
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("CLUSTER NODES of %s: line %q", n.Addr, line)
		}
		addr, _, _ := strings.Cut(f[1], "@")
		flags := "," + f[2] + ","
		v := nodeView{id: f[0], addr: addr, master: f[3], slots: strings.Join(f[8:], " "),
			isMaster: strings.Contains(flags, ",master,"),
			failing: strings.Contains(flags, ",fail") || strings.Contains(flags, ",handshake,") ||
				strings.Contains(flags, ",noaddr,")}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b nodeView) int { return strings.Compare(a.id, b.id) })
	return out, nil
}

// healthy says why c is not healthy, or nil: every node reports
// cluster_state:ok with all slots served, every node sees the same three
// masters and one replica, none failing, and the replica's link to its
// master is up.
func (c *Cluster) healthy(ctx context.Context) error {
	var first []nodeView
	for i, n := range c.Nodes {
		info, err := n.admin.ClusterInfo(ctx).Result()
		if err != nil {
			return fmt.Errorf("%s: CLUSTER INFO: %w", n.Addr, err)
		}
		for _, want := range []string{"cluster_state:ok", "cluster_slots_ok:16384", "cluster_known_nodes:4", "cluster_size:3"} {
			if !strings.Contains(info, want+"\r\n") {
				return fmt.Errorf("%s: no %s in CLUSTER INFO", n.Addr, want)
			}
		}
		v, err := n.view(ctx)
		if err != nil {
			return err
		}
		masters, replicas := 0, 0
		for _, x := range v {
			switch {
			case x.failing:
				return fmt.Errorf("%s sees %s failing", n.Addr, x.addr)
			case x.isMaster && x.slots != "":
				masters++
			case !x.isMaster && x.master != "-":
				replicas++
			}
		}
		if masters != 3 || replicas != 1 {
			return fmt.Errorf("%s sees %d masters with slots and %d replicas", n.Addr, masters, replicas)
		}
		if i == 0 {
			first = v
			continue
		}
		for j := range v {
			a, b := v[j], first[j]
			if a.id != b.id || a.isMaster != b.isMaster || a.master != b.master || a.slots != b.slots {
				return fmt.Errorf("%s and %s disagree on %s", n.Addr, c.Nodes[0].Addr, a.addr)
			}
		}
	}
	r, _, err := c.roles(ctx)
	if err != nil {
		return err
	}
	info, err := r.admin.Info(ctx, "replication").Result()
	if err != nil {
		return err
	}
	if !strings.Contains(info, "master_link_status:up") {
		return fmt.Errorf("replica %s: master link down", r.Addr)
	}
	return nil
}

func (c *Cluster) waitHealthy(ctx context.Context) error {
	return poll(ctx, func() error { return c.healthy(ctx) })
}

// WaitHealthy waits until the cluster is healthy (every node reports
// cluster_state:ok, and they agree on three masters and one replica, whose
// link is up), at most 30s.
func (c *Cluster) WaitHealthy(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	if err := c.waitHealthy(ctx); err != nil {
		t.Fatalf("redistest: the cluster is not healthy within %v: %v", clusterTimeout, err)
	}
}

func (c *Cluster) node(id string) *Node {
	for _, n := range c.Nodes {
		if n.ID == id {
			return n
		}
	}
	return nil
}

// roles returns the replica and its master, as the first node sees them.
func (c *Cluster) roles(ctx context.Context) (replica, master *Node, err error) {
	v, err := c.Nodes[0].view(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, x := range v {
		if !x.isMaster && x.master != "-" {
			r, m := c.node(x.id), c.node(x.master)
			if r == nil || m == nil {
				return nil, nil, fmt.Errorf("replica %s of %s: not a node of the cluster", x.id, x.master)
			}
			return r, m, nil
		}
	}
	return nil, nil, errors.New("no replica")
}

// Replica returns the node that is a replica now, and its master.
func (c *Cluster) Replica(t testing.TB) (replica, master *Node) {
	t.Helper()
	r, m, err := c.roles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r, m
}

// Slot returns the hash slot of key, as the server computes it.
func (c *Cluster) Slot(t testing.TB, key string) int {
	t.Helper()
	n, err := c.Nodes[0].admin.ClusterKeySlot(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// MasterOf returns the node that serves slot now, as the first node sees
// it.
func (c *Cluster) MasterOf(t testing.TB, slot int) *Node {
	t.Helper()
	v, err := c.Nodes[0].view(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range v {
		if !x.isMaster {
			continue
		}
		for _, r := range strings.Fields(x.slots) {
			lo, hi, ok := strings.Cut(r, "-")
			if !ok {
				hi = lo
			}
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if err1 == nil && err2 == nil && a <= slot && slot <= b {
				return c.node(x.id)
			}
		}
	}
	t.Fatalf("no master serves slot %d", slot)
	return nil
}

// Slots returns the cluster's slot map as CLUSTER NODES tells it: every
// master's slot ranges, each with the master and its replicas. Give it to
// ClusterOptions.ClusterSlots for a client that knows every node: Redis
// leaves a replica out of CLUSTER SLOTS until it has reported a
// replication offset, and then some nodes may still answer from a cached
// reply without it.
func (c *Cluster) Slots(ctx context.Context) ([]redis.ClusterSlot, error) {
	v, err := c.Nodes[0].view(ctx)
	if err != nil {
		return nil, err
	}
	var out []redis.ClusterSlot
	for _, m := range v {
		if !m.isMaster || m.failing {
			continue
		}
		nodes := []redis.ClusterNode{{ID: m.id, Addr: m.addr}}
		for _, r := range v {
			if !r.isMaster && r.master == m.id && !r.failing {
				nodes = append(nodes, redis.ClusterNode{ID: r.id, Addr: r.addr})
			}
		}
		for _, rg := range strings.Fields(m.slots) {
			lo, hi, ok := strings.Cut(rg, "-")
			if !ok {
				hi = lo
			}
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if err1 != nil || err2 != nil {
				continue // a slot being imported or migrated: "[n->-id]"
			}
			out = append(out, redis.ClusterSlot{Start: a, End: b, Nodes: nodes})
		}
	}
	return out, nil
}
