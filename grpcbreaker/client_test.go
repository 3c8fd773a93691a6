package grpcbreaker_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/grpcbreaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// client connects to addr through the client interceptors built with
// opts.
func client(t *testing.T, addr string, opts ...grpcbreaker.Option) testpb.TestServiceClient {
	t.Helper()
	cc := dial(t, addr,
		grpc.WithUnaryInterceptor(grpcbreaker.UnaryClientInterceptor(opts...)),
		grpc.WithStreamInterceptor(grpcbreaker.StreamClientInterceptor(opts...)),
	)
	return testpb.NewTestServiceClient(cc)
}

// wantRejection checks that err is the interceptor's rejection: code
// Unavailable, ErrOpen, an *OpenError, and a retry delay of want in the
// message and the RetryInfo detail.
func wantRejection(t *testing.T, err error, want time.Duration) {
	t.Helper()
	var oe *breaker.OpenError
	switch {
	case status.Code(err) != codes.Unavailable:
		t.Fatalf("code %v (%v), want Unavailable", status.Code(err), err)
	case !errors.Is(err, breaker.ErrOpen):
		t.Fatalf("%v is not breaker.ErrOpen", err)
	case !errors.As(err, &oe):
		t.Fatalf("errors.As found no *breaker.OpenError in %v", err)
	case !strings.Contains(status.Convert(err).Message(), "retry in "+want.String()):
		t.Fatalf("message %q does not say retry in %v", status.Convert(err).Message(), want)
	}
	if d, ok := grpcbreaker.RetryAfter(err); !ok || d != want {
		t.Fatalf("RetryAfter = %v, %v; want %v", d, ok, want)
	}
}

func TestUnaryTripsAndRejects(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		addr, srv := serve(t)
		clk := epochs.Mock(start)
		b := newBreaker(t, 2, clk)
		c := client(t, addr, grpcbreaker.WithBreaker(b))
		ctx := context.Background()

		for range 2 {
			if _, err := c.UnaryCall(ctx, fail(codes.Unavailable)); status.Code(err) != codes.Unavailable || errors.Is(err, breaker.ErrOpen) {
				t.Fatalf("err = %v, want the server's Unavailable", err)
			}
		}
		if b.State() != breaker.Open {
			t.Fatalf("state %v after two failures", b.State())
		}
		clk.Add(10 * time.Second)
		_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
		wantRejection(t, err, 20*time.Second)
		if srv.hits.Load() != 2 {
			t.Fatalf("server got %d calls; an open circuit sends none", srv.hits.Load())
		}
		wantCounts(t, b, counts{failed: 2, rejected: 1})

		// Half-open: the probe succeeds and closes the circuit.
		clk.Add(20 * time.Second)
		if res, err := c.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil || res.GetUsername() != "ok" {
			t.Fatalf("probe: %v, %v", res, err)
		}
		if b.State() != breaker.Closed {
			t.Fatalf("state %v after a successful probe", b.State())
		}
	})
}

func TestUnaryClassifiesCodes(t *testing.T) {
	addr, _ := serve(t)
	failures := map[codes.Code]bool{
		codes.Unavailable: true, codes.DeadlineExceeded: true, codes.ResourceExhausted: true,
		codes.Internal: true, codes.Unknown: true, codes.DataLoss: true,
	}
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		t.Run(c.String(), func(t *testing.T) {
			b := newBreaker(t, 5, newClock())
			cl := client(t, addr, grpcbreaker.WithBreaker(b))
			_, err := cl.UnaryCall(context.Background(), fail(c))
			if status.Code(err) != c {
				t.Fatalf("code %v, want %v: the caller sees the server's status", status.Code(err), c)
			}
			// Canceled from the server, with the caller still waiting, is
			// the server's answer: a success like the other codes.
			if failures[c] {
				wantCounts(t, b, counts{failed: 1})
			} else {
				wantCounts(t, b, counts{ok: 1})
			}
		})
	}
}

