package redistest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server of one test, on a unix socket in a temporary
// directory, with no persistence (port 0, no snapshots, no append-only file). Its
// methods are safe for concurrent use.
type Server struct {
	// Sock is the path of the server's unix socket; it stays the same
	// across Stop and Start.
	Sock string
	dir  string
	t    testing.TB

	mu sync.Mutex
	p  *process
}

// Start starts a redis-server for t and stops it when t ends. Without the
// binary it skips t, except under CI=true (see [Need]).
func Start(t testing.TB) *Server {
	t.Helper()
	Need(t)
	// A short directory: a unix socket's path is limited to 108 bytes.
	dir, err := os.MkdirTemp("", "rf")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Sock: filepath.Join(dir, "redis.sock"), dir: dir, t: t}
	t.Cleanup(func() {
		s.Stop()
		_ = os.RemoveAll(dir)
	})
	s.Start()
	return s
}

// Start starts the server again after Stop, empty, on the same socket; it
// returns once the server accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		s.t.Fatal("redistest: Start of a server that is running")
	}
	p, err := launch("--port", "0", "--unixsocket", s.Sock, "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--loglevel", "notice")
	if err != nil {
		s.t.Fatal(err)
	}
	s.p = p
}

// Stop kills the server (stopped by SIGSTOP or not) and waits for it: its
// data is lost, as in a crash.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		s.p.kill()
		s.p = nil
	}
}

// Signal sends sig to the server: SIGSTOP and SIGCONT freeze and thaw it.
func (s *Server) Signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p == nil {
		s.t.Fatal(errStopped)
	}
	if err := s.p.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}

// Log returns the last lines the server logged.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p == nil {
		return ""
	}
	return s.p.log.String()
}

// Client returns a client of the server, closed when t ends, whose steps
// end at their context's deadline.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: s.Sock, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// CommandCalls returns the calls of each command the server has run
// (EVALSHA, EVAL, PUBLISH, ...), from INFO commandstats.
func (s *Server) CommandCalls(t testing.TB) map[string]int64 {
	t.Helper()
	info, err := s.Client(t).Info(context.Background(), "commandstats").Result()
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
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatalf("INFO commandstats: %q: %v", line, err)
				}
				calls[strings.TrimPrefix(name, "cmdstat_")] = n
			}
		}
	}
	return calls
}
