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
//
// # Comparing keys
//
// Two options look at the keys together. Config.Outliers compares each
// key's calls with its siblings' every interval, as Envoy's outlier
// detection does, and opens a key that stands out although its own policy
// has not tripped; when every key fails alike none stands out, and a key
// whose failures binomial chance explains does not either. With
// Outliers.Shadow it only reports what it would open, so that a detector
// can be tried on live traffic before it acts ([Group.OutlierStats] counts
// what it did). See [Outliers] and [Group.DetectOutliers].
// Config.MaxOpenShare and
// Config.KeepOneClosed cap how many keys may be open at once, whatever
// opened them; [Group.KeptClosed] says which keys the group kept closed and
// why. The rules the cap keeps:
//
//   - a key's own policy, and the detector, never open a key beyond the cap:
//     they ask first (a policy that Breaker.Reconfigure installs later is
//     not asked, and is undone as below);
//   - an open made inside a breaker (Trip, TripFor, ForceOpen, an adopted
//     decision) beyond the cap is undone at the transition, before the call
//     that made it returns;
//   - an eviction never leaves more keys open than the cap allows;
//   - no user code runs, and no breaker is called, while the group holds a
//     lock.
package group
