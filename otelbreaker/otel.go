package otelbreaker

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/metricset"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The instruments Register creates.
const (
	// CallsName counts calls, by outcome ("success", "failure", "ignored",
	// "rejected"). Only breakers built with Config.CountCalls report it.
	CallsName = "tripwire.breaker.calls"
	// TripsName counts the times the policy opened a closed circuit: a
	// trip is the policy's verdict and nothing else.
	TripsName = "tripwire.breaker.trips"
	// ReopensName counts the times a failed half-open probe opened a
	// circuit again.
	ReopensName = "tripwire.breaker.reopens"
	// ManualOpensName counts the times Trip, TripFor or ForceOpen opened a
	// circuit.
	ManualOpensName = "tripwire.breaker.manual_opens"
	// ExternalOpensName counts the times a decision adopted from a
	// coordinator (Adopt) opened a circuit.
	ExternalOpensName = "tripwire.breaker.external_opens"
	// StateName is 1 for the state a circuit is in and 0 for the other two
	// ("closed", "half-open", "open").
	StateName = "tripwire.breaker.state"
	// ModeName is 1 for the manual mode in force and 0 for the other two
	// ("none", "forced-open", "disabled").
	ModeName = "tripwire.breaker.mode"
	// ActiveProbesName is the number of half-open probes in flight.
	ActiveProbesName = "tripwire.breaker.active_probes"
	// NameCollisionsName is the number of a group's breakers left out of a
	// collection because a breaker with the same name was reported first.
	// It has points only while names collide.
	NameCollisionsName = "tripwire.breaker.name_collisions"
	// ShadowOnlyName is 1 for a shadow-only breaker (Config.ShadowOnly),
	// which rejects nothing: its state and opens are what it would have
	// done. It has points only for such breakers.
	ShadowOnlyName = "tripwire.breaker.shadow_only"
	// WouldRejectName counts the calls a shadow-only breaker would have
	// rejected, which ran all the same. Only shadow-only breakers report
	// it.
	WouldRejectName = "tripwire.breaker.would_reject"

	// The instruments of shadow candidates (Config.Shadows, as
	// Breaker.Shadows reports them): a breaker's words under
	// "tripwire.shadow", each measurement with the breaker's name
	// ([NameKey]) and the candidate's ([CandidateKey]). They say what a
	// breaker with the candidate's settings would have done on the calls
	// the live breaker let run.

	// ShadowStateName is 1 for the state a candidate is in and 0 for the
	// other two ([StateKey]).
	ShadowStateName = "tripwire.shadow.state"
	// ShadowTripsName counts the times a candidate's policy would have
	// opened its closed circuit.
	ShadowTripsName = "tripwire.shadow.trips"
	// ShadowReopensName counts the times a failed probe would have opened
	// a candidate's circuit again.
	ShadowReopensName = "tripwire.shadow.reopens"
	// ShadowCallsName counts the calls offered to a candidate: every call
	// the live breaker let run.
	ShadowCallsName = "tripwire.shadow.calls"
	// ShadowWouldRejectName counts the calls offered to a candidate that it
	// would have rejected; they ran all the same.
	ShadowWouldRejectName = "tripwire.shadow.would_reject"
	// ShadowPanicsName counts the panics recovered from a candidate: its
	// policy's, or OnTransition's while it delivered one of its
	// transitions.
	ShadowPanicsName = "tripwire.shadow.panics"

	// The instruments of a group's outlier detector, as
	// Group.OutlierStats counts them ([Registration.AddOutliers]), each
	// measurement with the name the user gave the group ([GroupKey]).

	// OutlierEvaluationsName counts the intervals a group's outlier
	// detector judged.
	OutlierEvaluationsName = "tripwire.group.outlier.evaluations"
	// OutlierFoundName counts the outliers a group's detector found,
	// opened or not: a key that stands out in three intervals counts three
	// times.
	OutlierFoundName = "tripwire.group.outlier.found"
	// OutlierEjectedName counts the outliers a group's detector opened,
	// or, in shadow, would have opened.
	OutlierEjectedName = "tripwire.group.outlier.ejected"
	// OutlierShadowName is 1 when a group's detector runs in shadow
	// (Outliers.Shadow), opening nothing, and 0 when it enforces.
	OutlierShadowName = "tripwire.group.outlier.shadow"
)

