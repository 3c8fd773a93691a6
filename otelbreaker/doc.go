// Package otelbreaker reports the metrics of tripwire circuit breakers through
// OpenTelemetry's metric API (go.opentelemetry.io/otel/metric), with
// observable instruments read at each collection.
//
// It is a module of its own, so that the breaker library does not depend
// on OpenTelemetry.
//
// # Use
//
// Build breakers with Config.CountCalls to report call counts too, and
// register them with a meter:
//
//	import "github.com/tripwire-go/tripwire/otelbreaker"
//
//	b, _ := breaker.New(breaker.Config[*http.Response]{Name: "payments", CountCalls: true})
//	reg, err := otelbreaker.Register(otel.Meter("example.com/shop"), b)
//	...
//	defer reg.Unregister()
//
// A group of breakers ([github.com/tripwire-go/tripwire/group]) is added with
// [Registration.AddGroup]: each collection then covers the breakers the
// group holds at that moment.
//
// # Instruments
//
// Every measurement has the attribute breaker.name ([NameKey]).
//
//	tripwire.breaker.state          gauge, 1 for the current breaker.state, 0 for the others
//	tripwire.breaker.mode           gauge, 1 for the manual breaker.mode in force (none,
//	                                forced-open, disabled), 0 for the others
//	tripwire.breaker.trips          counter {trip}, times the policy opened the closed circuit
//	tripwire.breaker.reopens        counter {reopen}, times a failed half-open probe opened it again
//	tripwire.breaker.manual_opens   counter {open}, times Trip, TripFor or ForceOpen opened it
//	tripwire.breaker.external_opens counter {open}, times a coordinator's decision opened it (Adopt)
//	tripwire.breaker.active_probes  up-down counter {probe}, half-open probes in flight
//	tripwire.breaker.calls          counter {call} by breaker.outcome (success,
//	                                failure, ignored, rejected), only with Config.CountCalls
//	tripwire.breaker.name_collisions gauge {breaker}, breakers of groups left out
//	                                because their name was reported first
//	tripwire.breaker.shadow_only    gauge, 1 for a shadow-only breaker (Config.ShadowOnly)
//	tripwire.breaker.would_reject   counter {call}, calls a shadow-only breaker would have rejected
//
// Each shadow candidate of a breaker (Config.Shadows) has instruments of
// its own, in the breaker's words under tripwire.shadow, each measurement
// with breaker.name and breaker.candidate ([CandidateKey], the candidate's
// name: package spec names it by its spec). They say what a breaker with
// the candidate's settings would have done on the calls the live breaker
// let run:
//
//	tripwire.shadow.state           gauge, 1 for the candidate's breaker.state, 0 for the others
//	tripwire.shadow.trips           counter {trip}, times its policy would have opened its circuit
//	tripwire.shadow.reopens         counter {reopen}, times a failed probe would have opened it again
//	tripwire.shadow.calls           counter {call}, calls offered to it: every call the live breaker let run
//	tripwire.shadow.would_reject    counter {call}, calls of those it would have rejected
//	tripwire.shadow.panics          counter {panic}, panics recovered from it
//
// A breaker has at most breaker.MaxShadows (8) candidates.
//
// A group's outlier detector has no breaker's name: give it one with
// [Registration.AddOutliers], and its counts (Group.OutlierStats) are
// reported with the attribute group.name ([GroupKey]):
//
//	tripwire.group.outlier.shadow      gauge, 1 when the detector runs in shadow (opens nothing), 0 when it enforces
//	tripwire.group.outlier.evaluations counter {evaluation}, intervals it judged
//	tripwire.group.outlier.found       counter {outlier}, outliers it found, opened or not
//	tripwire.group.outlier.ejected     counter {outlier}, outliers it opened, or in shadow would have opened
//
// # Names
//
// Each name is reported once, since the points of two breakers with one
// name would mix. Register and [Registration.Add] refuse a breaker whose
// name is taken ([ErrDuplicateName]); a group's breakers are checked at
// each collection, the first of a name reported and the others counted in
// tripwire.breaker.name_collisions.
//
// # Span events
//
// [Execute] runs a call through a breaker and adds to the span of its
// context a tripwire.breaker.rejected event when the breaker rejected it,
// and a tripwire.breaker.state_change event for each state change made
// while it ran, once [SpanEvents] hears of them through OnTransition:
//
//	se := otelbreaker.NewSpanEvents()
//	b, _ := breaker.New(breaker.Config[*http.Response]{Name: "payments", OnTransition: se.OnTransition})
//	resp, err := otelbreaker.Execute(ctx, se, b, call)
//
// A breaker's callbacks have no context, so a state change cannot be handed
// to the span that caused it directly: [SpanEvents] says which span gets
// it. [AddRejectionEvent] and [SpanEvents.Watch] serve the two-step form.
//
// A collection reads each breaker's Metrics, which takes a lock briefly
// and never changes the circuit or calls OnStateChange.
package otelbreaker
