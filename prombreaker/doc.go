// Package prombreaker exports the metrics of tripwire circuit breakers to
// Prometheus, through github.com/prometheus/client_golang.
//
// It is a module of its own, so that the breaker library does not depend
// on the Prometheus client.
//
// # Use
//
// Build breakers with Config.CountCalls to export call counts too, make a
// [Collector] of them and register it:
//
//	import (
//		"github.com/prometheus/client_golang/prometheus"
//		"github.com/tripwire-go/tripwire/prombreaker"
//	)
//
//	b, _ := breaker.New(breaker.Config[*http.Response]{Name: "payments", CountCalls: true})
//	c, err := prombreaker.NewCollector(prombreaker.Opts{}, b)
//	if err != nil {
//		return err // two breakers with one name
//	}
//	prometheus.MustRegister(c)
//
// A group of breakers ([github.com/tripwire-go/tripwire/group]) is added with
// [Collector.AddGroup]: each scrape then covers the breakers the group
// holds at that moment.
//
// # Metrics
//
// Every series has the label "breaker", the breaker's name. With the
// default namespace:
//
//	tripwire_breaker_state{state="closed"|"half-open"|"open"}   gauge, 1 for the current state, 0 for the others
//	tripwire_breaker_mode{mode="none"|"forced-open"|"disabled"} gauge, 1 for the manual mode in force, 0 for the others
//	tripwire_breaker_state_since_timestamp_seconds               gauge, when the current state began
//	tripwire_breaker_trips_total                                 counter, times the policy opened the closed circuit
//	tripwire_breaker_reopens_total                               counter, times a failed half-open probe opened it again
//	tripwire_breaker_manual_opens_total                          counter, times Trip, TripFor or ForceOpen opened it
//	tripwire_breaker_external_opens_total                        counter, times a coordinator's decision opened it (Adopt)
//	tripwire_breaker_probes_in_flight                            gauge, half-open probes running
//	tripwire_breaker_calls_total{outcome="success"|"failure"|"ignored"|"rejected"}
//	                                                             counter, only with Config.CountCalls
//	tripwire_breaker_name_collisions                             gauge, breakers of groups left out of the scrape
//	                                                             because their name was exported first
//	tripwire_breaker_last_trip_rule{rule, path}                  gauge, 1 for the rule of the policy that decided
//	                                                             the last trip
//	tripwire_breaker_shadow_only                                 gauge, 1 for a shadow-only breaker (Config.ShadowOnly)
//	tripwire_breaker_would_reject_total                          counter, calls a shadow-only breaker would have rejected
//
// # Shadow candidates
//
// Each shadow candidate of a breaker (Config.Shadows) has series of its own,
// labelled "breaker" and "candidate" (the candidate's name: package spec
// names it by its spec). They say what a breaker with the candidate's
// settings would have done on the calls the live breaker let run, in the
// breaker's words under "shadow":
//
//	tripwire_shadow_state{state="closed"|"half-open"|"open"}     gauge, 1 for the candidate's state, 0 for the others
//	tripwire_shadow_trips_total                                  counter, times its policy would have opened its circuit
//	tripwire_shadow_reopens_total                                counter, times a failed probe would have opened it again
//	tripwire_shadow_calls_total                                  counter, calls offered to it: every call the live breaker let run
//	tripwire_shadow_would_reject_total                           counter, calls of those it would have rejected
//	tripwire_shadow_panics_total                                 counter, panics recovered from it
//
// A candidate has 8 series and a breaker at most breaker.MaxShadows (8)
// candidates, so a breaker adds at most 64. To see what a candidate would add to the live
// policy, compare its trips with the breaker's:
//
//	increase(tripwire_shadow_trips_total[1d])
//	  - on(breaker) group_left increase(tripwire_breaker_trips_total[1d])
//
// # A group's outlier detector
//
// A group's outlier detector has no breaker's name: give it one with
// [Collector.AddOutliers], and its counts (Group.OutlierStats) are
// exported labelled "group" with that name:
//
//	tripwire_group_outlier_shadow                                gauge, 1 when the detector runs in shadow (opens nothing), 0 when it enforces
//	tripwire_group_outlier_evaluations_total                     counter, intervals it judged
//	tripwire_group_outlier_found_total                           counter, outliers it found, opened or not
//	tripwire_group_outlier_ejected_total                         counter, outliers it opened, or in shadow would have opened
//
// To see what a detector in shadow would add, compare its would-be
// ejections with the trips of the group's breakers (named here "host-…"):
//
//	increase(tripwire_group_outlier_ejected_total{group="hosts"}[1d])
//	  - on() sum(increase(tripwire_breaker_trips_total{breaker=~"host-.*"}[1d]))
//
// # Names
//
// Each name is exported once, because two series with the same labels make
// the registry fail the whole scrape, and with it every metric of the
// application. NewCollector and [Collector.Add] refuse a breaker whose
// name is taken ([ErrDuplicateName]). A group's breakers come and go, so
// they are checked at each scrape: the first breaker of a name is exported,
// the others are left out and counted in tripwire_breaker_name_collisions,
// labelled with the name. Alert on it being present.
//
// A trip is the policy's verdict and nothing else, so an alert on
// increase(tripwire_breaker_trips_total[5m]) > 0 fires when a dependency
// fails, not when an operator opens a circuit or a probe fails again; every
// opening is the sum of the four opens counters.
//
// A scrape reads each breaker's Metrics, which takes a lock briefly and
// never changes the circuit or calls OnStateChange.
package prombreaker
