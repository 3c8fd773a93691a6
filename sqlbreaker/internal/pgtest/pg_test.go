package pgtest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/sqlbreaker"
)

type counts struct{ ok, failed, ignored, rejected uint64 }

func countsOf(b *breaker.Breaker[struct{}]) counts {
	m := b.Metrics()
	return counts{m.Successes, m.Failures, m.Ignored, m.Rejected}
}

// One server for every case, in order: starting one takes seconds.
func TestPostgres(t *testing.T) {
	pg := startPostgres(t)
	clk := epochs.Mock(epochs.Today)
	// failed records what the breaker was told of each failure.
	var mu sync.Mutex
	var failed []error
	b, err := breaker.New(breaker.Config[struct{}]{
		Classify: func(_ struct{}, err error) breaker.Outcome {
			if err == nil {
				return breaker.Success
			}
			mu.Lock()
			defer mu.Unlock()
			failed = append(failed, err)
			return breaker.Failure
		},
		Name:           "postgres",
		Policy:         policy.Consecutive(1),
		OpenTimeout:    30 * time.Second,
		HalfOpenProbes: 1,
		CountCalls:     true,
		Clock:          clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	connector, err := pq.NewConnector(pg.dsn())
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(sqlbreaker.NewConnector(connector, b))
	defer db.Close()
	ctx := context.Background()

	// With a circuit that opens at the first failure, none of the
	// following may count as one.
	wantClosed := func(what string) {
		t.Helper()
		if b.State() != breaker.Closed || countsOf(b).failed != 0 {
			t.Fatalf("%s: state %v, counts %+v; want closed, no failure", what, b.State(), countsOf(b))
		}
	}

	t.Run("server errors are not failures", func(t *testing.T) {
		if _, err := db.ExecContext(ctx, "CREATE TABLE items (id int PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO items VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		var pqErr *pq.Error
		_, err := db.ExecContext(ctx, "INSERT INTO items VALUES ($1)", 1)
		if !errors.As(err, &pqErr) || pqErr.Code != "23505" {
			t.Fatalf("duplicate key: %v, want unique_violation (23505)", err)
		}
		wantClosed("a unique violation")
		_, err = db.ExecContext(ctx, "SELEC 1")
		if !errors.As(err, &pqErr) || pqErr.Code != "42601" {
			t.Fatalf("syntax: %v, want syntax_error (42601)", err)
		}
		wantClosed("a syntax error")
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "SELECT 1/0"); !errors.As(err, &pqErr) || pqErr.Code != "22012" {
			t.Fatalf("division by zero: %v", err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		wantClosed("an error in a transaction")
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil || n != 1 {
			t.Fatalf("count: %d, %v", n, err)
		}
	})

	t.Run("the caller's cancel is ignored", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		before := countsOf(b)
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := db.ExecContext(cctx, "SELECT pg_sleep(30)")
		if err == nil {
			t.Fatal("a canceled pg_sleep returned no error")
		}
		t.Logf("canceled: %v", err)
		wantClosed("a canceled query")
		if got := countsOf(b); got.ignored != before.ignored+1 {
			t.Fatalf("counts %+v, want one more ignored call than %+v", got, before)
		}
	})

	t.Run("a deadline passed is a failure, and opens the circuit", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := db.ExecContext(dctx, "SELECT pg_sleep(30)")
		if err == nil {
			t.Fatal("pg_sleep past the deadline returned no error")
		}
		t.Logf("past the deadline: %v", err)
		if b.State() != breaker.Open {
			t.Fatalf("state %v, counts %+v; want open", b.State(), countsOf(b))
		}
		_, err = db.ExecContext(ctx, "SELECT 1")
		if !errors.Is(err, breaker.ErrOpen) || errors.Is(err, driver.ErrBadConn) {
			t.Fatalf("while open: %v, want a rejection that is not ErrBadConn", err)
		}
		clk.Add(30 * time.Second)
		if err := db.PingContext(ctx); err != nil {
			t.Fatalf("probe: %v", err)
		}
		if b.State() != breaker.Closed {
			t.Fatalf("state %v after a successful probe", b.State())
		}
	})

	t.Run("a server that is down opens the circuit", func(t *testing.T) {
		pg.stop()
		var err error
		// A pooled connection learns that the server went away on its
		// first use (the driver may see the server's termination notice
		// before the socket closes); a new one cannot connect at all.
		for range 3 {
			_, err = db.ExecContext(ctx, "SELECT 1")
			t.Logf("server down: %v", err)
			if b.State() == breaker.Open {
				break
			}
		}
		if b.State() != breaker.Open {
			t.Fatalf("server down: state %v, last error %v", b.State(), err)
		}
		mu.Lock()
		last := failed[len(failed)-1]
		mu.Unlock()
		t.Logf("the failure that opened it: %v", last)
		if !sqlbreaker.IsConnError(last) {
			t.Fatalf("the circuit opened on %v, not a connection error", last)
		}
		before := countsOf(b)
		_, err = db.ExecContext(ctx, "SELECT 1")
		var oe *breaker.OpenError
		if !errors.As(err, &oe) || errors.Is(err, driver.ErrBadConn) {
			t.Fatalf("while open: %v, want a rejection that is not ErrBadConn", err)
		}
		if got := countsOf(b); got.rejected != before.rejected+1 || got.failed != before.failed {
			t.Fatalf("counts %+v after %+v: database/sql retried the rejection", got, before)
		}

		// A new pool cannot connect at all: the dial fails, and that is a
		// failure too.
		fresh, _ := breaker.New(breaker.Config[struct{}]{Policy: policy.Consecutive(1), Clock: clk})
		db2 := sql.OpenDB(sqlbreaker.NewConnector(connector, fresh))
		defer db2.Close()
		err = db2.PingContext(ctx)
		t.Logf("connecting to a server that is down: %v", err)
		if !sqlbreaker.IsConnError(err) || fresh.State() != breaker.Open {
			t.Fatalf("connecting to a server that is down: %v, state %v; want a connection error that opens the circuit", err, fresh.State())
		}

		// The server comes back; once the open period ends, the probe
		// connects and closes the circuit.
		pg.start()
		clk.Add(30 * time.Second)
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil || n != 1 {
			t.Fatalf("after the restart: %d, %v", n, err)
		}
		if b.State() != breaker.Closed {
			t.Fatalf("state %v after the restart", b.State())
		}
	})
}
