package grpcbreaker

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
)

// An Option configures an interceptor. Options are applied in order; a
// later option of the same kind replaces an earlier one.
type Option func(*options)

// Classifier decides how a finished call counts: ctx is the call's
// context (on the server, the request's), err what the call returned (nil,
// or an error carrying a gRPC status). It runs once per call, after the
// call, and must be safe for concurrent use.
type Classifier func(ctx context.Context, err error) breaker.Outcome

// Key names the breaker of a call within a group, from the target of the
// client connection ("" on the server side) and the full method name
// ("/package.Service/Method").
type Key func(target, method string) string

// ByMethod keys a group by the full method name: one breaker per method.
func ByMethod(_, method string) string { return method }

// ByTarget keys a group by the client connection's target: one breaker per
// server (or per load-balanced service). On the server side every call has
// the target "", so it amounts to one breaker for all.
func ByTarget(target, _ string) string { return target }

type options struct {
	breaker  *breaker.Breaker[codes.Code]
	group    *group.Group[string, codes.Code]
	key      Key
	classify Classifier
	skip     func(method string) bool
}

func newOptions(classify Classifier, opts []Option) *options {
	o := &options{classify: classify, skip: DefaultSkip}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithBreaker guards every call with b: one circuit for everything the
// connection (or server) does. It replaces an earlier WithGroup.
func WithBreaker(b *breaker.Breaker[codes.Code]) Option {
	return func(o *options) { o.breaker, o.group = b, nil }
}

// WithGroup guards each call with the breaker of its key in g, so that
// one failing method or server does not open the circuit for the others.
// key nil means ByMethod. It replaces an earlier WithBreaker.
func WithGroup(g *group.Group[string, codes.Code], key Key) Option {
	if key == nil {
		key = ByMethod
	}
	return func(o *options) { o.group, o.key, o.breaker = g, key, nil }
}

// WithClassifier sets how finished calls count. nil means the default:
// [DefaultClassifier] for the client interceptors, [DefaultServerClassifier]
// for the server ones.
func WithClassifier(c Classifier) Option {
	return func(o *options) {
		if c != nil {
			o.classify = c
		}
	}
}

// WithSkip sets which methods pass the interceptor unguarded: neither
// rejected nor counted. nil means [DefaultSkip].
func WithSkip(skip func(method string) bool) Option {
	return func(o *options) {
		if skip == nil {
			skip = DefaultSkip
		}
		o.skip = skip
	}
}

// DefaultSkip is the default of [WithSkip]: it skips the health-checking
// service (grpc.health.v1.Health) and server reflection
// (grpc.reflection.v1 and v1alpha). A health check must reach the server
// whatever a breaker thinks: its answer is how load balancers learn that
// the server is healthy again.
func DefaultSkip(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(method, "/grpc.reflection.v1.ServerReflection/") ||
		strings.HasPrefix(method, "/grpc.reflection.v1alpha.ServerReflection/")
}

// DefaultClassifier is how the client interceptors count a call unless
// [WithClassifier] says otherwise. The codes that say the server or the
// network is in trouble are failures: Unavailable, DeadlineExceeded,
// ResourceExhausted, Internal, Unknown and DataLoss. Canceled is ignored
// when the caller's context is done (the caller gave up; the server did
// nothing wrong). Every other code, OK included, is a success: NotFound,
// InvalidArgument, PermissionDenied and the like are answers from a
// working server.
func DefaultClassifier(ctx context.Context, err error) breaker.Outcome {
	switch code := status.Code(err); code {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted,
		codes.Internal, codes.Unknown, codes.DataLoss:
		return breaker.Failure
	case codes.Canceled:
		if ctx.Err() != nil {
			return breaker.Ignored
		}
	}
	return breaker.Success
}

// DefaultServerClassifier is how the server interceptors count a call
// unless [WithClassifier] says otherwise: as [DefaultClassifier] does,
// except that ResourceExhausted is a success. A server answers
// ResourceExhausted to a client over its quota; counting it as a failure
// would let one rate-limited client open the circuit and shed every
// client's calls.
func DefaultServerClassifier(ctx context.Context, err error) breaker.Outcome {
	if status.Code(err) == codes.ResourceExhausted {
		return breaker.Success
	}
	return DefaultClassifier(ctx, err)
}

// errNoBreaker is the cause of the error every call gets from an
// interceptor given neither WithBreaker nor WithGroup.
var errNoBreaker = errors.New("grpcbreaker: no breaker: pass WithBreaker or WithGroup")

// pick returns the breaker for a call, or the status error to fail it
// with.
func (o *options) pick(target, method string) (*breaker.Breaker[codes.Code], error) {
	switch {
	case o.breaker != nil:
		return o.breaker, nil
	case o.group != nil:
		b, err := o.group.Get(o.key(target, method))
		switch {
		case err == nil:
			return b, nil
		case errors.Is(err, group.ErrFull):
			// Every breaker of the group is open: the new key's fate is
			// unknown, and the group cannot take another.
			return nil, &statusError{st: status.New(codes.Unavailable, "grpcbreaker: "+err.Error()), cause: err}
		default:
			return nil, &statusError{st: status.New(codes.Internal, "grpcbreaker: "+err.Error()), cause: err}
		}
	}
	return nil, &statusError{st: status.New(codes.Internal, errNoBreaker.Error()), cause: errNoBreaker}
}
