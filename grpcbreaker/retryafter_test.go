package grpcbreaker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/grpcbreaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
)

func withRetryInfo(c codes.Code, d time.Duration) error {
	st, err := status.New(c, "busy").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

func TestClientOpensForRetryInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want time.Duration // 0: stays closed
	}{
		{"resource-exhausted", withRetryInfo(codes.ResourceExhausted, 20*time.Second), 20 * time.Second},
		{"unavailable clamped", withRetryInfo(codes.Unavailable, time.Hour), time.Minute},
		{"internal ignores it", withRetryInfo(codes.Internal, 20*time.Second), 0},
		{"unavailable without it", status.Error(codes.Unavailable, "down"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := epochs.NewClock(epochs.Today)
			var tr []breaker.Transition
			b, err := breaker.New(breaker.Config[codes.Code]{Clock: clk, MaxRetryAfter: time.Minute,
				OnTransition: func(x breaker.Transition) { tr = append(tr, x) }})
			if err != nil {
				t.Fatal(err)
			}
			ic := grpcbreaker.UnaryClientInterceptor(grpcbreaker.WithBreaker(b))
			invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return tc.err }
			if err := ic(context.Background(), "/svc/M", nil, nil, nil, invoker); status.Code(err) != status.Code(tc.err) {
				t.Fatalf("the call returned %v, want the server's %v", err, tc.err)
			}
			if tc.want == 0 {
				if len(tr) != 0 {
					t.Fatalf("transitions %+v, want none", tr)
				}
				return
			}
			if len(tr) != 1 || tr[0].To != breaker.Open || !tr[0].Until.Equal(clk.Now().Add(tc.want)) ||
				!strings.Contains(tr[0].Evidence.Text, "asked by the dependency") {
				t.Fatalf("transitions %+v, want open for %v", tr, tc.want)
			}
		})
	}
}
