// Package fleet shares one circuit among the many instances of a service:
// a dependency that fails for the fleet is shut off by every instance once
// a quorum of them has seen it fail, the fleet probes it with at most K
// calls in all, and operators can force it open or closed everywhere.
//
// # Rules the coordinator keeps
//
// Every change to the [Coordinator] keeps these; each names the file that
// keeps it and a test that checks it.
//
//  1. No user callback, and no breaker call that can run one, while the
//     coordinator holds a lock. Every lock of the coordinator guards a few
//     fields and is let go before any call out: to the store, to a breaker,
//     to a callback. Records are applied by one serialised applier
//     (apply.go) with no lock held; a callback that calls the coordinator
//     or the breaker again while a record is applied queues what it learns
//     and never waits. (TestFault1CallbackCallDeadlocks)
//  2. Adoption is monotonic. A record carries its order: its incarnation
//     and its generation within it. The applier alone applies records, and
//     never an older one over one it applied, whatever path brought it: a
//     step's answer, an event, a flush, the probe gate, an operator's call.
//     A record of another incarnation (incarnations have no order) is
//     applied only from a step that began after the last application;
//     otherwise the record is read again. A newer closed record undoes
//     what the fleet set on the breaker (a mode, an open period), from
//     whatever record it came, even one lost since; a fleet-wide Clear
//     closes every breaker; a transition of the breaker's own delivered
//     after an adoption set a mode does not make that mode the breaker's.
//     What to adopt is decided on a read of the breaker and adopted only
//     at that read's generation (breaker.Breaker.AdoptAt): an operator's
//     action or the breaker's own transition landing in between stands,
//     and is judged against the record on a new read (fleetsim's
//     invariant local-stands checks it).
//     (TestFault2NotDueOverridesNewerDisable,
//     TestFaultLostRecordCloseUndoesOperatorActionAfterRead,
//     TestFaultLostRecordCloseUndoesOwnReopenAfterRead,
//     TestFaultOperatorTripForMarkedAsFleets,
//     TestFaultX1ModeOutlivesLostRecord, TestFaultX1ModeAlreadyInPlace,
//     TestFaultX1ModeOutlivesLostRecordLateTransition,
//     TestFaultClearNotAdoptedUnderClosedRecord)
//  3. A probe's report names its own lease: the probe gate gives each
//     probe it admits a breaker.ProbeID, and ProbeDone hands it back.
//     Close hands back every lease it holds, and sends the reports still
//     queued; a detach gives back its breaker's, and a lease granted too
//     late (after the gate gave up, or to a closed coordinator) is given
//     back at once. (TestFault3ProbeResultUnderWrongLease,
//     TestFault17CloseKeepsLeases, TestFaultDetachKeepsLeases)
//  4. Every local opening reaches the store, the first trip and every
//     reopening after a failed probe alike, so a lost record re-forms at
//     the next failed probe. (TestFault16LostRecordNeverReforms)
//  5. A replica's local close is visible to the fleet ([Store.Closed]), and
//     a half-open record counts trips as a closed one does: a record never
//     stays half-open short of K for good, whatever the replicas'
//     HalfOpenProbes. A Closed the store did not hear is sent again when
//     a read finds the record of that generation still half-open.
//     (TestFault4QuorumLostAfterLocalCloses,
//     TestFaultLocalCloseNeverCounted)
//  6. Queued work is fenced by its breaker's attachment: once detached, no
//     record is applied to it (every Adopt is fenced, not only an
//     application's first) and it is never marked unreadable. Counts reach
//     the store exactly once: each attachment sends its totals and those a
//     store acknowledged under a [Counts] Sender, and the store adds what
//     it has not taken, so that overlapping flushes, a batch sent again
//     after its answer was lost, and a re-attached breaker add nothing
//     twice, and a failed flush loses nothing (flush.go). One breaker
//     belongs to at most one coordinator. (TestFault7WorkAfterDetach,
//     TestFault5CountsSentTwice, TestFaultCountsLostWhenFlushFails,
//     TestFaultCountsTakenTwice, TestFaultX2ReattachResendsCounts,
//     TestFault18BreakerOnTwoCoordinators)
//  7. The context of an operator's call is the operator's, not the store's
//     health; a store that answers after the gate timeout counts as one
//     that does not answer, and Degraded says so (Stats says why: Down,
//     Slow, Unreadable), driven too, where the gate timeout is measured on
//     Config.Clock; a record read well again clears an unreadable mark.
//     (TestFault8OperatorContextIsNotStoreHealth, TestFault19SlowStoreIsDegraded,
//     TestFault19DrivenSlowStoreIsDegraded, TestFaultUnreadableOnceStaysDegraded)
//  8. Members whose rules differ are told: a record carries the fingerprint
//     of the rules it was made under ([Params.Rules]), and a member whose
//     own differ logs it once. (TestFault18RulesDifferLogged)
//
// The deterministic simulation of package fleet/fleetsim checks these
// rules, and the guarantees below, under every interleaving it draws
// (go test ./fleet -run TestSim); its package doc states the invariants.
//
// # How it works
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
// [Store.Closed], [Store.Flush], [Store.AcquireProbe], [Store.ReportProbe],
// [Store.Force] and the best-effort [Store.Events]. Times are the store's:
// a record carries how long it stays open, never until when, so the
// instances' clocks need not agree. [Memory] keeps records in one process;
// the module fleet/redisfleet keeps them in Redis. Package fleettest is a
// conformance suite that every Store runs.
//
// # Guarantees
//
//   - Closed calls and open rejections make no round trip: the coordinator
//     is a transition listener and a probe gate, neither on their path.
//   - Only a half-open probe candidate waits, at most Config.GateTimeout.
//   - At most Config.Probes probes per fleet generation, while the store
//     answers within the gate timeout; otherwise each instance decides
//     locally, within its breaker's HalfOpenProbes, and is degraded.
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
// builds it. Unless Config.OpenTimeout or Backoff is set, the fleet's open
// period is each breaker's own. Fleet-wide operator actions are
// [Coordinator.ForceOpen], [Coordinator.Disable] and [Coordinator.Clear].
package fleet