// The caller giving up counts for nothing; the caller's deadline passing is
// a failure: the server was too slow.
func TestUnaryCancelAndDeadline(t *testing.T) {
	addr, srv := serve(t)
	b := newBreaker(t, 1, newClock())
	c := client(t, addr, grpcbreaker.WithBreaker(b))

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-srv.blocked
		cancel()
	}()
	if _, err := c.UnaryCall(ctx, blocking()); status.Code(err) != codes.Canceled {
		t.Fatalf("err = %v, want Canceled", err)
	}
	wantCounts(t, b, counts{ignored: 1})

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.UnaryCall(ctx, blocking()); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	wantCounts(t, b, counts{ignored: 1, failed: 1})
	if b.State() != breaker.Open {
		t.Fatalf("a deadline exceeded did not trip a Consecutive(1) breaker")
	}

	// A call whose context is done before it starts is not counted, open
	// circuit or not, and fails as gRPC fails it.
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if _, err := c.UnaryCall(done, &testpb.SimpleRequest{}); status.Code(err) != codes.Canceled {
		t.Fatalf("err = %v, want Canceled", err)
	}
	wantCounts(t, b, counts{ignored: 1, failed: 1})
}

// A classifier of one's own decides, and may ignore a code while the
// caller still waits.
func TestUnaryCustomClassifier(t *testing.T) {
	addr, _ := serve(t)
	b := newBreaker(t, 1, newClock())
	c := client(t, addr, grpcbreaker.WithBreaker(b), grpcbreaker.WithClassifier(func(ctx context.Context, err error) breaker.Outcome {
		switch status.Code(err) {
		case codes.NotFound:
			return breaker.Ignored
		case codes.FailedPrecondition:
			return breaker.Failure
		case codes.Unavailable:
			return breaker.Success
		}
		return grpcbreaker.DefaultClassifier(ctx, err)
	}))
	ctx := context.Background()
	c.UnaryCall(ctx, fail(codes.NotFound))
	c.UnaryCall(ctx, fail(codes.Unavailable))
	wantCounts(t, b, counts{ignored: 1, ok: 1})
	c.UnaryCall(ctx, fail(codes.FailedPrecondition))
	wantCounts(t, b, counts{ignored: 1, ok: 1, failed: 1})
	if b.State() != breaker.Open {
		t.Fatalf("state %v", b.State())
	}

	// A classifier may fail a call that returned no error.
	b2 := newBreaker(t, 1, newClock())
	c2 := client(t, addr, grpcbreaker.WithBreaker(b2), grpcbreaker.WithClassifier(func(context.Context, error) breaker.Outcome {
		return breaker.Failure
	}))
	if _, err := c2.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatalf("the caller sees the call's result: %v", err)
	}
	wantCounts(t, b2, counts{failed: 1})
}

// Health checks pass an open circuit, uncounted; so do methods WithSkip
// names.
func TestSkip(t *testing.T) {
	addr, srv := serve(t)
	b := newBreaker(t, 1, newClock())
	b.Trip()
	cc := dial(t, addr, grpc.WithUnaryInterceptor(grpcbreaker.UnaryClientInterceptor(grpcbreaker.WithBreaker(b))),
		grpc.WithStreamInterceptor(grpcbreaker.StreamClientInterceptor(grpcbreaker.WithBreaker(b))))
	h := healthpb.NewHealthClient(cc)
	if res, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health check through an open circuit: %v, %v", res, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := h.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := w.Recv(); err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health watch through an open circuit: %v, %v", res, err)
	}
	r, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	if res, err := r.Recv(); err != nil || len(res.GetListServicesResponse().GetService()) == 0 {
		t.Fatalf("reflection through an open circuit: %v, %v", res, err)
	}
	wantCounts(t, b, counts{})

	skipUnary := func(method string) bool { return method == "/grpc.testing.TestService/UnaryCall" }
	c := client(t, addr, grpcbreaker.WithBreaker(b), grpcbreaker.WithSkip(skipUnary))
	if _, err := c.UnaryCall(context.Background(), fail(codes.Internal)); status.Code(err) != codes.Internal {
		t.Fatalf("skipped method: %v", err)
	}
	if _, err := c.EmptyCall(context.Background(), &testpb.Empty{}); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("a method WithSkip does not name: %v", err)
	}
	if srv.hits.Load() != 1 {
		t.Fatalf("server hits %d", srv.hits.Load())
	}
	// WithSkip replaces the default: health checks are guarded now.
	hc := healthpb.NewHealthClient(dial(t, addr, grpc.WithUnaryInterceptor(grpcbreaker.UnaryClientInterceptor(grpcbreaker.WithBreaker(b), grpcbreaker.WithSkip(skipUnary)))))
	if _, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{}); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("health check with a skip of one's own: %v", err)
	}
}

