// Package sqlbreaker puts a circuit breaker under a *sql.DB, with the
// standard library only: it wraps the driver.Connector (or the driver) the
// DB opens its connections with, as XSAM/otelsql does for tracing, so that
// the code that uses the *sql.DB does not change.
//
//	b, _ := breaker.New(breaker.Config[struct{}]{Name: "orders-db"})
//	db := sql.OpenDB(sqlbreaker.NewConnector(pgConnector, b))
//	...
//	_, err := db.ExecContext(ctx, "UPDATE ...")
//	if errors.Is(err, breaker.ErrOpen) {
//		// the database is unreachable: nothing was sent
//	}
//
// # What counts
//
// A breaker should open when the database cannot be reached, not when a
// caller's query is wrong. So by default ([DefaultClassifier]) connection
// and network errors are failures (driver.ErrBadConn, net errors, a
// connection closed mid-reply, a deadline the database did not meet) and
// errors the database returns for a statement (a constraint violation, a
// syntax error) are successes: the database answered. A connection attempt
// that fails is always a failure. [WithClassifier] changes the rule for
// statements.
//
// # Rejections
//
// While the circuit is open, connection attempts and statements fail at
// once with an error wrapping breaker.ErrOpen. It is never
// driver.ErrBadConn: database/sql retries a call that failed with that on
// another connection, and would only be rejected again.
package sqlbreaker
