package sqlbreaker_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/sqlbreaker"
)

func newBreaker(t *testing.T, failures int, clk breaker.Clock) *breaker.Breaker[struct{}] {
	t.Helper()
	b, err := breaker.New(breaker.Config[struct{}]{
		Name:           "db",
		Policy:         policy.Consecutive(failures),
		OpenTimeout:    30 * time.Second,
		HalfOpenProbes: 1,
		CountCalls:     true,
		Clock:          clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type counts struct{ ok, failed, ignored, rejected uint64 }

func wantCounts(t *testing.T, b *breaker.Breaker[struct{}], want counts) {
	t.Helper()
	m := b.Metrics()
	if got := (counts{m.Successes, m.Failures, m.Ignored, m.Rejected}); got != want {
		t.Fatalf("counts = %+v, want %+v", got, want)
	}
}

func openDB(t *testing.T, f *fakeDB, b *breaker.Breaker[struct{}], opts ...sqlbreaker.Option) *sql.DB {
	t.Helper()
	db := sql.OpenDB(sqlbreaker.NewConnector(f, b, opts...))
	t.Cleanup(func() { db.Close() })
	return db
}

// wantRejection checks that err is a rejection, and not driver.ErrBadConn.
func wantRejection(t *testing.T, err error) {
	t.Helper()
	var oe *breaker.OpenError
	if !errors.Is(err, breaker.ErrOpen) || !errors.As(err, &oe) || errors.Is(err, driver.ErrBadConn) {
		t.Fatalf("err = %v, want a rejection (ErrOpen, not ErrBadConn)", err)
	}
}

func TestConnectErrorsTripAndRejectionsAreNotRetried(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		clk := epochs.Mock(start)
		f := newFakeDB()
		f.connectErr = &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		b := newBreaker(t, 2, clk)
		db := openDB(t, f, b)
		ctx := context.Background()
		for range 2 {
			if err := db.PingContext(ctx); !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("err = %v, want the refused dial", err)
			}
		}
		if b.State() != breaker.Open {
			t.Fatalf("state %v after two refused connections", b.State())
		}
		clk.Add(10 * time.Second)
		_, err := db.ExecContext(ctx, "INSERT")
		wantRejection(t, err)
		if d, ok := breaker.RetryAfter(err, clk.Now()); !ok || d != 20*time.Second {
			t.Fatalf("RetryAfter = %v, %v", d, ok)
		}
		if connects, _ := f.counts(); connects != 2 {
			t.Fatalf("%d connection attempts; database/sql must not retry a rejection", connects)
		}
		wantCounts(t, b, counts{failed: 2, rejected: 1})

		// The database is back: the half-open probe connects, and closes
		// the circuit.
		f.set(func(f *fakeDB) { f.connectErr = nil })
		clk.Add(20 * time.Second)
		if _, err := db.ExecContext(ctx, "INSERT"); err != nil {
			t.Fatalf("probe: %v", err)
		}
		if b.State() != breaker.Closed {
			t.Fatalf("state %v after the probe", b.State())
		}
	})
}

// Every connection error counts; the errors a database returns for a
// statement do not, and reach the caller as they are.
func TestClassifiesStatementErrors(t *testing.T) {
	refused := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	for _, tt := range []struct {
		err   error
		fails bool
	}{
		{nil, false},
		{&serverError{"23505"}, false}, // unique violation
		{&serverError{"42601"}, false}, // syntax error
		{fmt.Errorf("wrapped: %w", &serverError{"40001"}), false},
		{refused, true},
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{fmt.Errorf("write: %w", syscall.EPIPE), true},
		{context.DeadlineExceeded, true},
		{os.ErrDeadlineExceeded, true}, // a net.Error: a socket deadline
	} {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			f := newFakeDB()
			b := newBreaker(t, 5, nil)
			db := openDB(t, f, b)
			db.PingContext(context.Background()) // two successes: the connection and the ping
			f.set(func(f *fakeDB) { f.execErr = tt.err })
			_, err := db.ExecContext(context.Background(), "INSERT")
			if !errors.Is(err, tt.err) && tt.err != nil {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.fails {
				wantCounts(t, b, counts{ok: 2, failed: 1})
			} else {
				wantCounts(t, b, counts{ok: 3})
			}
		})
	}
}

