package sqlbreaker

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"

	"github.com/tripwire-go/tripwire/breaker"
)

// NewConnector returns a connector that opens c's connections through b,
// for sql.OpenDB, so that every connection attempt and every statement of
// the *sql.DB goes through the circuit. While the circuit is open nothing
// reaches the database: calls fail at once with an error wrapping
// breaker.ErrOpen (errors.As finds the *breaker.OpenError, and
// breaker.RetryAfter says when to retry). The error is never
// driver.ErrBadConn, so database/sql does not retry it on another
// connection.
//
// What goes through the breaker, and counts:
//
//   - opening a connection (Connect): every error is a failure, unless the
//     caller gave up;
//   - Ping, BeginTx, PrepareContext, ExecContext and QueryContext on a
//     connection, and ExecContext and QueryContext on a prepared
//     statement: as the classifier says ([DefaultClassifier] unless
//     [WithClassifier]): connection and network errors are failures,
//     errors the database returns for a statement are not.
//
// Commit, Rollback, Close, and reading rows pass unguarded and uncounted:
// refusing to finish work already begun helps no one. A query counts when
// QueryContext returns, before its rows are read.
//
// With b nil, every call fails, saying so.
func NewConnector(c driver.Connector, b *breaker.Breaker[struct{}], opts ...Option) driver.Connector {
	return &connector{c: c, g: newGuard(b, opts)}
}

// WrapDriver returns a driver that opens d's connections through b, for
// sql.Register, as [NewConnector] does for a connector. Prefer
// NewConnector with sql.OpenDB when the driver has a connector: a
// connection opened through Driver.Open has no context, so only its
// connection attempt's own timeout bounds it.
func WrapDriver(d driver.Driver, b *breaker.Breaker[struct{}], opts ...Option) driver.Driver {
	return &wrappedDriver{d: d, g: newGuard(b, opts)}
}

type connector struct {
	c driver.Connector
	g *guard
}

// Connect opens a connection through the breaker.
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := do(c.g, ctx, connectClassify, func() (driver.Conn, error) { return c.c.Connect(ctx) })
	if err != nil {
		return nil, err
	}
	return &guardedConn{Conn: conn, g: c.g}, nil
}

// Close closes the wrapped connector if it can be closed (io.Closer), as
// DB.Close does for a connector it was opened with.
func (c *connector) Close() error {
	if cl, ok := c.c.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// Driver returns the wrapped connector's driver, wrapped alike.
func (c *connector) Driver() driver.Driver { return &wrappedDriver{d: c.c.Driver(), g: c.g} }

type wrappedDriver struct {
	d driver.Driver
	g *guard
}

// Open opens a connection through the breaker.
func (d *wrappedDriver) Open(name string) (driver.Conn, error) {
	conn, err := do(d.g, context.Background(), connectClassify, func() (driver.Conn, error) { return d.d.Open(name) })
	if err != nil {
		return nil, err
	}
	return &guardedConn{Conn: conn, g: d.g}, nil
}

// OpenConnector returns a guarded connector of the driver's, if it has
// them (driver.DriverContext), so that sql.Open uses Connect.
func (d *wrappedDriver) OpenConnector(name string) (driver.Connector, error) {
	dc, ok := d.d.(driver.DriverContext)
	if !ok {
		return &dsnConnector{name: name, d: d}, nil
	}
	c, err := dc.OpenConnector(name)
	if err != nil {
		return nil, err
	}
	return &connector{c: c, g: d.g}, nil
}

// dsnConnector is the connector of a driver without connectors of its
// own, as database/sql makes one.
type dsnConnector struct {
	name string
	d    *wrappedDriver
}

func (c *dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.name) }
func (c *dsnConnector) Driver() driver.Driver                        { return c.d }

// guardedConn guards a connection's calls. It offers database/sql every optional
// interface and asks the connection underneath for each: what it lacks,
// guardedConn answers as database/sql would without it (driver.ErrSkip, or the
// context-free method).
type guardedConn struct {
	driver.Conn
	g *guard
}

