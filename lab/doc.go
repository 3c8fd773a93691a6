// Package lab answers "what would this breaker have done in that outage?":
// it replays a dependency's misbehaviour against circuit breakers with
// different policies and settings, in virtual time, and measures what each
// did.
//
// The command go run ./bench/lab runs the built-in scenarios and prints a
// table; this package is its engine, for evaluating policies and breaker
// settings of your own from Go. Each row of the table is a [Candidate]: a
// name, a function that builds a fresh policy, and breaker settings:
//
//	mine := lab.Candidate{Name: "mine", New: func() policy.Policy { return newMyPolicy() }, OpenTimeout: 30 * time.Second}
//	rep, err := lab.Run(lab.Builtin(), append(lab.DefaultCandidates(), mine), 1)
//	...
//	rep.WriteTable(os.Stdout)
//
// Candidates are also written in the one-line language of package spec,
// the same that configures a breaker from a flag or a config file:
// [ParseCandidates] reads "consecutive(5),rate(0.3,20,10s)@open=30s" and
// [Candidate.Spec] writes each candidate back in that language's canonical
// form.
//
// # Simulation
//
// A [Scenario] describes traffic (calls per second, with jitter) and the
// dependency's error rate and latency over time: a baseline, and phases
// that make up the fault. [Run] draws the scenario's calls once, from a
// random stream seeded by the seed and the scenario's name, and replays the
// same calls against a fresh [breaker.Breaker] for each [Candidate]. Each call
// asks the breaker with Allow when it arrives; if let through, it reports
// its outcome with Permit.Done when it completes, latency later. Calls
// overlap as in a real service, and a policy that asks for durations (see
// policy.Binding.Need) gets them, measured by the breaker on its clock.
//
// The clock is virtual: it jumps from one event to the next, so a scenario
// of minutes runs in milliseconds, and the same seed and inputs give the
// same results, bit for bit. Events at the same instant run in a fixed
// order: completions (in the order they were scheduled), then the arrival.
// The breaker turns half-open lazily, when it is next asked; the simulation
// asks it at the end of every open period, so the timeline shows the change
// at the moment it happens.
//
// # Figures
//
// The fault is the scenario's phases: it begins when the first phase
// begins and ends when the last one ends (for a flapping dependency, the
// healthy gaps between phases are inside that span but not part of the
// fault). A call belongs to the phase in which it arrives. Each figure has
// one name, the same in the table, CSV and JSON, and (in CamelCase) in
// [Result]. A name that starts with fault_ counts calls that arrived
// during the fault; every other count is over the whole run.
//
//   - time_to_trip: from the start of the fault to the first moment, at or
//     after it and no later than the end of the fault, at which the
//     circuit is open. 0 if it was open already when the fault began;
//     [Never] if it did not open during the fault.
//   - fault_sent: calls let through to the dependency (as probes or not)
//     that arrived during the fault: the load the breaker did not spare
//     the failing dependency.
//   - fault_failed: those of them that failed: the errors callers saw
//     during the fault. It is never more than fault_sent.
//   - healthy_lost: rejected calls that arrived outside the fault, or that
//     the dependency would have served well: without an error and, when
//     the scenario sets SlowCall, no slower than it. The cost of a breaker
//     that is open when it need not be.
//   - time_to_close: from the end of the fault to the first moment after
//     it at which the circuit is closed. 0 if it was closed when the fault
//     ended, having opened; [NotApplicable] if it never opened; [Never] if
//     it did not close before the scenario ended.
//   - probes: calls let through while the circuit was half-open.
//   - trips: how many times the policy opened the closed circuit.
//   - reopens: how many times a failed probe opened the half-open circuit
//     again. A trip and the reopens that follow it are one open spell.
//   - false_trips (CSV, JSON and [Result] only): trips before the fault
//     began; in a scenario without a fault, every trip.
//   - calls, sent, rejected, failed (CSV, JSON and [Result] only): the
//     calls that arrived, were let through, were rejected, and were let
//     through and failed, over the whole run.
//
// A scenario without phases has no fault: its timing figures are
// [NotApplicable] ("n/a") and fault_sent and fault_failed are 0.
//
// With a fleet ([Options].Fleet), each instance has its own breaker and
// the counts add up over the instances; the circuit counts as open from
// the moment any instance's is, and as closed again once every instance's
// is.
//
// # Scenario files
//
// [ParseScenarios] reads scenarios from JSON: one object, or an array of
// them. Durations are strings in Go's notation ("250ms", "1m30s"). In a
// phase, errors and latency are a value, or a pair [from, to] that changes
// linearly over the phase; a phase that leaves one out has the baseline's.
//
//	{
//	  "name": "checkout-incident",          // required: letters, digits, - _ .
//	  "description": "what happened",
//	  "duration": "10m",                    // required: length of the run
//	  "rate": 80,                           // required: calls per second
//	  "jitter": 0.5,                        // gaps between calls vary by ±50%
//	  "errors": 0.01,                       // baseline error rate
//	  "latency": "40ms",                    // baseline mean latency
//	  "slow_call": "1s",                    // calls this slow count as bad in the figures
//	  "open_timeout": "10s",                // breaker's OpenTimeout (default 60s)
//	  "half_open_probes": 3,                // breaker's HalfOpenProbes (default 3)
//	  "phases": [
//	    {"name": "failover", "start": "2m", "end": "3m30s", "errors": 1},
//	    {"start": "3m30s", "end": "6m", "errors": [0.6, 0.01], "latency": ["900ms", "40ms"]}
//	  ]
//	}
//
// (JSON has no comments; they are here to explain.) Unknown fields are
// errors, and so are impossible scenarios: see [Scenario.Validate].
//
// # Traces
//
// [ReplayTrace] replays recorded calls instead of drawn ones: a CSV file
// with a header naming its columns (start or end, duration, outcome, and
// optionally fault), read once as a stream, so that a trace of millions of
// calls runs in a few megabytes. [Trace] describes the formats accepted. A
// trace cannot say when the fault began: [Trace] marks it by offsets or
// times, or the file by a fault column, and the figures are then defined
// as for a scenario with one phase spanning the fault. A trace without a
// fault marked is a healthy baseline: its timing figures are
// [NotApplicable] and every trip is a false one.
//
// # Tuning
//
// [Tune] searches a grid of thresholds for each policy family over
// scenarios or a trace, on every core, and reports per family the setting
// with the lowest cost for an [Objective] and the Pareto front, with the
// winner as a spec ([TuneReport].Spec, for a flag or a config file) and as
// Go code: the cheapest of every setting searched and every baseline
// candidate scored beside them. The search is deterministic: the report
// does not depend on the number of workers.
//
// # Fleets
//
// With [Options].Fleet, every candidate runs as N breakers, one per
// instance of the service, that share the traffic round-robin or at
// random ([Route]).
// With [Options].Share as well, each candidate has a second row whose
// breakers share one circuit through package fleet: one fleet.Coordinator
// per instance, in its driven mode (no goroutine of its own), all over one
// fleet.Memory, stepped by the simulation on its virtual clock, so that the
// real fleet rules (quorum, K probes fleet-wide, closing for all) run as
// deterministically as the breakers do.
//
// # Outputs
//
// A [Report] writes itself as an aligned table ([Report.WriteTable]), CSV
// ([Report.WriteCSV]), JSON ([Report.WriteJSON], which includes every
// state transition and each scenario in the input format) and one HTML
// page ([Report.WriteHTML]), and each [ScenarioReport] draws an SVG
// timeline ([ScenarioReport.WriteSVG]).
package lab
