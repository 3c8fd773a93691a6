package grpcbreaker_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/grpcbreaker"
)

// BenchmarkUnaryClientInterceptor measures what the interceptor adds to a
// call, with an invoker that does nothing: no network, no codec.
func BenchmarkUnaryClientInterceptor(b *testing.B) {
	okInvoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	for _, state := range []string{"closed", "open"} {
		br, err := breaker.New(breaker.Config[codes.Code]{})
		if err != nil {
			b.Fatal(err)
		}
		if state == "open" {
			br.Trip()
		}
		intercept := grpcbreaker.UnaryClientInterceptor(grpcbreaker.WithBreaker(br))
		ctx := context.Background()
		const method = "/grpc.testing.TestService/UnaryCall"
		b.Run("state="+state, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				intercept(ctx, method, nil, nil, nil, okInvoker)
			}
		})
		b.Run("state="+state+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					intercept(ctx, method, nil, nil, nil, okInvoker)
				}
			})
		})
	}
}
