package sqlbreaker_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/sqlbreaker"
)

// downConnector stands for a real driver's connector (pq.NewConnector,
// pgx's stdlib.GetConnector, mysql.NewConnector) whose database is down:
// every dial is refused.
type downConnector struct{ dials int }

func (c *downConnector) Connect(context.Context) (driver.Conn, error) {
	c.dials++
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

func (c *downConnector) Driver() driver.Driver { return nil }

// A *sql.DB that stops dialing a database that refuses connections, and
// says when to try again.
func ExampleNewConnector() {
	b, _ := breaker.New(breaker.Config[struct{}]{
		Name:        "orders-db",
		Policy:      policy.Consecutive(2),
		OpenTimeout: 30 * time.Second,
	})
	dialer := &downConnector{}
	db := sql.OpenDB(sqlbreaker.NewConnector(dialer, b))
	defer db.Close()

	for range 3 {
		_, err := db.ExecContext(context.Background(), "UPDATE orders SET state = 'paid' WHERE id = $1", 42)
		if d, ok := breaker.RetryAfter(err, time.Now()); ok {
			fmt.Printf("not sent; retry in about %v\n", d.Round(time.Minute/2))
			continue
		}
		fmt.Println("error:", errors.Unwrap(err))
	}
	fmt.Println("dials:", dialer.dials)
	// Output:
	// error: connect: connection refused
	// error: connect: connection refused
	// not sent; retry in about 30s
	// dials: 2
}
