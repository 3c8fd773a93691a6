package grpcbreaker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/grpcbreaker"
	"github.com/tripwire-go/tripwire/policy"
)

// A per-target group with outlier detection: the target whose calls fail
// while its siblings' succeed is opened by the detector, although its own
// policy has not tripped.
func TestGroupByTargetOutlierOpens(t *testing.T) {
	clk := newClock()
	g, err := group.New(group.Config[string, codes.Code]{
		New: func(string) breaker.Config[codes.Code] {
			return breaker.Config[codes.Code]{Policy: policy.Consecutive(100)}
		},
		Clock: clk,
		Outliers: &group.Outliers{
			FailureRate: &group.FailureRateTest{MinVolume: 10, MinKeys: 3, Threshold: 0.5},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	sick, _ := serve(t)
	well1, _ := serve(t)
	well2, _ := serve(t)
	cs := client(t, sick, grpcbreaker.WithGroup(g, grpcbreaker.ByTarget))
	cw1 := client(t, well1, grpcbreaker.WithGroup(g, grpcbreaker.ByTarget))
	cw2 := client(t, well2, grpcbreaker.WithGroup(g, grpcbreaker.ByTarget))
	ctx := context.Background()
	for range 10 {
		cs.UnaryCall(ctx, fail(codes.Unavailable))
		cw1.UnaryCall(ctx, &testpb.SimpleRequest{})
		cw2.UnaryCall(ctx, &testpb.SimpleRequest{})
	}
	clk.Add(10 * time.Second)
	if _, err := cw1.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil { // runs the evaluation
		t.Fatalf("healthy target: %v", err)
	}
	if _, err := cs.UnaryCall(ctx, &testpb.SimpleRequest{}); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("sick target: %v, want a rejection", err)
	}
	if _, err := cw2.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatalf("healthy target: %v", err)
	}
}

// The same detector in shadow: it reports that it would open the sick
// target, and every call is still sent.
func TestGroupByTargetShadowDetectorSendsEverything(t *testing.T) {
	clk := newClock()
	var seen []group.Outlier[string]
	g, err := group.New(group.Config[string, codes.Code]{
		New: func(string) breaker.Config[codes.Code] {
			return breaker.Config[codes.Code]{Policy: policy.Consecutive(100)}
		},
		Clock: clk,
		Outliers: &group.Outliers{
			FailureRate: &group.FailureRateTest{MinVolume: 10, MinKeys: 3, Threshold: 0.5},
			Shadow:      true,
		},
		OnOutlier: func(o group.Outlier[string]) { seen = append(seen, o) },
	})
	if err != nil {
		t.Fatal(err)
	}
	sick, _ := serve(t)
	well1, _ := serve(t)
	well2, _ := serve(t)
	cs := client(t, sick, grpcbreaker.WithGroup(g, grpcbreaker.ByTarget))
	cw1 := client(t, well1, grpcbreaker.WithGroup(g, grpcbreaker.ByTarget))
	cw2 := client(t, well2, grpcbreaker.WithGroup(g, grpcbreaker.ByTarget))
	ctx := context.Background()
	for range 10 {
		cs.UnaryCall(ctx, fail(codes.Unavailable))
		cw1.UnaryCall(ctx, &testpb.SimpleRequest{})
		cw2.UnaryCall(ctx, &testpb.SimpleRequest{})
	}
	clk.Add(10 * time.Second)
	if _, err := cw1.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil { // runs the evaluation
		t.Fatalf("healthy target: %v", err)
	}
	if _, err := cs.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatalf("sick target, with a detector in shadow: %v, want the call sent", err)
	}
	if len(seen) != 1 || !seen[0].Shadow || !seen[0].Opened || seen[0].Test != "failure-rate" {
		t.Fatalf("outliers: %+v", seen)
	}
	if st := g.OutlierStats(); st.Ejected != 1 || !st.Shadow {
		t.Fatalf("OutlierStats: %+v", st)
	}
}

// A per-target group that keeps one target closed: when both targets
// fail, one of them still takes calls.
func TestGroupByTargetKeepOneClosed(t *testing.T) {
	g, err := group.New(group.Config[string, codes.Code]{
		New: func(string) breaker.Config[codes.Code] {
			return breaker.Config[codes.Code]{Policy: policy.Consecutive(1)}
		},
		Clock:         newClock(),
		KeepOneClosed: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := serve(t)
	b, _ := serve(t)
	ca, cb := client(t, a, grpcbreaker.WithGroup(g, grpcbreaker.ByTarget)), client(t, b, grpcbreaker.WithGroup(g, grpcbreaker.ByTarget))
	ctx := context.Background()
	ca.UnaryCall(ctx, &testpb.SimpleRequest{}) // the group holds both keys
	cb.UnaryCall(ctx, &testpb.SimpleRequest{})
	ca.UnaryCall(ctx, fail(codes.Unavailable))
	cb.UnaryCall(ctx, fail(codes.Unavailable))
	if _, err := ca.UnaryCall(ctx, &testpb.SimpleRequest{}); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("first target: %v, want a rejection", err)
	}
	if _, err := cb.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Fatalf("second target, kept closed: %v", err)
	}
	if kept := g.KeptClosed(); len(kept) != 1 || kept[0].Key != b {
		t.Fatalf("KeptClosed: %+v", kept)
	}
}
