package grpcbreaker

import (
	"context"

	"google.golang.org/grpc"
)

// UnaryServerInterceptor returns an interceptor that sheds load while its
// breaker (set with [WithBreaker] or [WithGroup]) is open: calls are
// answered at once with code Unavailable and a RetryInfo detail saying
// when to come back ([RetryAfter] reads it on the client), without running
// the handler, so that a struggling server (or the database behind it)
// gets room to recover. Each call the handler serves counts by the error
// it returns, as the classifier says ([DefaultServerClassifier] unless
// [WithClassifier]); a call canceled by its client counts for nothing.
// Methods that [DefaultSkip] (or [WithSkip]) names are always served, so
// that health checks go on answering. A panic in the handler counts as a
// failure and goes on up. A group's key has the target "".
func UnaryServerInterceptor(opts ...Option) grpc.UnaryServerInterceptor {
	o := newOptions(DefaultServerClassifier, opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if o.skip(info.FullMethod) || ctx.Err() != nil {
			return handler(ctx, req)
		}
		b, err := o.pick("", info.FullMethod)
		if err != nil {
			return nil, err
		}
		var resp any
		err, ran := execute(ctx, b, o.classify, func() error {
			var err error
			resp, err = handler(ctx, req)
			return err
		})
		if !ran {
			return nil, rejection(err, b)
		}
		return resp, err
	}
}

// StreamServerInterceptor returns an interceptor that sheds streams while
// its breaker is open, as [UnaryServerInterceptor] sheds unary calls. A
// stream counts when its handler returns, by the handler's error.
func StreamServerInterceptor(opts ...Option) grpc.StreamServerInterceptor {
	o := newOptions(DefaultServerClassifier, opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		if o.skip(info.FullMethod) || ctx.Err() != nil {
			return handler(srv, ss)
		}
		b, err := o.pick("", info.FullMethod)
		if err != nil {
			return err
		}
		err, ran := execute(ctx, b, o.classify, func() error { return handler(srv, ss) })
		if !ran {
			return rejection(err, b)
		}
		return err
	}
}
