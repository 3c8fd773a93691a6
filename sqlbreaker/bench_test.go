package sqlbreaker_test

import (
	"context"
	"database/sql/driver"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/sqlbreaker"
)

// BenchmarkExecContext measures what the wrapper adds to a statement: a
// guarded connection's ExecContext over a fake one that does nothing.
func BenchmarkExecContext(b *testing.B) {
	for _, state := range []string{"closed", "open"} {
		br, err := breaker.New(breaker.Config[struct{}]{})
		if err != nil {
			b.Fatal(err)
		}
		conn, err := sqlbreaker.NewConnector(newFakeDB(), br).Connect(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if state == "open" {
			br.Trip()
		}
		exec := conn.(driver.ExecerContext)
		ctx := context.Background()
		b.Run("state="+state, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				exec.ExecContext(ctx, "INSERT", nil)
			}
		})
		b.Run("state="+state+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					exec.ExecContext(ctx, "INSERT", nil)
				}
			})
		})
	}
}
