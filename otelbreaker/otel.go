package otelbreaker

import (
	"context"
	"errors"
	"iter"
	"math"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/metricset"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The instruments Register creates.
const (
	// CallsName counts calls, by outcome ("success", "failure", "ignored",
	// "rejected"). Only breakers built with Config.CountCalls report it.
	CallsName = "tripwire.breaker.calls"
	// TripsName counts the times a circuit opened.
	TripsName = "tripwire.breaker.trips"
	// StateName is 1 for the state a circuit is in and 0 for the other two
	// ("closed", "half-open", "open").
	StateName = "tripwire.breaker.state"
	// ActiveProbesName is the number of half-open probes in flight.
	ActiveProbesName = "tripwire.breaker.active_probes"
)

// The attributes of the measurements.
const (
	// NameKey is the breaker's name, on every measurement.
	NameKey = attribute.Key("breaker.name")
	// StateKey is the state a StateName measurement is about.
	StateKey = attribute.Key("breaker.state")
	// OutcomeKey is the outcome a CallsName measurement counts.
	OutcomeKey = attribute.Key("breaker.outcome")
)

// Breaker is a breaker whose metrics are reported. *breaker.Breaker[T]
// implements it for every T.
type Breaker interface {
	Metrics() breaker.Metrics
}

// Group is a changing set of breakers whose metrics are reported: every
// breaker the set holds at the time of each collection.
// *group.Group[K, T] implements it for every K and T.
type Group interface {
	Metrics() iter.Seq[breaker.Metrics]
}

// Registration reports the metrics of breakers through the observable
// instruments of one meter, read at each collection. Build one with
// [Register]; the zero value is not usable. It is safe for concurrent use.
type Registration struct {
	calls, trips metric.Int64ObservableCounter
	state        metric.Int64ObservableGauge
	probes       metric.Int64ObservableUpDownCounter
	reg          metric.Registration
	set          metricset.Set
}

// Register creates the instruments on meter and a callback that reports
// the given breakers at each collection. Add more with Add and AddGroup;
// stop with Unregister. It fails only when the meter refuses an
// instrument or the callback.
func Register(meter metric.Meter, breakers ...Breaker) (*Registration, error) {
	r := &Registration{}
	r.Add(breakers...)
	var err, e error
	r.calls, e = meter.Int64ObservableCounter(CallsName, metric.WithUnit("{call}"),
		metric.WithDescription("Calls through circuit breakers, by outcome: success, failure and ignored for calls that ran, rejected for calls refused while open."))
	err = errors.Join(err, e)
	r.trips, e = meter.Int64ObservableCounter(TripsName, metric.WithUnit("{trip}"),
		metric.WithDescription("Times a circuit opened."))
	err = errors.Join(err, e)
	r.state, e = meter.Int64ObservableGauge(StateName, metric.WithUnit("1"),
		metric.WithDescription("Whether a circuit is in the state of the attribute (1) or not (0)."))
	err = errors.Join(err, e)
	r.probes, e = meter.Int64ObservableUpDownCounter(ActiveProbesName, metric.WithUnit("{probe}"),
		metric.WithDescription("Half-open probe calls in flight."))
	err = errors.Join(err, e)
	if err != nil {
		return nil, err
	}
	r.reg, err = meter.RegisterCallback(r.observe, r.calls, r.trips, r.state, r.probes)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Add reports breakers too.
func (r *Registration) Add(breakers ...Breaker) {
	for _, b := range breakers {
		r.set.Add(b)
	}
}

// AddGroup reports every breaker in g, as it is at each collection.
func (r *Registration) AddGroup(g Group) { r.set.AddGroup(g) }

// Unregister stops reporting: the instruments stay on the meter but get no
// more measurements from this registration.
func (r *Registration) Unregister() error { return r.reg.Unregister() }

func (r *Registration) observe(_ context.Context, o metric.Observer) error {
	for m := range r.set.All() {
		r.observeOne(o, m)
	}
	return nil
}

func (r *Registration) observeOne(o metric.Observer, m breaker.Metrics) {
	name := NameKey.String(m.Name)
	with := func(kv ...attribute.KeyValue) metric.ObserveOption {
		return metric.WithAttributeSet(attribute.NewSet(append(kv, name)...))
	}
	for _, s := range metricset.States {
		v := int64(0)
		if m.State == s {
			v = 1
		}
		o.ObserveInt64(r.state, v, with(StateKey.String(s.String())))
	}
	o.ObserveInt64(r.trips, toInt64(m.Trips), with())
	o.ObserveInt64(r.probes, int64(m.ProbesInFlight), with())
	if !m.Counted {
		return
	}
	for _, n := range metricset.Counts(m) {
		o.ObserveInt64(r.calls, toInt64(n.N), with(OutcomeKey.String(n.Outcome)))
	}
}

// toInt64 converts a count, saturating where int64 ends.
func toInt64(n uint64) int64 { return int64(min(n, math.MaxInt64)) }
