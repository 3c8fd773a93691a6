package sqlbreaker_test

import (
	"context"
	"database/sql/driver"
	"io"
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
	if f.plain {
		return &plainConn{f: f}, nil
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
	return &fakeStmt{f: c.f, query: query}, nil
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
