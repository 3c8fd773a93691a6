package grpcbreaker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/grpcbreaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
)

// outputs asks a server stream for n responses, then the status c.
func outputs(n int, c codes.Code) *testpb.StreamingOutputCallRequest {
	req := &testpb.StreamingOutputCallRequest{ResponseParameters: make([]*testpb.ResponseParameters, n)}
	for i := range req.ResponseParameters {
		req.ResponseParameters[i] = &testpb.ResponseParameters{}
	}
	if c != codes.OK {
		req.ResponseStatus = &testpb.EchoStatus{Code: int32(c)}
	}
	return req
}

// drain reads s to its end and returns the number of responses and the
// final error (io.EOF for a clean end).
func drain[T any](s interface{ Recv() (*T, error) }) (int, error) {
	n := 0
	for {
		if _, err := s.Recv(); err != nil {
			return n, err
		}
		n++
	}
}

// A stream counts once, when it ends, and not before.
func TestServerStreamCountsAtItsEnd(t *testing.T) {
	addr, _ := serve(t)
	clk := newClock()
	b := newBreaker(t, 1, clk)
	c := client(t, addr, grpcbreaker.WithBreaker(b))
	ctx := context.Background()

	s, err := c.StreamingOutputCall(ctx, outputs(3, codes.OK))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, b, counts{}) // still open
	if n, err := drain(s); n != 2 || err != io.EOF {
		t.Fatalf("drained %d, %v", n, err)
	}
	wantCounts(t, b, counts{ok: 1})
	s.Recv() // after the end: nothing more counts
	wantCounts(t, b, counts{ok: 1})

	// A stream that ends with a failing status is a failure, and trips.
	s, err = c.StreamingOutputCall(ctx, outputs(2, codes.Unavailable))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := drain(s); n != 2 || status.Code(err) != codes.Unavailable {
		t.Fatalf("drained %d, %v", n, err)
	}
	wantCounts(t, b, counts{ok: 1, failed: 1})
	if b.State() != breaker.Open {
		t.Fatalf("state %v", b.State())
	}
	_, err = c.StreamingOutputCall(ctx, outputs(1, codes.OK))
	wantRejection(t, err, 30*time.Second)
	wantCounts(t, b, counts{ok: 1, failed: 1, rejected: 1})
}

func TestClientStream(t *testing.T) {
	addr, _ := serve(t)
	b := newBreaker(t, 1, newClock())
	c := client(t, addr, grpcbreaker.WithBreaker(b))
	s, err := c.StreamingInputCall(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.Send(&testpb.StreamingInputCallRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts(t, b, counts{})
	res, err := s.CloseAndRecv()
	if err != nil || res.GetAggregatedPayloadSize() != 3 {
		t.Fatalf("CloseAndRecv: %v, %v", res, err)
	}
	wantCounts(t, b, counts{ok: 1})
}

func TestBidiStream(t *testing.T) {
	addr, _ := serve(t)
	b := newBreaker(t, 1, newClock())
	c := client(t, addr, grpcbreaker.WithBreaker(b))
	ctx := context.Background()

	s, err := c.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Send(&testpb.StreamingOutputCallRequest{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	s.CloseSend()
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("Recv after CloseSend: %v", err)
	}
	wantCounts(t, b, counts{ok: 1})

	// The server fails the stream midway: Send learns of it with io.EOF,
	// Recv with the status; the stream counts once, as a failure.
	s, err = c.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Send(&testpb.StreamingOutputCallRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.DataLoss)}})
	if _, err := s.Recv(); status.Code(err) != codes.DataLoss {
		t.Fatalf("Recv: %v, want DataLoss", err)
	}
	for s.Send(&testpb.StreamingOutputCallRequest{}) == nil {
	}
	wantCounts(t, b, counts{ok: 1, failed: 1})
}

// eventually returns once cond holds: for what a stream's end (reported
// from a goroutine of its own when its context ends) or a server's handler
// (which returns after the client has its answer) does after the test
// goes on. A report counts the call first and changes the state after, so
// a test that looks at both waits for the last.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		runtime.Gosched()
	}
}

