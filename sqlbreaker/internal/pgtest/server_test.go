package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
)

// postgres is a PostgreSQL server of a test's own, listening on a unix
// socket only.
type postgres struct {
	t    *testing.T
	bin  string // the directory of initdb, pg_ctl and postgres
	dir  string // owned by the server's user: data/, the socket, the log
	cred *syscall.Credential
}

// startPostgres initializes a database cluster in a temporary directory
// and starts a server on it, and stops it and removes the directory when
// the test ends. PostgreSQL refuses to run as root: as root, it runs the
// server as the postgres user that Debian's package creates.
func startPostgres(t *testing.T) *postgres {
	t.Helper()
	bin := findBin(t)
	dir, err := os.MkdirTemp("", "sqlbreaker-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pg := &postgres{t: t, bin: bin, dir: dir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, and no postgres user to run the server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	pg.run("initdb", "-D", pg.data(), "-U", "tripwire", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
	pg.start()
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(pg.data(), "postmaster.pid")); err == nil {
			pg.stop()
		}
	})
	return pg
}

func (pg *postgres) data() string { return filepath.Join(pg.dir, "data") }

// dsn is the connection string for lib/pq.
func (pg *postgres) dsn() string {
	return fmt.Sprintf("host=%s port=5432 user=tripwire dbname=postgres sslmode=disable connect_timeout=5", pg.dir)
}

// start starts the server and waits until it accepts connections.
func (pg *postgres) start() {
	pg.t.Helper()
	pg.run("pg_ctl", "-D", pg.data(), "-l", filepath.Join(pg.dir, "log"), "-w", "-t", "60",
		"-o", "-k "+pg.dir+" -c listen_addresses='' -c fsync=off -p 5432", "start")
}

// stop stops the server at once, as a crash would: connections are cut,
// and the socket goes away.
func (pg *postgres) stop() {
	pg.t.Helper()
	pg.run("pg_ctl", "-D", pg.data(), "-m", "immediate", "-w", "stop")
}

func (pg *postgres) run(name string, args ...string) {
	pg.t.Helper()
	cmd := exec.Command(filepath.Join(pg.bin, name), args...)
	cmd.Dir = pg.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if pg.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(pg.dir, "log"))
		pg.t.Fatalf("%s %v: %v\n%s\nserver log:\n%s", name, args, err, out, log)
	}
}

// findBin returns the directory of PostgreSQL's server binaries: where
// initdb is on PATH, or Debian's /usr/lib/postgresql/VERSION/bin, which is
// not on PATH. Without them the test skips, or fails under CI=true.
func findBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p)
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(found, func(i, j int) bool { return version(found[i]) > version(found[j]) })
	if len(found) > 0 {
		return filepath.Dir(found[0])
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("PostgreSQL's server binaries (initdb) are missing; .ci/run installs Debian's postgresql package")
	}
	t.Skip("PostgreSQL's server binaries (initdb) are missing: apt-get install postgresql")
	return ""
}

// version is the major version in a path /usr/lib/postgresql/VERSION/bin/initdb.
func version(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}