// driver.ErrBadConn is a failure, and database/sql retries it on another
// connection: the retry goes through the breaker, and once the circuit is
// open it stops with the rejection, which database/sql does not retry.
func TestBadConnRetriesEndInARejection(t *testing.T) {
	f := newFakeDB()
	b := newBreaker(t, 1, nil)
	db := openDB(t, f, b)
	db.PingContext(context.Background())
	f.set(func(f *fakeDB) { f.execErr = driver.ErrBadConn })
	_, err := db.ExecContext(context.Background(), "INSERT")
	wantRejection(t, err)
	if connects, execs := f.counts(); connects != 1 || execs != 2 { // the ping and the bad connection's exec
		t.Fatalf("%d connections and %d calls reached the database, want 1 and 2", connects, execs)
	}
	wantCounts(t, b, counts{ok: 2, failed: 1, rejected: 1})
}

func TestCancelIsIgnoredAndDeadlineFails(t *testing.T) {
	f := newFakeDB()
	b := newBreaker(t, 1, nil)
	db := openDB(t, f, b)

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-f.started
		cancel()
	}()
	if _, err := db.QueryContext(ctx, "block"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	wantCounts(t, b, counts{ok: 1, ignored: 1}) // the connection, and the query

	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := db.QueryContext(ctx, "block"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	wantCounts(t, b, counts{ok: 1, ignored: 1, failed: 1})
	if b.State() != breaker.Open {
		t.Fatalf("a query past its deadline did not trip a Consecutive(1) breaker")
	}

	// A call whose context is done already counts nothing.
	done, stop := context.WithCancel(context.Background())
	stop()
	db.ExecContext(done, "INSERT")
	wantCounts(t, b, counts{ok: 1, ignored: 1, failed: 1})
}

func TestCustomClassifier(t *testing.T) {
	f := newFakeDB()
	b := newBreaker(t, 1, nil)
	serverErrorsFail := func(ctx context.Context, err error) breaker.Outcome {
		var se *serverError
		if errors.As(err, &se) && se.code == "53300" { // too many connections
			return breaker.Failure
		}
		if errors.As(err, &se) {
			return breaker.Ignored
		}
		return sqlbreaker.DefaultClassifier(ctx, err)
	}
	db := openDB(t, f, b, sqlbreaker.WithClassifier(serverErrorsFail))
	db.PingContext(context.Background())
	f.set(func(f *fakeDB) { f.execErr = &serverError{"23505"} })
	db.ExecContext(context.Background(), "INSERT")
	wantCounts(t, b, counts{ok: 2, ignored: 1})
	f.set(func(f *fakeDB) { f.execErr = &serverError{"53300"} })
	db.ExecContext(context.Background(), "INSERT")
	wantCounts(t, b, counts{ok: 2, ignored: 1, failed: 1})
	if b.State() != breaker.Open {
		t.Fatalf("state %v", b.State())
	}
}

// A driver without the context methods still works: database/sql prepares
// each statement, and the wrapper runs the statement's context-free
// methods through the breaker.
func TestPlainDriver(t *testing.T) {
	f := newFakeDB()
	f.plain = true
	b := newBreaker(t, 1, nil)
	db := openDB(t, f, b)
	res, err := db.ExecContext(context.Background(), "INSERT", 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 2 {
		t.Fatalf("RowsAffected %d: the arguments did not reach the statement", n)
	}
	var x int
	if err := db.QueryRowContext(context.Background(), "SELECT").Scan(&x); err != nil || x != 1 {
		t.Fatalf("query: %v, %d", err, x)
	}
	if _, err := db.ExecContext(context.Background(), "INSERT", sql.Named("a", 1)); err == nil || !strings.Contains(err.Error(), "named") {
		t.Fatalf("a named argument for a driver without them: %v", err)
	}
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	if _, err := db.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true}); err == nil {
		t.Fatalf("a read-only transaction on a driver without BeginTx")
	}
	f.set(func(f *fakeDB) { f.execErr = io.ErrUnexpectedEOF })
	db.ExecContext(context.Background(), "INSERT")
	if b.State() != breaker.Open {
		t.Fatalf("state %v after a broken connection", b.State())
	}
}

// A driver that answers driver.ErrSkip asks database/sql to do it another
// way: that counts for nothing.
func TestErrSkipCountsNothing(t *testing.T) {
	f := newFakeDB()
	b := newBreaker(t, 1, nil)
	db := openDB(t, f, b)
	db.PingContext(context.Background())
	if _, err := db.ExecContext(context.Background(), "skip"); err != nil {
		t.Fatal(err) // database/sql prepared it instead
	}
	// The connection, the ping, the skipped call (ignored), the prepare
	// and the statement.
	wantCounts(t, b, counts{ok: 4, ignored: 1})
}