// waitCounted returns once b has counted want finished calls.
func waitCounted(t *testing.T, b *breaker.Breaker[codes.Code], want uint64) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d calls counted", want), func() bool {
		c := countsOf(b)
		return c.ok+c.failed+c.ignored >= want
	})
}

// waitState returns once b is in state s.
func waitState(t *testing.T, b *breaker.Breaker[codes.Code], s breaker.State) {
	t.Helper()
	eventually(t, "the circuit "+s.String(), func() bool { return b.State() == s })
}

// A stream whose caller cancels counts for nothing, and one whose deadline
// passes is a failure, even when the caller never reads again.
func TestStreamCancelAndDeadline(t *testing.T) {
	addr, srv := serve(t)
	b := newBreaker(t, 1, newClock())
	c := client(t, addr, grpcbreaker.WithBreaker(b))

	block := &testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(block)}}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := c.StreamingOutputCall(ctx, block); err != nil {
		t.Fatal(err)
	}
	<-srv.blocked
	cancel()
	waitCounted(t, b, 1)
	if got := countsOf(b); got != (counts{ignored: 1}) || b.State() != breaker.Closed {
		t.Fatalf("a canceled stream counted %+v, state %v; want one ignored call", got, b.State())
	}

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.StreamingOutputCall(ctx, block); err != nil {
		t.Fatal(err)
	}
	<-srv.blocked
	<-ctx.Done()
	waitState(t, b, breaker.Open)
	if got := countsOf(b); got != (counts{ignored: 1, failed: 1}) || b.State() != breaker.Open {
		t.Fatalf("a stream past its deadline counted %+v, state %v", got, b.State())
	}
}

// A canceled half-open probe stream gives its permit back: its slot is
// free, so the next probe can close the circuit.
func TestStreamCanceledProbeFreesSlot(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		addr, srv := serve(t)
		clk := epochs.Mock(start)
		b := newBreaker(t, 1, clk)
		c := client(t, addr, grpcbreaker.WithBreaker(b))
		b.Trip()
		clk.Add(30 * time.Second)

		ctx, cancel := context.WithCancel(context.Background())
		if _, err := c.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(block)}}); err != nil {
			t.Fatal(err)
		}
		<-srv.blocked
		_, err := c.StreamingOutputCall(context.Background(), outputs(0, codes.OK))
		wantRejection(t, err, breaker.HalfOpenRetryAfter) // the one slot is taken
		cancel()
		eventually(t, "the probe's slot freed", func() bool { return b.Metrics().ProbesInFlight == 0 })
		if got := countsOf(b); got != (counts{ignored: 1, rejected: 1}) || b.State() != breaker.HalfOpen {
			t.Fatalf("after a canceled probe: %+v, %v; want it ignored, and still half-open", got, b.State())
		}
		s, err := c.StreamingOutputCall(context.Background(), outputs(0, codes.OK))
		if err != nil {
			t.Fatalf("probe after the canceled one: %v", err)
		}
		drain(s)
		if b.State() != breaker.Closed {
			t.Fatalf("state %v after a successful probe", b.State())
		}
	})
}

// A circuit forced open has no time to come back at: the rejection says
// none, on the client and across the wire from a server.
func TestForcedOpenRejection(t *testing.T) {
	addr, _ := serve(t)
	b := newBreaker(t, 1, newClock())
	b.ForceOpen()
	c := client(t, addr, grpcbreaker.WithBreaker(b))
	_, uerr := c.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	_, serr := c.StreamingOutputCall(context.Background(), outputs(0, codes.OK))
	shed, _, _ := guardedServer(t, b)
	_, werr := shed.UnaryCall(context.Background(), &testpb.SimpleRequest{})
	for _, err := range []error{uerr, serr, werr} {
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("err = %v, want Unavailable", err)
		}
		if d, ok := grpcbreaker.RetryAfter(err); ok {
			t.Fatalf("a forced-open rejection carries a retry delay %v", d)
		}
	}
	if !errors.Is(uerr, breaker.ErrOpen) || !errors.Is(serr, breaker.ErrOpen) {
		t.Fatalf("client rejections %v, %v are not ErrOpen", uerr, serr)
	}
}