// ErrDuplicateName is wrapped by the error of [Register] and
// [Registration.Add] when a breaker has the name of one already reported.
var ErrDuplicateName = errors.New("otelbreaker: a breaker with this name is already reported")

// ErrDuplicateGroupName is wrapped by the error of
// [Registration.AddOutliers] when a group's detector is already reported
// under the name given. Group names are apart from breaker names: a group
// may share its name with a breaker.
var ErrDuplicateGroupName = errors.New("otelbreaker: a group's outlier detector with this name is already reported")

// OutlierSource is a group's outlier detector whose counts are reported,
// under a name given to [Registration.AddOutliers]. *group.Group[K, T]
// implements it for every K and T.
type OutlierSource interface {
	OutlierStats() group.OutlierStats
}

// The attributes of the measurements.
const (
	// NameKey is the breaker's name, on every measurement.
	NameKey = attribute.Key("breaker.name")
	// StateKey is the state a StateName or ShadowStateName measurement is
	// about.
	StateKey = attribute.Key("breaker.state")
	// ModeKey is the manual mode a ModeName measurement is about.
	ModeKey = attribute.Key("breaker.mode")
	// OutcomeKey is the outcome a CallsName measurement counts.
	OutcomeKey = attribute.Key("breaker.outcome")
	// GroupKey is the name given to a group with
	// [Registration.AddOutliers], on every measurement of its detector.
	GroupKey = attribute.Key("group.name")
)

// Group is a changing set of breakers whose metrics are reported: every
// breaker the set holds at the time of each collection.
// *group.Group[K, T] implements it for every K and T. A Group that is also
// a breaker.CircuitSet, as *group.Group is, is read through its Circuits,
// so that its breakers' shadow candidates are reported too.
type Group interface {
	Metrics() iter.Seq[breaker.Metrics]
}

// Breaker is a breaker whose metrics are reported. *breaker.Breaker[T]
// implements it for every T.
type Breaker interface {
	Metrics() breaker.Metrics
}

// Registration reports the metrics of breakers through the observable
// instruments of one meter, read at each collection. Build one with
// [Register]; the zero value is not usable. It is safe for concurrent use.
//
// Each breaker's measurements carry its name ([NameKey]), so each name is
// reported once: two breakers of one name would give a mix of the two.
// Register and Add refuse a breaker whose name is taken. A group's breakers
// are named at each collection, so there a name already reported (by a
// breaker added, an earlier group, or the same group added twice) is left
// out and counted in [NameCollisionsName]. Names that are not valid UTF-8
// are reported with U+FFFD in place of the invalid bytes. Two Registrations
// on one meter report into the same instruments: use one per meter, with
// Add and AddGroup.
//
// Each breaker's shadow candidates (Config.Shadows) are reported through
// the tripwire.shadow instruments, on every breaker that has a method
// Shadows() []breaker.ShadowStatus, as *breaker.Breaker[T] does: breakers
// added, a group's and a registry's. A breaker has at most
// breaker.MaxShadows candidates, each name once; a breaker left out for
// its name is left out with its candidates.
//
// A group's outlier detector is reported under a name given to
// AddOutliers, through the tripwire.group.outlier instruments with
// [GroupKey].
type Registration struct {
	calls, wouldReject      metric.Int64ObservableCounter
	shadowOnly              metric.Int64ObservableGauge
	opens                   [4]metric.Int64ObservableCounter // by metricset.OpenCounts
	state, mode, collisions metric.Int64ObservableGauge
	probes                  metric.Int64ObservableUpDownCounter
	shadowState             metric.Int64ObservableGauge
	shadowCounts            [5]metric.Int64ObservableCounter // by metricset.ShadowCounts
	outlierShadow           metric.Int64ObservableGauge
	outlierCounts           [3]metric.Int64ObservableCounter // by metricset.OutlierCounts
	reg                     metric.Registration
	set                     metricset.Set
	outliers                metricset.Outliers
}

