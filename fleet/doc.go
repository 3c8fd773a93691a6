// Package fleet shares one circuit among the many instances of a service:
// a dependency that fails for the fleet is shut off by every instance once
// a quorum of them has seen it fail, the fleet probes it with at most K
// calls in all, and operators can force it open or closed everywhere.
//
// The breakers stay local. Each instance counts its own calls, trips on
// its own and rejects on its own; a [Coordinator] attached to its breakers
// shares only their transitions (and, optionally, batched counts) through
// a [Store], and adopts the fleet's. No closed call and no rejection waits
// on the store; a half-open probe candidate waits at most a gate timeout.
// When the store fails, every instance works as a local breaker and says so
// ([Coordinator.Degraded]).
//
// # The store
//
// A [Store] keeps one [Record] per circuit and changes it in atomic steps,
// one per method, with no lock held between steps: [Store.Trip],
// [Store.Flush], [Store.AcquireProbe], [Store.ReportProbe], [Store.Force]
// and the best-effort [Store.Events]. Times are the store's: a record
// carries how long it stays open, never until when, so the instances'
// clocks need not agree. [Memory] keeps records in one process; the module
// fleet/redisfleet keeps them in Redis. Package fleettest is a conformance
// suite that every Store runs.
//
// # Guarantees
//
//   - Closed calls and open rejections make no round trip: the coordinator
//     is a transition listener and a probe gate, neither on their path.
//   - Only a half-open probe candidate waits, at most Config.GateTimeout.
//   - At most Config.Probes probes per fleet generation, while the store
//     answers within the gate timeout; otherwise each instance decides
//     locally, within its breaker's HalfOpenProbes.
//   - Every record carries a generation and an incarnation id: late
//     answers of an older generation, and a record lost and created again,
//     are told apart.
//   - Any store failure, and any record it cannot read, leaves the breakers
//     working alone; the coordinator resynchronises once the store answers.
//
// # Attaching
//
// [Coordinator.Attach] takes any breaker.Circuit (every *breaker.Breaker[T]
// is one); [GroupHooks] attaches every breaker of a group.Group as the group
// builds it. Fleet-wide operator actions are [Coordinator.ForceOpen],
// [Coordinator.Disable] and [Coordinator.Clear].
package fleet
