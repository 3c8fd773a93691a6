package httpbreaker

import (
	"errors"
	"net/http"

	"github.com/tripwire-go/tripwire/group"
)

// HostTransport is an [http.RoundTripper] that guards each host with a
// breaker of its own, kept in a group.Group: put it in an http.Client that
// calls many servers, so that one failing server opens its own circuit and
// leaves the others alone. Set Group; the other fields are optional. A
// HostTransport is safe for concurrent use; do not change its fields once
// it is in use.
//
// Each request goes through the breaker of its key (its URL's host, by
// default) and is classified exactly as [Transport] classifies it: a
// transport error or a status for which Failed returns true is a failure
// (and the response still reaches the caller, unread), a request whose
// context was canceled counts for nothing, anything else is a success.
// While a host's circuit is open its requests are not sent: RoundTrip
// returns an error wrapping breaker.ErrOpen whose [*breaker.OpenError]
// tells when to retry, and closes the request body.
//
// When the group cannot give a breaker for the key (group.ErrFull, or a
// Config the group's New builds that breaker.New refuses), RoundTrip sends
// nothing and returns that error.
type HostTransport struct {
	// Group holds the breakers, one per key. Its New is called for each
	// new key and must return a fresh Policy every time. Required: without
	// it RoundTrip returns an error.
	Group *group.Group[string, *http.Response]
	// Base sends the requests. nil means http.DefaultTransport.
	Base http.RoundTripper
	// Failed reports whether a response status counts as a failure. nil
	// means DefaultFailed: 5xx and 429.
	Failed func(status int) bool
	// Key returns the key of a request's breaker. nil means the URL's
	// host as written in it, port included when given ("api.example.com",
	// "10.0.0.7:8080"). Return a bounded set of keys: each key is a
	// breaker.
	Key func(req *http.Request) string
}

// errNoGroup is returned by a HostTransport without a Group.
var errNoGroup = errors.New("httpbreaker: HostTransport.Group is nil")

// RoundTrip sends req through the breaker of its host; see [HostTransport].
func (t *HostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Group == nil {
		closeBody(req)
		return nil, errNoGroup
	}
	key := req.URL.Host
	if t.Key != nil {
		key = t.Key(req)
	}
	b, err := t.Group.Get(key)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	return roundTrip(b, t.Base, failedOr(t.Failed, DefaultFailed), req)
}
