// Package grpcbreaker puts circuit breakers on both sides of gRPC, as
// interceptors in the shape of go-grpc-middleware's: each constructor
// takes options and returns the interceptor.
//
// # Client
//
// [UnaryClientInterceptor] and [StreamClientInterceptor] send calls
// through a breaker: one for the whole connection ([WithBreaker]), or one
// per method or per target kept in a group.Group ([WithGroup] with
// [ByMethod] or [ByTarget]). While a circuit is open, calls fail at once,
// without reaching the network, with a status error of code Unavailable
// that also satisfies errors.Is(err, breaker.ErrOpen), whose
// *breaker.OpenError errors.As finds, and whose retry delay is in the
// message and in a RetryInfo detail ([RetryAfter]).
//
//	b, _ := breaker.New(breaker.Config[codes.Code]{Name: "users"})
//	conn, err := grpc.NewClient(target,
//		grpc.WithChainUnaryInterceptor(grpcbreaker.UnaryClientInterceptor(grpcbreaker.WithBreaker(b))),
//		grpc.WithChainStreamInterceptor(grpcbreaker.StreamClientInterceptor(grpcbreaker.WithBreaker(b))),
//	)
//
// A unary call counts when it returns; a stream when it ends (see
// [StreamClientInterceptor]), through the breaker's two-step form.
//
// # Server
//
// [UnaryServerInterceptor] and [StreamServerInterceptor] shed load while
// their breaker is open: calls are answered with Unavailable and a
// RetryInfo detail without running the handler.
//
// # Classification
//
// A call counts by its status code. On the client ([DefaultClassifier])
// Unavailable, DeadlineExceeded, ResourceExhausted, Internal, Unknown and
// DataLoss are failures, Canceled is ignored when the caller's context is
// done, and every other code is a success. The server
// ([DefaultServerClassifier]) counts ResourceExhausted as a success: it is
// what a server tells a client over its quota, and one such client must
// not shed everyone's calls. [WithClassifier] replaces either.
//
// The breakers have the result type codes.Code. The interceptors classify
// each call themselves and report it through the breaker's two-step form:
// a success as Done with a nil error, a failure as Done with the call's
// error, an ignored call as Release. A breaker's own Config.Classify, if
// set, has the last word on what is reported with Done, and sees the code
// and that error.
//
// Health checks (grpc.health.v1.Health) and server reflection pass
// unguarded unless [WithSkip] says otherwise: see [DefaultSkip].
package grpcbreaker
