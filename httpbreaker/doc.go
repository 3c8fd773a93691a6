// Package httpbreaker puts circuit breakers on both sides of net/http,
// with the standard library only.
//
// # Client
//
// [Transport] is an [http.RoundTripper] that sends each request through a
// breaker. Responses with a failing status (5xx and 429 by default, see
// [DefaultFailed]) count as failures but still reach the caller, body and
// all: the transport never reads, closes or replaces a response. While the
// circuit is open, requests are not sent; RoundTrip returns an error that
// wraps [breaker.ErrOpen] and, through errors.As, a [*breaker.OpenError]
// whose Until and RetryAfter tell when to try again. A request whose
// context is canceled while it runs counts for nothing, as the breaker's
// contract says of a caller that gave up.
//
//	b, _ := breaker.New(breaker.Config[*http.Response]{Name: "payments"})
//	client := &http.Client{Transport: &httpbreaker.Transport{Breaker: b}}
//
// [HostTransport] does the same with one breaker per host, kept in a
// group.Group, for a client that calls many servers: one failing server
// opens its own circuit only.
//
//	hosts, _ := group.New(group.Config[string, *http.Response]{
//		New: func(host string) breaker.Config[*http.Response] {
//			return breaker.Config[*http.Response]{Policy: policy.Consecutive(5)}
//		},
//	})
//	client := &http.Client{Transport: &httpbreaker.HostTransport{Group: hosts}}
//
// # Server
//
// [Handler] (or [Middleware]) sheds load while its breaker is open: it
// answers 503 Service Unavailable with a Retry-After header, without
// calling the next handler. Responses the next handler writes with a
// failing status (5xx by default, see [DefaultHandlerFailed]; not 429,
// which one client over its quota gets) count as failures; a failing
// response written after the client went away counts for nothing.
//
//	b, _ := breaker.New(breaker.Config[int]{Name: "api"})
//	http.Handle("/", httpbreaker.Middleware(b)(mux))
//
// # Classification
//
// A failing status reaches the breaker as a [*StatusError] with a nil
// result error otherwise, so a breaker with Config.Classify nil counts it as
// a failure, and a Classify of your own can tell statuses from transport
// errors with errors.As. The breaker's result type carries what there is
// to classify: the *http.Response on the client side, the status code on the
// server side.
package httpbreaker
