package grpcbreaker_test

import (
	"context"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/grpcbreaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
)

// guardedServer starts a server whose interceptors use b and opts.
func guardedServer(t *testing.T, b *breaker.Breaker[codes.Code], opts ...grpcbreaker.Option) (testpb.TestServiceClient, *testServer, *grpc.ClientConn) {
	t.Helper()
	opts = append([]grpcbreaker.Option{grpcbreaker.WithBreaker(b)}, opts...)
	addr, srv := serve(t,
		grpc.UnaryInterceptor(grpcbreaker.UnaryServerInterceptor(opts...)),
		grpc.StreamInterceptor(grpcbreaker.StreamServerInterceptor(opts...)),
	)
	cc := dial(t, addr)
	return testpb.NewTestServiceClient(cc), srv, cc
}

// The server sheds calls while open; the client, with no breaker of its
// own, reads the retry delay from the status it receives.
func TestServerShedsLoad(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		clk := epochs.Mock(start)
		b := newBreaker(t, 2, clk)
		c, srv, cc := guardedServer(t, b)
		ctx := context.Background()

		for range 2 {
			if _, err := c.UnaryCall(ctx, fail(codes.Internal)); status.Code(err) != codes.Internal {
				t.Fatalf("err = %v, want the handler's Internal", err)
			}
		}
		clk.Add(12 * time.Second)
		_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("open: %v, want Unavailable", err)
		}
		if d, ok := grpcbreaker.RetryAfter(err); !ok || d != 18*time.Second {
			t.Fatalf("RetryAfter over the wire = %v, %v; want 18s", d, ok)
		}
		s, err := c.StreamingOutputCall(ctx, outputs(1, codes.OK))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); status.Code(err) != codes.Unavailable {
			t.Fatalf("stream while open: %v, want Unavailable", err)
		}
		if srv.hits.Load() != 2 {
			t.Fatalf("handlers ran %d times; an open circuit runs none", srv.hits.Load())
		}
		wantCounts(t, b, counts{failed: 2, rejected: 2})

		// Health checks are answered all the same.
		if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatalf("health check while open: %v", err)
		}
		wantCounts(t, b, counts{failed: 2, rejected: 2})
	})
}

// The server counts ResourceExhausted, one client over its quota, as a
// success; the client's giving up counts for nothing.
func TestServerClassifies(t *testing.T) {
	b := newBreaker(t, 1, newClock())
	c, srv, _ := guardedServer(t, b)
	ctx := context.Background()
	for _, code := range []codes.Code{codes.ResourceExhausted, codes.NotFound, codes.OK} {
		c.UnaryCall(ctx, fail(code))
	}
	wantCounts(t, b, counts{ok: 3})

	cctx, cancel := context.WithCancel(ctx)
	go func() {
		<-srv.blocked
		cancel()
	}()
	if _, err := c.UnaryCall(cctx, blocking()); status.Code(err) != codes.Canceled {
		t.Fatalf("err = %v", err)
	}
	// The handler returns after the client has its answer: wait for it.
	waitCounted(t, b, 4)
	wantCounts(t, b, counts{ok: 3, ignored: 1})

	s, err := c.StreamingOutputCall(ctx, outputs(1, codes.Unknown))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drain(s); status.Code(err) != codes.Unknown {
		t.Fatalf("stream: %v", err)
	}
	waitState(t, b, breaker.Open)
	wantCounts(t, b, counts{ok: 3, ignored: 1, failed: 1})
	if b.State() != breaker.Open {
		t.Fatalf("state %v", b.State())
	}
}

// A bidirectional stream on a guarded server counts when its handler
// returns.
func TestServerStream(t *testing.T) {
	b := newBreaker(t, 1, newClock())
	c, _, _ := guardedServer(t, b)
	s, err := c.FullDuplexCall(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.Send(&testpb.StreamingOutputCallRequest{})
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	s.CloseSend()
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("%v", err)
	}
	waitCounted(t, b, 1)
	wantCounts(t, b, counts{ok: 1})
}

// A panicking handler counts as a failure; the panic goes on up (here to
// a recovering interceptor outside ours).
func TestServerHandlerPanics(t *testing.T) {
	b := newBreaker(t, 1, newClock())
	recovered := make(chan any, 1)
	recoverer := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (res any, err error) {
		defer func() {
			if v := recover(); v != nil {
				recovered <- v
				err = status.Error(codes.Internal, "panic")
			}
		}()
		return handler(ctx, req)
	}
	panicky := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		panic("boom")
	}
	addr, _ := serve(t, grpc.ChainUnaryInterceptor(recoverer, grpcbreaker.UnaryServerInterceptor(grpcbreaker.WithBreaker(b)), panicky))
	_, err := testpb.NewTestServiceClient(dial(t, addr)).UnaryCall(context.Background(), &testpb.SimpleRequest{})
	if status.Code(err) != codes.Internal || <-recovered != "boom" {
		t.Fatalf("err = %v", err)
	}
	wantCounts(t, b, counts{failed: 1})
	if b.State() != breaker.Open {
		t.Fatalf("state %v", b.State())
	}
}

// A server with one breaker per method sheds the failing method's calls
// and serves the others.
func TestServerGroupByMethod(t *testing.T) {
	g := newGroup(t, 2)
	opts := []grpcbreaker.Option{grpcbreaker.WithGroup(g, grpcbreaker.ByMethod)}
	addr, srv := serve(t,
		grpc.UnaryInterceptor(grpcbreaker.UnaryServerInterceptor(opts...)),
		grpc.StreamInterceptor(grpcbreaker.StreamServerInterceptor(opts...)),
	)
	c := testpb.NewTestServiceClient(dial(t, addr))
	ctx := context.Background()
	for range 2 {
		c.UnaryCall(ctx, fail(codes.Internal))
	}
	if _, err := c.UnaryCall(ctx, &testpb.SimpleRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("the failing method: %v, want Unavailable", err)
	}
	s, err := c.StreamingOutputCall(ctx, outputs(2, codes.OK))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := drain(s); n != 2 || err != io.EOF {
		t.Fatalf("the other method: %d responses, %v", n, err)
	}
	if srv.hits.Load() != 3 {
		t.Fatalf("handlers ran %d times, want 3", srv.hits.Load())
	}
}