// Register creates the instruments on meter and a callback that reports
// the given breakers at each collection. Add more with Add and AddGroup;
// stop with Unregister. It fails when two of the breakers have one name
// (the error wraps ErrDuplicateName), or when the meter refuses an
// instrument or the callback.
func Register(meter metric.Meter, breakers ...Breaker) (*Registration, error) {
	r := &Registration{}
	if err := r.Add(breakers...); err != nil {
		return nil, err
	}
	in := instruments{meter: meter}
	r.calls = in.counter(CallsName, "{call}",
		"Calls through circuit breakers, by outcome: success, failure and ignored for calls that ran, rejected for calls refused while open.")
	for i, o := range metricset.OpenCounts(breaker.Metrics{}) {
		r.opens[i] = in.counter("tripwire.breaker."+o.Name, o.Unit, o.Help)
	}
	r.state = in.gauge(StateName, "1",
		"Whether a circuit is in the state of the attribute (1) or not (0).")
	r.mode = in.gauge(ModeName, "1",
		"Whether the manual mode of the attribute is in force (1) or not (0): none, forced-open (ForceOpen) or disabled (Disable).")
	r.probes = in.upDownCounter(ActiveProbesName, "{probe}", "Half-open probe calls in flight.")
	r.collisions = in.gauge(NameCollisionsName, "{breaker}",
		"Breakers of a group left out of this collection because a breaker with the same name was reported first.")
	r.shadowOnly = in.gauge(ShadowOnlyName, "1",
		"1 for a shadow-only breaker, which rejects nothing: its state and opens are what it would have done.")
	r.wouldReject = in.counter(WouldRejectName, "{call}",
		"Calls a shadow-only breaker would have rejected, which ran all the same.")
	r.shadowState = in.gauge(ShadowStateName, "1",
		"Whether a shadow candidate is in the state of the attribute (1) or not (0): the state a breaker with its settings would be in.")
	for i, o := range metricset.ShadowCounts(breaker.ShadowStatus{}) {
		r.shadowCounts[i] = in.counter("tripwire.shadow."+o.Name, o.Unit, o.Help)
	}
	r.outlierShadow = in.gauge(OutlierShadowName, "1",
		"1 when the group's outlier detector runs in shadow: it opens nothing, and its ejections are those it would have made; 0 when it enforces.")
	for i, o := range metricset.OutlierCounts(group.OutlierStats{}) {
		r.outlierCounts[i] = in.counter("tripwire.group.outlier."+o.Name, o.Unit, o.Help)
	}
	if in.err != nil {
		return nil, in.err
	}
	var err error
	r.reg, err = meter.RegisterCallback(r.observe, in.all...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// instruments creates the observable instruments of Register on meter,
// keeping every one for the callback and every refusal, so that Register
// reports them all at once.
type instruments struct {
	meter metric.Meter
	all   []metric.Observable
	err   error
}

func (in *instruments) counter(name, unit, help string) metric.Int64ObservableCounter {
	c, err := in.meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(help))
	in.keep(c, err)
	return c
}

func (in *instruments) gauge(name, unit, help string) metric.Int64ObservableGauge {
	g, err := in.meter.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(help))
	in.keep(g, err)
	return g
}

func (in *instruments) upDownCounter(name, unit, help string) metric.Int64ObservableUpDownCounter {
	c, err := in.meter.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(help))
	in.keep(c, err)
	return c
}

func (in *instruments) keep(o metric.Observable, err error) {
	in.all = append(in.all, o)
	in.err = errors.Join(in.err, err)
}

// Add reports breakers too. A breaker whose name is already reported by the
// registration is left out, and the error, wrapping ErrDuplicateName,
// names it; the others are added all the same.
func (r *Registration) Add(breakers ...Breaker) error {
	var errs []error
	for _, b := range breakers {
		if !r.set.Add(b) {
			errs = append(errs, fmt.Errorf("%w: %q", ErrDuplicateName, metricset.Name(b.Metrics())))
		}
	}
	return errors.Join(errs...)
}

// AddGroup reports every breaker in g, as it is at each collection. A
// breaker of g whose name is already reported is left out and counted in
// [NameCollisionsName].
func (r *Registration) AddGroup(g Group) { r.set.AddGroup(g) }

// AddRegistry makes the registration report every circuit of reg, as reg
// lists them at each collection: the registry the console reads, so that
// the two show the same circuits. A circuit whose name is already reported
// is left out, as for a group.
func (r *Registration) AddRegistry(reg *breaker.Registry) {
	if reg != nil {
		r.set.AddGroup(metricset.Registry{R: reg})
	}
}

