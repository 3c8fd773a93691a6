package sqlbreaker_test

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// serverError is an error a database returns for a statement: it answered.
type serverError struct{ code string }

func (e *serverError) Error() string { return "fake: server error " + e.code }

// fakeDB is a database of the test's own: its connector and connections do
// what the test sets, and count what reaches them.
type fakeDB struct {
	mu         sync.Mutex
	connectErr error // returned by Connect
	execErr    error // returned by every ExecContext
	connects   int   // Connect calls that reached the database
	execs      int   // ExecContext calls that reached it
	// block makes QueryContext wait for its context to end; started gets
	// a value as it starts to wait.
	started chan struct{}
	// plain makes connections offer no optional interface, as an old
	// driver's do.
	plain bool
	// checker gives connections a NamedValueChecker that takes money,
	// and converter gives statements a ColumnConverter that makes every
	// argument a string.
	checker, converter bool
	lastArgs           []driver.Value // what the last statement got
	closed             bool           // Close was called on the connector
}

// Close makes the connector an io.Closer, which DB.Close closes.
func (f *fakeDB) Close() error {
	f.set(func(f *fakeDB) { f.closed = true })
	return nil
}

func newFakeDB() *fakeDB { return &fakeDB{started: make(chan struct{}, 16)} }

func (f *fakeDB) set(fn func(f *fakeDB)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeDB) counts() (connects, execs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connects, f.execs
}

func (f *fakeDB) Connect(ctx context.Context) (driver.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connects++
	if f.connectErr != nil {
		return nil, f.connectErr
	}
	switch {
	case f.plain:
		return &plainConn{f: f}, nil
	case f.checker:
		return &checkerConn{fakeConn{plainConn{f: f}}}, nil
	}
	return &fakeConn{plainConn{f: f}}, nil
}

func (f *fakeDB) Driver() driver.Driver { return fakeDriver{f} }

func (f *fakeDB) exec() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.execs++
	return f.execErr
}

type fakeDriver struct{ f *fakeDB }

func (d fakeDriver) Open(string) (driver.Conn, error) { return d.f.Connect(context.Background()) }

// plainConn is a connection with only the methods every driver has.
type plainConn struct{ f *fakeDB }

func (c *plainConn) Prepare(query string) (driver.Stmt, error) {
	s := &fakeStmt{f: c.f, query: query}
	if c.f.converter {
		return &converterFakeStmt{s}, nil
	}
	return s, nil
}
func (c *plainConn) Close() error              { return nil }
func (c *plainConn) Begin() (driver.Tx, error) { return fakeTx{}, nil }

// fakeConn is a connection with the context methods.
type fakeConn struct{ plainConn }

func (c *fakeConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if query == "skip" {
		return nil, driver.ErrSkip
	}
	if err := c.f.exec(); err != nil {
		return nil, err
	}
	return driver.RowsAffected(1), nil
}

func (c *fakeConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	switch query {
	case "block":
		c.f.started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	case "block, then answer canceled":
		// As lib/pq does: the database's own "canceling statement" error.
		c.f.started <- struct{}{}
		<-ctx.Done()
		return nil, &serverError{"57014"}
	}
	if err := c.f.exec(); err != nil {
		return nil, err
	}
	return &fakeRows{n: 1}, nil
}

func (c *fakeConn) Ping(ctx context.Context) error { return c.f.exec() }

func (c *fakeConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return fakeTx{}, c.f.exec()
}

type fakeTx struct{}

func (fakeTx) Commit() error   { return nil }
func (fakeTx) Rollback() error { return nil }

// fakeStmt is a statement with only the context-free methods.
type fakeStmt struct {
	f     *fakeDB
	query string
}

func (s *fakeStmt) Close() error  { return nil }
func (s *fakeStmt) NumInput() int { return -1 }
func (s *fakeStmt) Exec(args []driver.Value) (driver.Result, error) {
	s.f.set(func(f *fakeDB) { f.lastArgs = args })
	if err := s.f.exec(); err != nil {
		return nil, err
	}
	return driver.RowsAffected(len(args)), nil
}
func (s *fakeStmt) Query(args []driver.Value) (driver.Rows, error) {
	if err := s.f.exec(); err != nil {
		return nil, err
	}
	return &fakeRows{n: 1}, nil
}

// fakeRows has n rows of one column.
type fakeRows struct{ n int }

func (r *fakeRows) Columns() []string { return []string{"x"} }
func (r *fakeRows) Close() error      { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	if r.n == 0 {
		return io.EOF
	}
	r.n--
	dest[0] = int64(1)
	return nil
}

// money is an argument type that only checkerConn takes.
type money int

// checkerConn takes money arguments, as "$N".
type checkerConn struct{ fakeConn }

func (c *checkerConn) CheckNamedValue(nv *driver.NamedValue) error {
	if m, ok := nv.Value.(money); ok {
		nv.Value = "$" + strconv.Itoa(int(m))
		return nil
	}
	return driver.ErrSkip
}

// converterFakeStmt makes every argument a string.
type converterFakeStmt struct{ *fakeStmt }

func (s *converterFakeStmt) ColumnConverter(int) driver.ValueConverter { return stringer{} }

// NumInput is 1: database/sql converts only the arguments a statement
// says it takes.
func (s *converterFakeStmt) NumInput() int { return 1 }

type stringer struct{}

func (stringer) ConvertValue(v any) (driver.Value, error) { return fmt.Sprint(v), nil }