func TestTransactions(t *testing.T) {
	f := newFakeDB()
	b := newBreaker(t, 1, nil)
	db := openDB(t, f, b)
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(context.Background(), "INSERT"); err != nil {
		t.Fatal(err)
	}
	b.Trip()
	// Finishing work already begun is never refused.
	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit while open: %v", err)
	}
	_, err = db.BeginTx(context.Background(), nil)
	wantRejection(t, err)
}

// registered counts the drivers TestWrapDriver registered.
var registered atomic.Int64

func TestWrapDriver(t *testing.T) {
	f := newFakeDB()
	f.connectErr = errors.New("password authentication failed")
	b := newBreaker(t, 1, nil)
	// A name of its own for each run: -count runs the test again, and a
	// name registers once.
	name := fmt.Sprintf("sqlbreaker-fake-%d", registered.Add(1))
	sql.Register(name, sqlbreaker.WrapDriver(fakeDriver{f}, b))
	db, err := sql.Open(name, "dsn")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("err = %v", err)
	}
	// A connection that cannot be made is a failure, whatever the reason.
	wantRejection(t, db.Ping())
	wantCounts(t, b, counts{failed: 1, rejected: 1})

	// The connector's Driver is wrapped alike.
	b2 := newBreaker(t, 1, nil)
	b2.Trip()
	_, err = sqlbreaker.NewConnector(f, b2).Driver().Open("dsn")
	wantRejection(t, err)
}

func TestNilBreaker(t *testing.T) {
	db := openDB(t, newFakeDB(), nil)
	if err := db.Ping(); err == nil || !strings.Contains(err.Error(), "breaker is nil") {
		t.Fatalf("err = %v", err)
	}
}

// A driver may report the end of the caller's context with an error of
// the database's (lib/pq: "canceling statement due to user request"): it
// is the context that decides.
func TestContextDecidesWhateverTheDriverSays(t *testing.T) {
	f := newFakeDB()
	b := newBreaker(t, 1, nil)
	db := openDB(t, f, b)
	db.PingContext(context.Background())

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-f.started
		cancel()
	}()
	var se *serverError
	if _, err := db.QueryContext(ctx, "block, then answer canceled"); !errors.As(err, &se) {
		t.Fatalf("err = %v", err)
	}
	wantCounts(t, b, counts{ok: 2, ignored: 1})

	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := db.QueryContext(ctx, "block, then answer canceled"); !errors.As(err, &se) {
		t.Fatalf("err = %v", err)
	}
	wantCounts(t, b, counts{ok: 2, ignored: 1, failed: 1})
}

// Arguments are checked as they would be without the wrapper: by the
// connection's NamedValueChecker for a prepared statement too, and by a
// statement's ColumnConverter.
func TestArgumentCheckers(t *testing.T) {
	f := newFakeDB()
	f.checker = true
	db := openDB(t, f, newBreaker(t, 1, nil))
	st, err := db.PrepareContext(context.Background(), "INSERT")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Exec(money(5), 7); err != nil {
		t.Fatalf("Exec with the connection's argument type: %v", err)
	}
	f.mu.Lock()
	got := fmt.Sprint(f.lastArgs)
	f.mu.Unlock()
	if got != "[$5 7]" {
		t.Fatalf("the statement got %s, want [$5 7]: the connection's checker was skipped", got)
	}

	f2 := newFakeDB()
	f2.converter = true
	db2 := openDB(t, f2, newBreaker(t, 1, nil))
	st2, err := db2.PrepareContext(context.Background(), "INSERT")
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if _, err := st2.Exec(7); err != nil {
		t.Fatal(err)
	}
	f2.mu.Lock()
	arg := f2.lastArgs[0]
	f2.mu.Unlock()
	if arg != "7" {
		t.Fatalf("the statement got %#v, want the converter's \"7\"", arg)
	}
}

// DB.Close closes the connector underneath, as it would without the
// wrapper.
func TestCloseClosesTheConnector(t *testing.T) {
	f := newFakeDB()
	db := sql.OpenDB(sqlbreaker.NewConnector(f, newBreaker(t, 1, nil)))
	db.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		t.Fatal("DB.Close did not close the wrapped connector")
	}
}