// AddOutliers reports the counts of g's outlier detector (as
// g.OutlierStats reads them at each collection) under name, in the
// attribute [GroupKey]: a group has no name of its own, and its breakers'
// measurements (AddGroup) say nothing of the detector. A group without a
// detector is reported with zero counts. It fails when name is empty, when
// g is nil, or when a detector is already reported under name (the error
// wraps ErrDuplicateGroupName). Names that are not valid UTF-8 are reported
// with U+FFFD in place of the invalid bytes, and checked for duplicates so.
func (r *Registration) AddOutliers(name string, g OutlierSource) error {
	name, err := r.outliers.Add(name, g)
	switch {
	case errors.Is(err, metricset.ErrDuplicateGroup):
		return fmt.Errorf("%w: %q", ErrDuplicateGroupName, name)
	case err != nil:
		return fmt.Errorf("otelbreaker: AddOutliers(%q): %w", name, err)
	}
	return nil
}

// Unregister stops reporting: the instruments stay on the meter but get no
// more measurements from this registration.
func (r *Registration) Unregister() error { return r.reg.Unregister() }

func (r *Registration) observe(_ context.Context, o metric.Observer) error {
	for _, x := range r.set.Collect(func(m breaker.Metrics, shadows []breaker.ShadowStatus) {
		r.observeOne(o, m)
		r.observeShadows(o, m.Name, shadows)
	}) {
		o.ObserveInt64(r.collisions, int64(x.Extra), metric.WithAttributes(NameKey.String(x.Name)))
	}
	for _, g := range r.outliers.List() {
		st := g.Src.OutlierStats()
		with := metric.WithAttributeSet(attribute.NewSet(GroupKey.String(g.Name)))
		o.ObserveInt64(r.outlierShadow, oneIf(st.Shadow), with)
		for i, n := range metricset.OutlierCounts(st) {
			o.ObserveInt64(r.outlierCounts[i], toInt64(n.N), with)
		}
	}
	return nil
}

func (r *Registration) observeOne(o metric.Observer, m breaker.Metrics) {
	name := NameKey.String(m.Name)
	with := func(kv ...attribute.KeyValue) metric.ObserveOption {
		return metric.WithAttributeSet(attribute.NewSet(append(kv, name)...))
	}
	for _, s := range metricset.States {
		o.ObserveInt64(r.state, oneIf(m.State == s), with(StateKey.String(s.String())))
	}
	for _, md := range metricset.Modes {
		o.ObserveInt64(r.mode, oneIf(m.Mode == md), with(ModeKey.String(md.String())))
	}
	for i, n := range metricset.OpenCounts(m) {
		o.ObserveInt64(r.opens[i], toInt64(n.N), with())
	}
	o.ObserveInt64(r.probes, int64(m.ProbesInFlight), with())
	if m.ShadowOnly {
		o.ObserveInt64(r.shadowOnly, 1, with())
		o.ObserveInt64(r.wouldReject, toInt64(m.WouldReject), with())
	}
	if !m.Counted {
		return
	}
	for _, n := range metricset.Counts(m) {
		o.ObserveInt64(r.calls, toInt64(n.N), with(OutcomeKey.String(n.Outcome)))
	}
}

// observeShadows reports the shadow candidates of the breaker named name.
func (r *Registration) observeShadows(o metric.Observer, name string, shadows []breaker.ShadowStatus) {
	for _, sh := range shadows {
		with := func(kv ...attribute.KeyValue) metric.ObserveOption {
			return metric.WithAttributeSet(attribute.NewSet(append(kv, NameKey.String(name), CandidateKey.String(sh.Name))...))
		}
		for _, s := range metricset.States {
			o.ObserveInt64(r.shadowState, oneIf(sh.State == s), with(StateKey.String(s.String())))
		}
		counts := with()
		for i, n := range metricset.ShadowCounts(sh) {
			o.ObserveInt64(r.shadowCounts[i], toInt64(n.N), counts)
		}
	}
}

// oneIf is the value of a 0-or-1 gauge.
func oneIf(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// toInt64 converts a count, saturating where int64 ends.
func toInt64(n uint64) int64 { return int64(min(n, math.MaxInt64)) }
