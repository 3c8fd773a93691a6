package redistest

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards the TCP connections it accepts on 127.0.0.1 to a server
// and puts the faults a test asks for between them: added latency, a
// partition, dropped connections, a pause. Build one with [NewProxy]; its
// methods are safe for concurrent use, and it stops when its test ends.
type Proxy struct {
	ln              net.Listener
	network, target string
	latency         atomic.Int64 // added to each direction, in ns

	mu        sync.Mutex
	conns     map[*pair]struct{}
	blackhole bool
	refuse    bool
	pause     chan struct{} // non-nil while paused; closed at Heal
	closed    bool
	wg        sync.WaitGroup
}

// NewProxy starts a proxy to the server at network ("tcp" or "unix") and
// address, listening on 127.0.0.1 at a free port, and closes it with every
// connection when t ends.
func NewProxy(t testing.TB, network, address string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, network: network, target: address, conns: map[*pair]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the address the proxy listens on, "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetLatency delays every byte by d in each direction (a round trip gains
// 2d), in order, from the moment the proxy reads it. 0 removes the delay.
func (p *Proxy) SetLatency(d time.Duration) { p.latency.Store(int64(d)) }

// Blackhole partitions the network: the bytes either side sends are lost
// and new connections are accepted but carry nothing, so that a client
// waits for its timeouts, as behind a firewall that drops packets. At
// Heal the connections that lost bytes are closed (their streams are
// broken); the others carry on.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blackhole = true
}

// Refuse closes every connection and closes new ones at once, until Heal:
// a server that went away.
func (p *Proxy) Refuse() {
	p.mu.Lock()
	p.refuse = true
	p.mu.Unlock()
	p.Drop()
}

// Drop closes every open connection now; new ones work.
func (p *Proxy) Drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.close()
	}
}

// Pause holds every byte, in order, until Heal delivers them: a stalled
// network whose connections survive.
func (p *Proxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pause == nil {
		p.pause = make(chan struct{})
	}
}

// Heal removes every fault: no latency, no partition, refusal or pause.
func (p *Proxy) Heal() {
	p.SetLatency(0)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.blackhole {
		for c := range p.conns {
			if c.lost.Load() {
				c.close()
			}
		}
	}
	p.blackhole, p.refuse = false, false
	if p.pause != nil {
		close(p.pause)
		p.pause = nil
	}
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	_ = p.ln.Close()
	p.Drop()
	p.wg.Wait()
}

// pair is one proxied connection: the client's and the server's ends.
type pair struct {
	client, server net.Conn
	lost           atomic.Bool // bytes were lost to a blackhole
	once           sync.Once
	done           chan struct{}
}

func (c *pair) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.client.Close()
		_ = c.server.Close()
	})
}

// dialTimeout bounds the dial of the server for one accepted connection.
const dialTimeout = 2 * time.Second

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		cc, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse || p.closed
		p.mu.Unlock()
		if refuse {
			_ = cc.Close()
			continue
		}
		sc, err := net.DialTimeout(p.network, p.target, dialTimeout)
		if err != nil {
			_ = cc.Close()
			continue
		}
		c := &pair{client: cc, server: sc, done: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.close()
			return
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(5) // forget, and a reader and a writer each way
		go p.forget(c)
		p.pipe(c, cc, sc)
		p.pipe(c, sc, cc)
	}
}

// forget removes c from the open connections once it is closed.
func (p *Proxy) forget(c *pair) {
	defer p.wg.Done()
	<-c.done
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

type chunk struct {
	b   []byte
	due time.Time
}

// pipe carries src to dst: one goroutine reads and stamps each chunk with
// the time it is due, another delivers it then, unless paused.
func (p *Proxy) pipe(c *pair, src, dst net.Conn) {
	q := make(chan chunk, 64)
	go func() {
		defer p.wg.Done()
		defer close(q)
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.mu.Lock()
				lost := p.blackhole
				p.mu.Unlock()
				if lost {
					c.lost.Store(true)
				} else {
					ch := chunk{append([]byte(nil), buf[:n]...), time.Now().Add(time.Duration(p.latency.Load()))}
					select {
					case q <- ch:
					case <-c.done:
						return
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		defer p.wg.Done()
		defer c.close() // the other side is done: so is the connection
		for ch := range q {
			if d := time.Until(ch.due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-c.done:
					t.Stop()
					return
				}
			}
			for {
				p.mu.Lock()
				gate := p.pause
				p.mu.Unlock()
				if gate == nil {
					break
				}
				select {
				case <-gate:
				case <-c.done:
					return
				}
			}
			if _, err := dst.Write(ch.b); err != nil {
				return
			}
		}
	}()
}