var (
	_ driver.Pinger             = (*guardedConn)(nil)
	_ driver.ConnBeginTx        = (*guardedConn)(nil)
	_ driver.ConnPrepareContext = (*guardedConn)(nil)
	_ driver.ExecerContext      = (*guardedConn)(nil)
	_ driver.QueryerContext     = (*guardedConn)(nil)
	_ driver.SessionResetter    = (*guardedConn)(nil)
	_ driver.Validator          = (*guardedConn)(nil)
	_ driver.NamedValueChecker  = (*guardedConn)(nil)
)

func (c *guardedConn) Ping(ctx context.Context) error {
	p, ok := c.Conn.(driver.Pinger)
	if !ok {
		return nil // database/sql's answer for a driver that cannot ping
	}
	_, err := do(c.g, ctx, c.g.classify, func() (struct{}, error) { return struct{}{}, p.Ping(ctx) })
	return err
}

func (c *guardedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return do(c.g, ctx, c.g.classify, func() (driver.Tx, error) {
		if b, ok := c.Conn.(driver.ConnBeginTx); ok {
			return b.BeginTx(ctx, opts)
		}
		if opts.Isolation != 0 || opts.ReadOnly {
			return nil, errors.New("sqlbreaker: the driver supports neither isolation levels nor read-only transactions")
		}
		//lint:ignore SA1019 the fallback database/sql uses too
		return c.Conn.Begin()
	})
}

func (c *guardedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := do(c.g, ctx, c.g.classify, func() (driver.Stmt, error) {
		if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
			return p.PrepareContext(ctx, query)
		}
		return c.Conn.Prepare(query)
	})
	if err != nil {
		return nil, err
	}
	st := &stmt{Stmt: s, conn: c.Conn, g: c.g}
	//lint:ignore SA1019 a driver may still have one, which database/sql uses
	if cc, ok := s.(driver.ColumnConverter); ok {
		return &converterStmt{stmt: st, cc: cc}, nil
	}
	return st, nil
}

func (c *guardedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip // database/sql prepares a statement instead
	}
	return do(c.g, ctx, c.g.classify, func() (driver.Result, error) {
		return e.ExecContext(ctx, query, args)
	})
}

func (c *guardedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	return do(c.g, ctx, c.g.classify, func() (driver.Rows, error) {
		return q.QueryContext(ctx, query, args)
	})
}

func (c *guardedConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *guardedConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *guardedConn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.Conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip // database/sql's default conversion
}

// stmt guards a prepared statement's calls.
type stmt struct {
	driver.Stmt
	conn driver.Conn // the connection underneath, which prepared it
	g    *guard
}

var (
	_ driver.StmtExecContext   = (*stmt)(nil)
	_ driver.StmtQueryContext  = (*stmt)(nil)
	_ driver.NamedValueChecker = (*stmt)(nil)
)

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return do(s.g, ctx, s.g.classify, func() (driver.Result, error) {
		if e, ok := s.Stmt.(driver.StmtExecContext); ok {
			return e.ExecContext(ctx, args)
		}
		vals, err := values(args)
		if err != nil {
			return nil, err
		}
		//lint:ignore SA1019 the fallback database/sql uses too
		return s.Stmt.Exec(vals)
	})
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return do(s.g, ctx, s.g.classify, func() (driver.Rows, error) {
		if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
			return q.QueryContext(ctx, args)
		}
		vals, err := values(args)
		if err != nil {
			return nil, err
		}
		//lint:ignore SA1019 the fallback database/sql uses too
		return s.Stmt.Query(vals)
	})
}

// CheckNamedValue checks an argument as database/sql would without the
// wrapper: with the statement's checker if it has one, else the
// connection's. database/sql asks a statement that has one instead of its
// connection, so it must not hide the connection's.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	if n, ok := s.conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// converterStmt is a stmt whose statement underneath has a
// driver.ColumnConverter, which database/sql asks after the checkers.
type converterStmt struct {
	*stmt
	//lint:ignore SA1019 a driver may still have one, which database/sql uses
	cc driver.ColumnConverter
}

func (s *converterStmt) ColumnConverter(idx int) driver.ValueConverter {
	return s.cc.ColumnConverter(idx)
}

// values converts arguments for a driver without context methods, as
// database/sql does: such a driver takes no named arguments.
func values(args []driver.NamedValue) ([]driver.Value, error) {
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("sqlbreaker: the driver does not support named arguments")
		}
		vals[i] = a.Value
	}
	return vals, nil
}
