// Package group keeps one circuit breaker per key: per host, per tenant,
// per endpoint, so that one failing dependency does not open the circuit
// for the healthy ones.
//
// # Use
//
// A [Group] creates each key's breaker on first use, from a function that
// returns the key's configuration. That function must build a fresh
// Policy on every call: a policy holds the state of one circuit, and
// [New] refuses a function that returns the same one twice.
//
//	hosts, err := group.New(group.Config[string, *http.Response]{
//		New: func(host string) breaker.Config[*http.Response] {
//			return breaker.Config[*http.Response]{Policy: policy.Consecutive(5)}
//		},
//	})
//	...
//	b, err := hosts.Get(req.URL.Host)
//
// Getting the breaker of a key in steady use takes no lock and does not
// allocate (a key created a moment ago may take the locked path a few
// times first: see [Group]).
//
// # Bounds
//
// Keys may come from outside (host names, tenant IDs), so a group is
// bounded: it evicts breakers that went IdleAfter without use, and never
// holds more than MaxBreakers. It never evicts an open circuit, nor a
// half-open one with probes in flight. See [Group] for the exact rules,
// [Group.Metrics] to export every breaker of a group, and Config.OnCreate
// to hand each breaker to a coordinator.
package group
