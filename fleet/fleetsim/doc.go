// Package fleetsim is a deterministic simulation of a fleet (package
// fleet), in the manner of FoundationDB's simulator and TigerBeetle's
// VOPR: it runs several instances — real breakers and real coordinators in
// Driven mode — on one virtual clock over one store, draws every choice
// from one seeded generator, and checks the fleet's invariants after every
// step. A seed replays exactly; a failing seed prints the trace of steps
// that led to it and how to replay it.
//
// # A run
//
// [Run] takes one seed. It draws the fleet's rules (2 to 5 instances,
// Quorum, QuorumWindow, K, open periods and backoff, lease life, flush
// interval, a failure rate or none) and each breaker's (policy, open
// period, HalfOpenProbes), builds each instance's coordinator over its own
// fault-injecting view of the shared store, and takes Options.Steps steps
// of a chaotic phase, each one of:
//
//   - time: the clock moves on by 1ms to 3s;
//   - traffic: a call through a breaker (Execute), a call held in flight
//     (Allow) and later ended (Done, with the dependency's answer, or
//     Release), a burst of calls on every instance; the dependency is
//     healthy, down or flaky, and changes;
//   - the coordinators' work: Step, Sync;
//   - events: each store step that changes the record is published to
//     every instance's inbox; an event is delivered in order, out of
//     order, twice, dropped or left waiting (Coordinator.Deliver);
//   - store faults, in bursts: an error or a timeout before the store is
//     reached, a step the store took whose answer is lost, an answer late
//     by 5, 50 or 300ms (beyond the gate timeout), an unreadable answer;
//     one instance cut off; the record lost (Target.Drop);
//   - operators: Reset, ForceOpen, Disable, Trip, TripFor on a breaker;
//     ForceOpen, Disable, Clear fleet-wide;
//   - lifecycle: Detach, Attach, Close, a new coordinator for a closed
//     one, the same breaker attached to a second coordinator of the
//     process;
//   - user callbacks: every transition's OnTransition may call back into
//     the breaker (State, Execute, Allow, a manual action) and, with
//     Options.CallbacksUseCoordinator, into the coordinator;
//   - interleavings: at each call to the store (before the store, and
//     between its answer and the coordinator's handling of it) and at
//     each call Attach and detach make to the breaker (Subscribe,
//     SetProbeGate), another step may interrupt, as a concurrent
//     goroutine would: a Sync, a fleet-wide action, a call, a Close, a
//     Detach, an event, another instance's Step; and between a
//     coordinator's read of its breaker and the adoption it decided on
//     that read (AdoptAt, or Adopt for a coordinator that adopts
//     whatever the breaker did since): an operator's action on that
//     breaker, a call (which may trip it, or end a probe), the clock, a
//     Sync, a fleet-wide action, an event. It runs on a goroutine of its
//     own and is waited for, so the order stays the seed's; if it
//     parks on a lock or a channel (looked at every Options.NestWait), it
//     waits for a lock the interrupted step holds, and runs on
//     concurrently once that step lets go, joined when the step ends (the
//     trace says so; what runs concurrently then is not bound to replay
//     exactly).
//
// Then a calm phase: the faults stop, every instance reaches the store,
// events are delivered in order, the dependency is healthy, held calls end,
// an instance steered by hand, detached or closed is Reset and attached
// again (a new coordinator for a closed one), and every instance calls and
// steps each 100 to 500ms of virtual time until the fleet has converged.
//
// Identifiers that package fleet draws from crypto/rand (incarnations,
// leases) differ from one replay to the next; they are only ever compared
// for equality, so the steps and their outcomes replay all the same.
//
// # Invariants
//
// Checked after every step (some at the moment a store step is taken, or
// an adoption made);
// the first broken fails the seed. "R" is the fleet's record as the store
// last answered it; the run sees every answer, since every step passes
// through its fault layer.
//
//   - no-block: no step runs longer than Options.Stall of real time (time
//     in a run is virtual; nothing waits on real time). The watchdog
//     prints the trace and every goroutine's stack.
//   - no-panic: no step panics.
//   - probe-bound: while R is half-open (open, without a mode, its period
//     over on the store's clock) and the store answers in time — no fault
//     was injected into any step while R was the record (an answer late
//     by less than the gate timeout is in time), no instance is cut off,
//     no coordinator is degraded — the probes of R in flight
//     (held calls whose lease of R is live: granted, not reported, not
//     expired; and local probes taken by a breaker whose coordinator knew
//     R) number at most K.
//   - own-lease: a probe report names a lease the store granted to that
//     instance; when it reports Success or Failure, the probe that held
//     that very lease has ended, with that outcome.
//   - monotonic: an attached breaker is in the manual mode of the newest
//     record its coordinator knows, when that record has a mode (forced
//     open, disabled), unless a local action or an attach steered the
//     breaker since its coordinator learnt that record. An older decision
//     applied over a newer one breaks it.
//   - detached: no coordinator makes a breaker attached to no coordinator
//     (once Detach or Close has returned) adopt anything. It is checked at
//     each call to Adopt, not at the transition: a breaker delivers its
//     transitions in order, after any delivery in progress, so the
//     transition of an adoption made before the detach may come after it.
//   - local-stands: an adoption never undoes a local decision made after
//     the read of the breaker it was decided on. A local decision is an
//     operator's action on the breaker (Trip, TripFor, ForceOpen, Disable,
//     Reset) or a transition of the breaker's own (a policy trip, the end
//     of an open period, a probe's close or reopening), each with the
//     breaker generation it started. The read is the highest generation
//     read through the breaker's Metrics when the coordinator calls to
//     adopt (reads by other goroutines only raise it, which can hide a
//     fault, never invent one), or the generation AdoptAt names if
//     higher. Checked at each adoption that took effect (Adopt that
//     started a generation, AdoptAt that applied): no local decision's
//     generation lies after that read and at or before the one the
//     adoption landed on. A newer record adopted on a read made after the
//     local decision is not flagged: the last decision wins. This is rule
//     2's "decided on a read, adopted only at that read's generation":
//     it fails when a lost and re-created closed record closes a breaker
//     that an operator's Trip, or its own reopening, opened between the
//     coordinator's read and its adoption.
//   - counts-once: exactly once. For each breaker, what the store took
//     from its flushes (the store dedups each Counts.Sender; the run
//     mirrors it, for every batch the store took, its answer lost or not)
//     is at most what the breaker counted; and once the fleet has
//     converged, one more Sync of each instance brings the store exactly
//     the calls its breaker made since it was attached: none lost to a
//     failed flush, none taken twice from a flush whose answer was lost.
//   - quorum-sound: when a trip opens a closed R, at least Quorum distinct
//     breakers' trips reached the store under R within QuorumWindow (a
//     trip made under an older generation of the same incarnation does
//     not count).
//   - quorum-opens: when the breakers of Quorum distinct instances opened
//     of their own accord (a policy trip, or a reopen after a failed
//     probe) while R was closed or half-open, without a mode, each while
//     its coordinator knew R and was not degraded, and each coordinator
//     then finished a Step begun after that open, in which it flushed, with
//     no fault injected since and under the same attachment (work queued
//     for a breaker is fenced by its attachment) — from the earliest of
//     those opens to the
//     latest of those Steps less than QuorumWindow: R has moved on (a newer
//     generation or incarnation). Unless R is disabled, a quorum
//     of opens opens the fleet — a reopen included, so that a lost record
//     forms again.
//   - leases-back: once Close has returned, the closed coordinator holds no
//     live lease of R — save a lease whose answer or report is still on its
//     way (Close interrupted that step, which ends it), and one whose
//     process met a fault while holding it (its answer or report may be
//     lost, which costs the fleet the lease's life, as a crash does).
//   - converge: in the calm phase, within the bound B = Backoff.Max +
//     ProbeTimeout + the longest local OpenTimeout + 2s (the coordinator's
//     guard breaker's open period) + 3 FlushIntervals + FullFor of virtual
//     time, R is closed or in a mode, and every running coordinator is not
//     degraded, knows R, and has its breaker in R's mode (and closed when R
//     has none).
//
// Where each comes from: probe-bound, quorum-sound and converge are
// guarantees package fleet documents (its package doc, Store.Trip, "the
// coordinator resynchronises once the store answers"); no-panic, and
// no-block for callbacks that call the breaker, follow from the breaker's
// docs (a callback may call the breaker). The others are the rules the
// fleet's design notes set for the coordinator of issue 18: monotonic
// adoption (2: monotonic, local-stands), a report names its own lease and
// Close hands leases back (3: own-lease, leases-back), every open reaches
// the store (4: quorum-opens for reopens), a local close is visible to
// the fleet (5: quorum-opens under a half-open record), work is fenced by
// its attachment and one breaker has one coordinator (6: detached,
// counts-once), and no user callback runs under the coordinator's lock
// (1: callbacks that call the coordinator, Options.CallbacksUseCoordinator).
//
// # What it found in package fleet at 04e6d61
//
// Each fault of issue 18 it was asked to find, the invariant that caught
// it, and the first seed that did in a census of seeds 1 to 5000 checking
// that invariant alone (testdata/findings.txt has the commands, the counts
// and what it found beyond the list):
//
//	fault                                        invariant       first seed
//	 1 deadlock: a callback reaches the gate     no-block                54
//	 2 an old answer over a newer decision       monotonic              882
//	 3 a probe reported under another's lease    own-lease              173
//	 4 quorum lost after local closes            quorum-opens           244
//	                                             converge               201
//	 5 counts sent twice                         counts-once             10
//	 6 Close during Attach panics                no-panic                32
//	 7 work for a detached breaker still runs    detached                 1
//	                                             converge (degraded)     59
//	16 a lost record never re-forms              quorum-opens            18
//	17 Close keeps its leases                    leases-back             20
//	18 one breaker, two coordinators             quorum-sound            24
//	                                             counts-once              8
//
// # What it found against the fixed coordinator
//
// Run against the coordinator that fixed the faults above, 908 of seeds
// 1 to 2000 still failed (a census; first seed in brackets), and a census
// of 50,000 seeds found four more kinds; each is fixed in package fleet
// with a regression test, or was the harness's, as said:
//
//	fault                                           invariant          test (fleet)
//	X2 a re-attached breaker resent its counts      counts-once (2)    TestFaultX2ReattachResendsCounts
//	   counts lost by a failed flush, taken twice   counts-once (40)   TestFaultCountsLostWhenFlushFails,
//	   from one whose answer was lost                                  TestFaultCountsTakenTwice
//	X1 a fleet mode outlived its lost record        converge (60, 35,  TestFaultX1ModeOutlivesLostRecord,
//	                                                 78331)            TestFaultX1ModeAlreadyInPlace,
//	                                                                   TestFaultX1ModeOutlivesLostRecordLateTransition
//	   a local close whose Closed the store did     converge (79306)   TestFaultLocalCloseNeverCounted
//	   not hear was never sent again (rule 5)
//	   a fleet-wide Clear not adopted under a       monotonic (44, 97) TestFaultClearNotAdoptedUnderClosedRecord
//	   closed record
//	   detach dropped its probes' leases            leases-back (191,  TestFaultDetachKeepsLeases
//	                                                 15668)
//	   an unreadable mark never cleared by the      converge (5909)    TestFaultUnreadableOnceStaysDegraded
//	   same record read well
//	   an Adopt after a callback detached           detached           (apply.go fences every Adopt)
//	19 a driven gate never timed out                (probe-bound)      TestFault19DrivenSlowStoreIsDegraded
//
// The harness's own: quorum-opens counted an open made under an earlier
// attachment, whose hand-off is rightly dropped (206, and 21 more);
// quorum-sound counted a process that renamed itself when it made a new
// coordinator as two instances (993, 4002); detached looked at the
// transition, which a breaker may deliver after the detach, rather than
// at the Adopt call (5092); leases-back counted a lease whose answer or
// report was on its way, or lost to a fault (872, 1246, 19754); converge
// expected a coordinator to undo a mode its predecessor set on a breaker
// it met for the first time (215, and 13 more): a detached breaker works
// alone, and the calm phase now rejoins it as one steered by hand.
//
// Seeds 78331 and 79306, the last two of 1 to 100,000 to fail (converge),
// are fixed: a probe's reopening delivered to the coordinator after the
// breaker's own callback had adopted a fleet forced open marked that mode
// as the breaker's own (X1, third path), and a Closed lost to a store
// error was never sent again while the record stayed half-open short of
// K with every breaker closed.
//
// local-stands was added once the coordinator adopted only at the
// generation it had read: no other invariant saw the difference. With the
// coordinator's adoptAt reverted to a plain Adopt, 3877 of seeds 1 to
// 20,000 fail it (first seed 1; seed 14677 is the fault the fix was made
// for: a re-created closed record closing a breaker tripped by hand
// between the read and the adoption); as fixed, all pass.
//
// The harness itself leaked: a run never closed its coordinators, which
// kept their breakers, and with them the whole run, in package fleet's
// process-wide table of attached breakers; a long run grew by about 75 MB
// a second (a 250,000-seed census reached 24 GB). Runs now close them.
//
// Every seed of 1 to 100,000 passes (testdata/findings.txt): seeds 1 to
// 50,000 in 1m22s (608 seeds/s), 50,001 to 100,000 in 60s (834
// seeds/s), on a shared two-core machine, in at most 27 MB resident.
//
// # Running it
//
//	go test ./fleet -run TestSim                     # 2000 seeds, stops at the first failure
//	go test ./fleet -run TestSim -sim.seed=N -v      # replay seed N, printing its trace
//	go test ./fleet -run TestSim -sim.seeds=1000000  # a long run
//	go test ./fleet -run TestSim -sim.census         # tally every failing seed by invariant
//
// Further flags: -sim.first, -sim.steps, -sim.without (kinds of step),
// -sim.ignore (invariants), -sim.cbco=false (callbacks call only the
// breaker), -sim.stall.
//
// # What it needs from package fleet
//
// Nothing but the public API: a coordinator's record is read with
// Coordinator.View, events are handed over with Coordinator.Deliver, and
// a store other than fleet.Memory (fleet/redisfleet) comes through
// Options.NewStore, with a Clock (Options.NewClock) whose Advance moves
// the store's time too. Each coordinator gets a fault layer of its own,
// so that the run knows which coordinator holds which lease without
// reading lease ids. A process keeps its instance name across the
// coordinators it makes: the quorum counts instances by name.
package fleetsim
