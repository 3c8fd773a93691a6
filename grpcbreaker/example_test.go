package grpcbreaker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/grpcbreaker"
	"github.com/tripwire-go/tripwire/policy"
)

// downServer is a TestService whose UnaryCall always fails with
// Unavailable, as a server whose database is down would.
type downServer struct {
	testpb.UnimplementedTestServiceServer
}

func (downServer) UnaryCall(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return nil, status.Error(codes.Unavailable, "database down")
}

// upServer is a TestService whose UnaryCall answers.
type upServer struct {
	testpb.UnimplementedTestServiceServer
}

func (upServer) UnaryCall(context.Context, *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Username: "ok"}, nil
}

// A client that stops calling a server after two failures in a row, and
// learns from the rejection when to try again.
func ExampleUnaryClientInterceptor() {
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := grpc.NewServer()
	testpb.RegisterTestServiceServer(srv, downServer{})
	go srv.Serve(lis)
	defer srv.Stop()

	b, _ := breaker.New(breaker.Config[codes.Code]{
		Name:        "inventory",
		Policy:      policy.Consecutive(2),
		OpenTimeout: 30 * time.Second,
	})
	conn, _ := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(grpcbreaker.UnaryClientInterceptor(grpcbreaker.WithBreaker(b))),
		grpc.WithChainStreamInterceptor(grpcbreaker.StreamClientInterceptor(grpcbreaker.WithBreaker(b))),
	)
	defer conn.Close()
	client := testpb.NewTestServiceClient(conn)

	for range 3 {
		_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
		if errors.Is(err, breaker.ErrOpen) {
			d, _ := grpcbreaker.RetryAfter(err)
			fmt.Printf("not sent: %v; retry in about %v\n", status.Code(err), d.Round(time.Minute/2))
			continue
		}
		fmt.Println("server said:", status.Code(err), status.Convert(err).Message())
	}
	// Output:
	// server said: Unavailable database down
	// server said: Unavailable database down
	// not sent: Unavailable; retry in about 30s
}

// A server that sheds load while its breaker is open: the client gets
// Unavailable with the retry delay, and the handler does not run.
func ExampleUnaryServerInterceptor() {
	b, _ := breaker.New(breaker.Config[codes.Code]{Name: "api", OpenTimeout: 10 * time.Second})
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcbreaker.UnaryServerInterceptor(grpcbreaker.WithBreaker(b))),
		grpc.ChainStreamInterceptor(grpcbreaker.StreamServerInterceptor(grpcbreaker.WithBreaker(b))),
	)
	testpb.RegisterTestServiceServer(srv, upServer{})
	go srv.Serve(lis)
	defer srv.Stop()

	conn, _ := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer conn.Close()
	client := testpb.NewTestServiceClient(conn)

	call := func() {
		res, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{})
		if d, ok := grpcbreaker.RetryAfter(err); ok {
			fmt.Printf("%v, retry in about %v\n", status.Code(err), d.Round(time.Second))
			return
		}
		fmt.Println(res.GetUsername(), err)
	}
	call()
	b.Trip() // as the policy would after enough failures
	call()
	// Output:
	// ok <nil>
	// Unavailable, retry in about 10s
}
