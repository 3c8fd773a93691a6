package grpcbreaker_test

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

// Neither the interceptors nor the tests may leave a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Commands a test sends in a request's payload.
const (
	// block: the handler waits for its context to end.
	block = "block"
)

// testServer is a real grpc_testing TestService: each call answers with
// the status its request asks for (ResponseStatus), after blocking until
// its context ends if the payload says "block". It counts the calls that
// reach it.
type testServer struct {
	testpb.UnimplementedTestServiceServer
	hits atomic.Int64
	// blocked gets a value as each blocking call starts to wait.
	blocked chan struct{}
}

// wait blocks until ctx ends, saying so on s.blocked first.
func (s *testServer) wait(ctx context.Context) error {
	s.blocked <- struct{}{}
	<-ctx.Done()
	return status.FromContextError(ctx.Err()).Err()
}

func requested(p *testpb.Payload, st *testpb.EchoStatus) (blocks bool, err error) {
	if st.GetCode() != 0 {
		err = status.Error(codes.Code(st.GetCode()), st.GetMessage())
	}
	return string(p.GetBody()) == block, err
}

func (s *testServer) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	s.hits.Add(1)
	blocks, err := requested(req.GetPayload(), req.GetResponseStatus())
	if blocks {
		return nil, s.wait(ctx)
	}
	if err != nil {
		return nil, err
	}
	return &testpb.SimpleResponse{Username: "ok"}, nil
}

// StreamingOutputCall sends one response per ResponseParameters, then
// blocks or fails as asked.
func (s *testServer) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	s.hits.Add(1)
	for range req.GetResponseParameters() {
		if err := stream.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	blocks, err := requested(req.GetPayload(), req.GetResponseStatus())
	if blocks {
		return s.wait(stream.Context())
	}
	return err
}

// StreamingInputCall counts the requests it receives and answers once.
func (s *testServer) StreamingInputCall(stream grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	s.hits.Add(1)
	n := 0
	for {
		_, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(n)})
		}
		if err != nil {
			return err
		}
		n++
	}
}

// FullDuplexCall answers each request, failing or blocking as it asks.
func (s *testServer) FullDuplexCall(stream grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	s.hits.Add(1)
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		blocks, err := requested(req.GetPayload(), req.GetResponseStatus())
		if blocks {
			return s.wait(stream.Context())
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
}

// serve starts a gRPC server with the test service and the health service
// on a loopback port, with the given server options, and stops it when
// the test ends.
func serve(t *testing.T, opts ...grpc.ServerOption) (addr string, srv *testServer) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(opts...)
	srv = &testServer{blocked: make(chan struct{}, 100)}
	testpb.RegisterTestServiceServer(s, srv)
	healthpb.RegisterHealthServer(s, health.NewServer())
	reflection.Register(s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(lis)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return lis.Addr().String(), srv
}

// dial connects to addr with the given dial options and closes the
// connection when the test ends.
func dial(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	cc, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// newClock returns a mock clock set to today's epoch, for tests whose
// outcome does not depend on the date; the others run from every epoch.
func newClock() *clock.Mock { return epochs.Mock(epochs.Today) }

// newBreaker returns a counting breaker that trips after failures
// failures in a row and stays open 30s, on clk.
func newBreaker(t *testing.T, failures int, clk breaker.Clock) *breaker.Breaker[codes.Code] {
	t.Helper()
	b, err := breaker.New(breaker.Config[codes.Code]{
		Name:           "test",
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

// counts says what a breaker counted, for comparison in tests.
type counts struct{ ok, failed, ignored, rejected uint64 }

func countsOf[T any](b *breaker.Breaker[T]) counts {
	m := b.Metrics()
	return counts{m.Successes, m.Failures, m.Ignored, m.Rejected}
}

func wantCounts[T any](t *testing.T, b *breaker.Breaker[T], want counts) {
	t.Helper()
	if got := countsOf(b); got != want {
		t.Fatalf("counts = %+v, want %+v", got, want)
	}
}

// fail asks for a response with code c.
func fail(c codes.Code) *testpb.SimpleRequest {
	return &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(c), Message: "asked for " + c.String()}}
}

func blocking() *testpb.SimpleRequest {
	return &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte(block)}}
}
