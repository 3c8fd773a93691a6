package grpcbreaker

import (
	"context"
	"io"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tripwire-go/tripwire/breaker"
)

// UnaryClientInterceptor returns an interceptor that sends each unary call
// through a breaker (set with [WithBreaker] or [WithGroup]). While the
// circuit is open, calls are not sent: they fail at once with a status
// error of code Unavailable that wraps the breaker's rejection (so
// errors.Is(err, breaker.ErrOpen) holds, and errors.As finds the
// *breaker.OpenError) and tells when to retry, in its message and in a
// RetryInfo detail ([RetryAfter]). Each call that is sent counts as the
// classifier says ([DefaultClassifier] unless [WithClassifier]); methods
// that [DefaultSkip] (or [WithSkip]) names pass unguarded. A call whose
// context is done before it starts is passed on uncounted.
//
// Without WithBreaker or WithGroup every call fails with code Internal,
// saying so.
func UnaryClientInterceptor(opts ...Option) grpc.UnaryClientInterceptor {
	o := newOptions(DefaultClassifier, opts)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		if o.skip(method) || ctx.Err() != nil {
			return invoker(ctx, method, req, reply, cc, callOpts...)
		}
		b, err := o.pick(target(cc), method)
		if err != nil {
			return err
		}
		err, ran := execute(ctx, b, o.classify, func() error {
			return invoker(ctx, method, req, reply, cc, callOpts...)
		})
		if !ran {
			return rejection(err, b)
		}
		return err
	}
}

// StreamClientInterceptor returns an interceptor that guards the streams
// a client opens, as [UnaryClientInterceptor] guards unary calls. A stream
// takes its permit when it is opened and counts once, when it ends: when
// RecvMsg returns io.EOF (a success) or another error, when SendMsg fails
// with an error other than io.EOF, when a stream without server streaming
// has received its one response, or when its context is done, whichever
// comes first. A stream that is neither read to its end nor canceled never
// counts, as it never releases grpc's resources either: cancel the context
// of every stream you leave early.
func StreamClientInterceptor(opts ...Option) grpc.StreamClientInterceptor {
	o := newOptions(DefaultClassifier, opts)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		if o.skip(method) || ctx.Err() != nil {
			return streamer(ctx, desc, cc, method, callOpts...)
		}
		b, err := o.pick(target(cc), method)
		if err != nil {
			return nil, err
		}
		p, err := b.Allow()
		if err != nil {
			return nil, rejection(err, b)
		}
		s := &clientStream{permit: p, ctx: ctx, classify: o.classify, serverStreams: desc.ServerStreams}
		opened := false
		defer func() {
			if !opened { // the streamer panicked
				s.end(errFailed)
			}
		}()
		cs, err := streamer(ctx, desc, cc, method, callOpts...)
		opened = true
		if err != nil {
			s.end(err)
			return nil, err
		}
		s.ClientStream = cs
		// The caller may stop reading and cancel instead: the stream ends
		// then. AfterFunc starts no goroutine until ctx is done, and none
		// once stopped.
		stop := context.AfterFunc(ctx, func() { s.end(status.FromContextError(ctx.Err()).Err()) })
		s.stop.Store(&stop)
		if s.ended.Load() {
			stop() // ended before stop was stored
		}
		return s, nil
	}
}

// clientStream counts its stream once, when it ends.
type clientStream struct {
	grpc.ClientStream
	permit        breaker.Permit[codes.Code]
	ctx           context.Context
	classify      Classifier
	serverStreams bool

	once  sync.Once
	ended atomic.Bool
	stop  atomic.Pointer[func() bool] // stops the AfterFunc
}

// SendMsg sends m. An error other than io.EOF ends the stream; io.EOF says
// that it ended otherwise, and RecvMsg tells how.
func (s *clientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil && err != io.EOF {
		s.end(err)
	}
	return err
}

// RecvMsg receives into m. io.EOF (a success) or another error ends the
// stream, and so does the one response of a stream without server
// streaming.
func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	switch {
	case err == io.EOF:
		s.end(nil)
	case err != nil, !s.serverStreams:
		s.end(err)
	}
	return err
}

// end counts the stream as ended with err (nil: a success). Only the first
// call counts. If the classifier panics, the stream counts as a failure and
// the panic goes on up.
func (s *clientStream) end(err error) {
	s.once.Do(func() {
		s.ended.Store(true)
		if stop := s.stop.Load(); stop != nil {
			(*stop)()
		}
		o := breaker.Failure
		defer func() { report(s.permit, o, status.Code(err), err) }()
		o = s.classify(s.ctx, err)
	})
}

func target(cc *grpc.ClientConn) string {
	if cc == nil {
		return ""
	}
	return cc.Target()
}
