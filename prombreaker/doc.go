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
//	prometheus.MustRegister(prombreaker.NewCollector(prombreaker.Opts{}, b))
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
//	tripwire_breaker_state_since_timestamp_seconds               gauge, when the current state began
//	tripwire_breaker_trips_total                                 counter, times the circuit opened
//	tripwire_breaker_probes_in_flight                            gauge, half-open probes running
//	tripwire_breaker_calls_total{outcome="success"|"failure"|"ignored"|"rejected"}
//	                                                             counter, only with Config.CountCalls
//
// A scrape reads each breaker's Metrics, which takes a lock briefly and
// never changes the circuit or calls OnStateChange.
package prombreaker
