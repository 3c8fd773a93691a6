// Package console is an operator's page for the circuits of a process: an
// [http.Handler] to mount on an admin port, as net/http/pprof and expvar
// are, that lists every circuit of a [breaker.Registry] sorted by what
// needs attention, says why each is in its state (the evidence of its last
// transition), updates live, and, when the user hands over an authorizer,
// lets an operator trip, force open, disable or reset a circuit, on this
// instance or through a fleet coordinator on every instance.
//
// # Mounting
//
//	reg := new(breaker.Registry)
//	_ = reg.Add(payments, search)
//	reg.AddSet(perHost) // a group.Group
//	admin := http.NewServeMux()
//	admin.Handle("/debug/tripwire/", console.New(reg, console.Options{}))
//	go http.ListenAndServe("127.0.0.1:6060", admin)
//
// Nothing is registered on http.DefaultServeMux. The handler answers under
// whatever prefix it is mounted at (it routes on the end of the path), and
// the page needs nothing from outside: its script and style are embedded.
//
// # What it serves
//
//   - the page, at the mount point (a path ending in "/");
//   - api/circuits: every circuit as JSON, sorted (open, then half-open,
//     then by error rate, then by volume), each with its counts, the
//     evidence of its last transition and a timeline of the last minutes;
//   - api/circuit?name=N: one circuit with the transitions it keeps
//     ([breaker.Breaker.Transitions]);
//   - api/events: a stream (server-sent events) of transitions as they
//     happen ("transition") and of every circuit's counts at each
//     Options.Interval ("counts"), so that the page updates without a
//     reload;
//   - api/action (POST): an operator's action, see below.
//
// # Cost to the service
//
// The console reads circuits only when asked: a request reads their
// Metrics and Transitions, and while at least one stream is open one
// goroutine reads every circuit's Metrics once per Interval, whatever the
// number of pages, and listens to transitions (breaker.Breaker.Subscribe,
// which runs only when a circuit changes state). No call of the service
// waits on the console, and when no stream is open the console runs no
// goroutine at all.
//
// # Actions
//
// The console is read-only unless Options.Authorize is set. With it, a
// POST to api/action takes one of trip, trip-for, force-open, disable and
// reset on one circuit, or, with "fleet": true and a coordinator in
// Options.Fleet, force-open, disable or reset (the fleet's Clear) on every
// instance. Each action
//   - must be a POST with a JSON body (a cross-site form cannot send one);
//   - must come from the console's own origin (or one of Options.Origins)
//     when the browser says where it comes from (Origin, Sec-Fetch-Site);
//   - must carry the console's token, which only its page holds
//     (header X-Tripwire-Token);
//   - must be authorized: Options.Authorize names who acts, or refuses;
//   - must give a reason;
//   - is logged through slog with who, what and why, and lands in the
//     evidence of the transition it causes (breaker.Breaker.Act).
package console
