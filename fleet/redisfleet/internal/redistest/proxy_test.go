package redistest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// echo starts a line echo server on 127.0.0.1 for t.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

type client struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, p *Proxy) *client {
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &client{c, bufio.NewReader(c)}
}

// roundTrip sends a line and reads it back within d: it returns how long
// that took, or the error.
func (c *client) roundTrip(d time.Duration) (time.Duration, error) {
	start := time.Now()
	_ = c.c.SetDeadline(start.Add(d))
	if _, err := c.c.Write([]byte("ping\n")); err != nil {
		return 0, err
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	if line != "ping\n" {
		return 0, errors.New("echo: " + line)
	}
	return time.Since(start), nil
}

func TestProxyFaults(t *testing.T) {
	p := NewProxy(t, "tcp", echo(t))
	c := dial(t, p)
	if _, err := c.roundTrip(time.Second); err != nil {
		t.Fatalf("no fault: %v", err)
	}

	p.SetLatency(50 * time.Millisecond)
	if d, err := c.roundTrip(2 * time.Second); err != nil || d < 100*time.Millisecond {
		t.Fatalf("latency 50ms each way: round trip %v, %v; want at least 100ms", d, err)
	}
	p.Heal()

	p.Blackhole()
	if _, err := c.roundTrip(100 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blackhole: %v, want a timeout", err)
	}
	fresh := dial(t, p)
	if _, err := fresh.roundTrip(100 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blackhole, new connection: %v, want a timeout", err)
	}
	p.Heal()
	if _, err := c.roundTrip(time.Second); err == nil {
		t.Fatal("a connection that lost bytes to the blackhole still works after Heal")
	}
	c = dial(t, p)
	if _, err := c.roundTrip(time.Second); err != nil {
		t.Fatalf("after the blackhole: %v", err)
	}

	p.Pause()
	if _, err := c.roundTrip(100 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("pause: %v, want a timeout", err)
	}
	p.Heal()
	// The held line arrives now, then the next one: the stream survived.
	_ = c.c.SetDeadline(time.Now().Add(time.Second))
	if line, err := c.r.ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("the line held by the pause: %q, %v", line, err)
	}
	if _, err := c.roundTrip(time.Second); err != nil {
		t.Fatalf("after the pause: %v", err)
	}

	p.Drop()
	if _, err := c.roundTrip(time.Second); err == nil {
		t.Fatal("a dropped connection still works")
	}
	c = dial(t, p)
	if _, err := c.roundTrip(time.Second); err != nil {
		t.Fatalf("after Drop, a new connection: %v", err)
	}

	p.Refuse()
	if _, err := c.roundTrip(time.Second); err == nil {
		t.Fatal("Refuse left a connection open")
	}
	if _, err := dial(t, p).roundTrip(time.Second); err == nil {
		t.Fatal("Refuse let a new connection through")
	}
	p.Heal()
	if _, err := dial(t, p).roundTrip(time.Second); err != nil {
		t.Fatalf("after Refuse and Heal: %v", err)
	}
}
