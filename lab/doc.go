// Package lab answers "what would this policy have done in that outage?":
// it replays a dependency's misbehaviour against circuit breakers with
// different policies, in virtual time, and measures what each did.
//
// The command go run ./bench/lab runs the built-in scenarios and prints a
// table; this package is its engine, for evaluating policies of your own
// from Go:
//
//	mine := lab.Policy{Name: "mine", New: func() policy.Policy { return newMyPolicy() }}
//	rep, err := lab.Run(lab.Builtin(), append(lab.DefaultPolicies(), mine), 1)
//	...
//	rep.WriteTable(os.Stdout)
//
// # Simulation
//
// A [Scenario] describes traffic (calls per second, with jitter) and the
// dependency's error rate and latency over time: a baseline, and phases
// that make up the fault. [Run] draws the scenario's calls once, from a
// random stream seeded by the seed and the scenario's name, and replays the
// same calls against a fresh [breaker.Breaker] for each [Policy]. Each call
// asks the breaker with Allow when it arrives; if let through, it reports
// its outcome with Permit.Done when it completes, latency later. Calls
// overlap as in a real service, and a policy that asks for durations (see
// policy.Needer) gets them, measured by the breaker on its clock.
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
// fault). A call belongs to the phase in which it arrives. For each
// scenario and policy, a [Result] holds:
//
//   - TimeToTrip ("trip"): from the start of the fault to the first moment,
//     at or after it and no later than the end of the fault, at which the
//     circuit is open. 0 if it was open already when the fault began.
//     [Never] if it did not open during the fault.
//   - FaultCalls ("sent"): calls let through to the dependency (admitted,
//     as probes or not) that arrived during the fault: the load the breaker
//     did not spare the failing dependency.
//   - Failed ("failed"): calls let through that the dependency failed,
//     over the whole scenario: the errors callers saw.
//   - HealthyRejected ("lost"): rejected calls that arrived outside the
//     fault, or that the dependency would have served well: without an
//     error and, when the scenario sets SlowCall, no slower than it. The cost
//     of a breaker that is open when it need not be.
//   - TimeToClose ("close"): from the end of the fault to the first moment
//     after it at which the circuit is closed. 0 if it was closed when the
//     fault ended (or never opened). [Never] if it did not close before the
//     scenario ended.
//   - Probes ("probes"): calls let through while the circuit was half-open,
//     over the whole scenario.
//   - Trips ("trips"): how many times the policy opened the closed circuit
//     (reopening after a failed probe is not a trip). In a scenario without
//     a fault every trip is a false alarm.
//
// A scenario without phases has no fault: its timing figures are [Never]
// and FaultCalls is 0.
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
// # Outputs
//
// A [Report] writes itself as an aligned table ([Report.WriteTable]), CSV
// ([Report.WriteCSV]) and JSON ([Report.WriteJSON], which includes every
// state transition and each scenario in the input format), and each
// [ScenarioReport] draws an SVG timeline ([ScenarioReport.WriteSVG]).
package lab