func newGroup(t *testing.T, failures int) *group.Group[string, codes.Code] {
	t.Helper()
	g, err := group.New(group.Config[string, codes.Code]{
		New: func(string) breaker.Config[codes.Code] {
			return breaker.Config[codes.Code]{Policy: policy.Consecutive(failures), CountCalls: true}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// One breaker per method: the failing method's circuit opens, the other
// method's stays closed.
func TestGroupByMethod(t *testing.T) {
	addr, _ := serve(t)
	g := newGroup(t, 2)
	c := client(t, addr, grpcbreaker.WithGroup(g, grpcbreaker.ByMethod))
	ctx := context.Background()
	for range 2 {
		c.UnaryCall(ctx, fail(codes.Unavailable))
	}
	if _, err := c.UnaryCall(ctx, &testpb.SimpleRequest{}); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("UnaryCall: %v, want a rejection", err)
	}
	s, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("StreamingOutputCall: %v, want io.EOF", err)
	}
	unary, _ := g.Get("/grpc.testing.TestService/UnaryCall")
	stream, _ := g.Get("/grpc.testing.TestService/StreamingOutputCall")
	if unary.State() != breaker.Open || stream.State() != breaker.Closed || g.Len() != 2 {
		t.Fatalf("UnaryCall %v, StreamingOutputCall %v, %d breakers", unary.State(), stream.State(), g.Len())
	}
}

// One breaker per target: a failing server's circuit opens, the other
// server's stays closed.
func TestGroupByTarget(t *testing.T) {
	sick, _ := serve(t)
	well, _ := serve(t)
	g := newGroup(t, 1)
	cs, cw := client(t, sick, grpcbreaker.WithGroup(g, grpcbreaker.ByTarget)), client(t, well, grpcbreaker.WithGroup(g, grpcbreaker.ByTarget))
	ctx := context.Background()
	cs.UnaryCall(ctx, fail(codes.Internal))
	if _, err := cs.UnaryCall(ctx, &testpb.SimpleRequest{}); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("sick server: %v, want a rejection", err)
	}
	if _, err := cw.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatalf("healthy server: %v", err)
	}
	bs, _ := g.Get(sick)
	bw, _ := g.Get(well)
	if bs.State() != breaker.Open || bw.State() != breaker.Closed {
		t.Fatalf("sick %v, well %v", bs.State(), bw.State())
	}
}

// A group that cannot build a key's breaker fails the call with a status
// that says why; so does an interceptor with no breaker.
func TestMisconfigured(t *testing.T) {
	addr, srv := serve(t)
	bad, err := group.New(group.Config[string, codes.Code]{
		New: func(string) breaker.Config[codes.Code] { return breaker.Config[codes.Code]{OpenTimeout: -1} },
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client(t, addr, grpcbreaker.WithGroup(bad, nil)).UnaryCall(context.Background(), &testpb.SimpleRequest{})
	if status.Code(err) != codes.Internal || !errors.Is(err, breaker.ErrInvalidConfig) || !strings.Contains(err.Error(), "OpenTimeout") {
		t.Fatalf("bad group: %v", err)
	}
	_, err = client(t, addr).UnaryCall(context.Background(), &testpb.SimpleRequest{})
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "WithBreaker or WithGroup") {
		t.Fatalf("no breaker: %v", err)
	}
	_, err = client(t, addr).StreamingOutputCall(context.Background(), &testpb.StreamingOutputCallRequest{})
	if status.Code(err) != codes.Internal {
		t.Fatalf("no breaker, stream: %v", err)
	}
	if srv.hits.Load() != 0 {
		t.Fatalf("a misconfigured interceptor sent %d calls", srv.hits.Load())
	}
}

// A call that panics counts as a failure; the panic goes on up with its
// value.
func TestUnaryPanicCountsAsFailure(t *testing.T) {
	addr, _ := serve(t)
	b := newBreaker(t, 5, newClock())
	panicky := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		panic("boom")
	}
	cc := dial(t, addr, grpc.WithChainUnaryInterceptor(grpcbreaker.UnaryClientInterceptor(grpcbreaker.WithBreaker(b)), panicky))
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Fatalf("recovered %v, want the call's panic", v)
			}
		}()
		testpb.NewTestServiceClient(cc).UnaryCall(context.Background(), &testpb.SimpleRequest{})
	}()
	wantCounts(t, b, counts{failed: 1})
}
