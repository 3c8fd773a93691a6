package redisfleet_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// server is a redis-server of the test's own, on a unix socket in a
// temporary directory, with no persistence.
type server struct {
	t    testing.TB
	dir  string
	sock string
	cmd  *exec.Cmd
}

// startRedis starts a redis-server for t and stops it when t ends. Without
// the binary it skips t, except under CI=true, where the binary must be
// there.
func startRedis(t testing.TB) *server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is not installed, and CI=true needs it: %v", err)
		}
		t.Skip("redis-server is not installed")
	}
	// A short directory: a unix socket's path is limited to 108 bytes.
	dir, err := os.MkdirTemp("", "rf")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, dir: dir, sock: filepath.Join(dir, "redis.sock")}
	t.Cleanup(func() {
		s.stop()
		_ = os.RemoveAll(dir)
	})
	s.start()
	return s
}

// start runs the server and returns once it accepts connections.
func (s *server) start() {
	s.t.Helper()
	cmd := exec.Command("redis-server", "--port", "0", "--unixsocket", s.sock,
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--loglevel", "notice")
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd = cmd
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
			s.t.Fatal("redis-server exited before it was ready")
		}
	case <-time.After(10 * time.Second):
		s.t.Fatal("redis-server was not ready within 10s")
	}
}

// stop kills the server and waits for it.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // in case a test left it stopped
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// signal sends sig to the server.
func (s *server) signal(sig syscall.Signal) {
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}

// client returns a client of the server, closed when the test ends.
func (s *server) client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: s.sock, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// commandCalls returns the calls of each command the server has run, from
// INFO commandstats (EVALSHA, EVAL, PUBLISH, ...).
func (s *server) commandCalls(t testing.TB) map[string]int64 {
	t.Helper()
	c := s.client(t)
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		// cmdstat_evalsha:calls=12,usec=...
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				var n int64
				for _, ch := range v {
					n = n*10 + int64(ch-'0')
				}
				calls[strings.TrimPrefix(name, "cmdstat_")] = n
			}
		}
	}
	return calls
}
