// Package redistest starts what the tests of redisfleet run against: a
// redis-server of their own ([Start]), a Redis Cluster of three masters,
// one of them with a replica ([SharedCluster], [StartCluster]), and a TCP
// proxy that puts faults between a client and either ([NewProxy]).
//
// Everything listens on loopback or on a unix socket in a temporary
// directory, is bounded in time, and stops when its test (or, for the
// shared cluster, the test binary) ends; the servers also die with the
// test process if it is killed. Without redis-server a test skips, except
// under CI=true, where it fails.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// readyTimeout bounds the wait for a redis-server to accept connections.
const readyTimeout = 10 * time.Second

// Need skips t when redis-server is not installed, except under CI=true,
// where t fails: CI must run the tests of the real thing.
func Need(t testing.TB) {
	t.Helper()
	if err := lookup(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v, and CI=true needs it", err)
		}
		t.Skip(err)
	}
}

func lookup() error {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return fmt.Errorf("redis-server is not installed: %w", err)
	}
	return nil
}

// process is one running redis-server, its log kept for failure messages.
type process struct {
	cmd  *exec.Cmd
	log  *tail
	done chan struct{} // closed when the process has exited
}

// launch starts redis-server with args and returns once it accepts
// connections. A server that exits first (a port taken meanwhile) or is
// not ready within readyTimeout is an error that quotes its log.
func launch(args ...string) (*process, error) {
	cmd := exec.Command("redis-server", args...)
	dieWithParent(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, log: &tail{}, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		// Reads the log to its end: a server whose stdout is not read
		// blocks when it logs.
		sc := bufio.NewScanner(out)
		found := false
		for sc.Scan() {
			p.log.add(sc.Text())
			if !found && strings.Contains(strings.ToLower(sc.Text()), "ready to accept connections") {
				found = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		close(p.done)
	}()
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case <-ready:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("redis-server %s exited before it was ready:\n%s", strings.Join(args, " "), p.log)
	case <-timer.C:
		p.kill()
		return nil, fmt.Errorf("redis-server %s was not ready within %v:\n%s", strings.Join(args, " "), readyTimeout, p.log)
	}
}

// kill kills the process, stopped or not, and waits for it.
func (p *process) kill() {
	_ = p.cmd.Process.Kill() // SIGKILL ends a stopped process too
	<-p.done
}

// tail keeps the last lines of a log.
type tail struct {
	mu    sync.Mutex
	lines []string
}

const tailLines = 200

func (l *tail) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == tailLines {
		l.lines = append(l.lines[:0], l.lines[1:]...)
	}
	l.lines = append(l.lines, s)
}

func (l *tail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// errStopped fails a test that signals a server it stopped.
var errStopped = errors.New("redistest: the server is not running")
