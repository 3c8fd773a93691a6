package prombreaker

import (
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/metricset"
)

// groupLabel is the label of a group's detector's series.
const groupLabel = "group"

// DefaultNamespace prefixes the metric names when Opts.Namespace is empty.
const DefaultNamespace = "tripwire"

// Breaker is a breaker whose metrics the collector exports.
// *breaker.Breaker[T] implements it for every T.
type Breaker interface {
	Metrics() breaker.Metrics
}

// Group is a changing set of breakers whose metrics the collector exports:
// every breaker the set holds at the time of each scrape.
// *group.Group[K, T] implements it for every K and T. A Group that is also
// a breaker.CircuitSet, as *group.Group is, is read through its Circuits,
// so that its breakers' shadow candidates are exported too.
type Group interface {
	Metrics() iter.Seq[breaker.Metrics]
}

// OutlierSource is a group's outlier detector whose counts the collector
// exports, under a name given to [Collector.AddOutliers].
// *group.Group[K, T] implements it for every K and T.
type OutlierSource interface {
	OutlierStats() group.OutlierStats
}

// Opts configures a [Collector]. The zero value is valid.
type Opts struct {
	// Namespace is the first part of every metric name. Empty means
	// DefaultNamespace, "tripwire".
	Namespace string
	// ConstLabels are added to every metric, for instance to tell apart
	// several collectors registered with one registry.
	ConstLabels prometheus.Labels
}

// ErrDuplicateName is wrapped by the error of [NewCollector] and
// [Collector.Add] when a breaker has the name of one already exported.
var ErrDuplicateName = errors.New("prombreaker: a breaker with this name is already exported")

// ErrDuplicateGroupName is wrapped by the error of [Collector.AddOutliers]
// when a group's detector is already exported under the name given. Group
// names are apart from breaker names: a group may share its name with a
// breaker.
var ErrDuplicateGroupName = errors.New("prombreaker: a group's outlier detector with this name is already exported")

// Collector is a prometheus.Collector of breaker metrics: register it with
// a registry, add breakers and groups, and every scrape reads their
// [breaker.Metrics]. It holds no copy of them between scrapes. Build one with
// [NewCollector]; the zero value is not usable. It is safe for concurrent
// use.
//
// Each breaker's series carry its name in the label "breaker", so each name
// is exported once. Add refuses a breaker whose name is taken. A group's
// breakers are named at each scrape, so there a name already exported (by
// a breaker added, an earlier group, or the same group added twice) is left
// out of the scrape and counted in tripwire_breaker_name_collisions: the
// scrape goes on, with every other metric of the registry. Names that are
// not valid UTF-8 are exported with U+FFFD in place of the invalid bytes.
// The call counts are exported only for breakers built with
// Config.CountCalls.
//
// A shadow-only breaker (Config.ShadowOnly) rejects nothing: its state and
// opens are what it would have done. It is exported with
// tripwire_breaker_shadow_only 1 and tripwire_breaker_would_reject_total
// (the calls it would have rejected), which other breakers do not have;
// keep it out of alerts on opens with "unless on(breaker)
// tripwire_breaker_shadow_only == 1".
//
// A breaker's shadow candidates (Config.Shadows, as Breaker.Shadows reports
// them) are exported as the tripwire_shadow_* series, labelled with the
// breaker's name and the candidate's ("candidate"): what a breaker with the
// candidate's settings would have done on the calls the live breaker let
// run. The collector finds them on every breaker that has a method
// Shadows() []breaker.ShadowStatus, as *breaker.Breaker[T] does: breakers
// added, a group's (a Group that is also a breaker.CircuitSet, as
// *group.Group is, is read through its Circuits) and a registry's. A
// breaker has at most breaker.MaxShadows candidates, each name once, so a
// breaker adds at most that many candidates' series; a breaker left out
// for its name is left out with its candidates.
//
// A group's outlier detector is exported under a name given to
// AddOutliers, as the tripwire_group_outlier_* series labelled "group".
type Collector struct {
	state, mode, since, probes, calls, collisions, lastTrip *prometheus.Desc
	shadowOnly, wouldReject                                 *prometheus.Desc
	opens                                                   [4]*prometheus.Desc // by metricset.OpenCounts
	shadowState                                             *prometheus.Desc
	shadowCounts                                            [5]*prometheus.Desc // by metricset.ShadowCounts
	outlierShadow                                           *prometheus.Desc
	outlierCounts                                           [3]*prometheus.Desc // by metricset.OutlierCounts
	set                                                     metricset.Set
	outliers                                                metricset.Outliers
}

// NewCollector returns a collector configured by opts, exporting the given
// breakers; add more with Add and AddGroup. It fails, with an error wrapping
// ErrDuplicateName, when two of the breakers have one name.
func NewCollector(opts Opts, breakers ...Breaker) (*Collector, error) {
	ns := opts.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "breaker", name), help,
			append([]string{"breaker"}, labels...), opts.ConstLabels)
	}
	c := &Collector{
		state: desc("state",
			"Whether the circuit is in the state of the label (1) or not (0).", "state"),
		since: desc("state_since_timestamp_seconds",
			"When the circuit entered its current state, in seconds since the Unix epoch."),
		mode: desc("mode",
			"Whether the manual mode of the label is in force (1) or not (0): none, forced-open (ForceOpen) or disabled (Disable).", "mode"),
		probes: desc("probes_in_flight",
			"Half-open probe calls running now."),
		calls: desc("calls_total",
			"Calls by outcome: success, failure and ignored for calls that ran, rejected for calls refused while open. Only for breakers that count calls.", "outcome"),
		lastTrip: desc("last_trip_rule",
			"1 for the rule of the policy that decided the circuit's last trip (rule: consecutive, window, rate, lastn, slow, when, all, or a custom policy's; path: which child of Any or All, empty otherwise). Absent before the first trip. The full account is in the transition's evidence.", "rule", "path"),
		collisions: desc("name_collisions",
			"Breakers of a group left out of this scrape because a breaker with the same name was exported first."),
		shadowOnly: desc("shadow_only",
			"1 for a shadow-only breaker (Config.ShadowOnly), which rejects nothing: its state and opens are what it would have done. Absent for the others."),
		wouldReject: desc("would_reject_total",
			"Calls a shadow-only breaker would have rejected, which ran all the same. Absent for the others."),
	}
	for i, o := range metricset.OpenCounts(breaker.Metrics{}) {
		c.opens[i] = desc(o.Name+"_total", o.Help)
	}
	// A candidate's series are a breaker's words under the subsystem
	// "shadow": tripwire_shadow_trips_total counts what
	// tripwire_breaker_trips_total would have, had the candidate been live.
	shadow := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "shadow", name), help,
			append([]string{"breaker", "candidate"}, labels...), opts.ConstLabels)
	}
	c.shadowState = shadow("state",
		"Whether the shadow candidate is in the state of the label (1) or not (0): the state a breaker with its settings would be in.", "state")
	for i, o := range metricset.ShadowCounts(breaker.ShadowStatus{}) {
		c.shadowCounts[i] = shadow(o.Name+"_total", o.Help)
	}
	// A group's detector is named by the user, under the subsystem
	// "group": tripwire_group_outlier_ejected_total{group="hosts"}.
	outlier := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "group", "outlier_"+name), help,
			[]string{groupLabel}, opts.ConstLabels)
	}
	// A collector whose ConstLabels has "group" was valid before detectors
	// were exported: it stays so, without them (AddOutliers says why).
	if _, taken := opts.ConstLabels[groupLabel]; !taken {
		c.outlierShadow = outlier("shadow",
			"1 when the group's outlier detector runs in shadow (Outliers.Shadow): it opens nothing, and its ejections are those it would have made; 0 when it enforces.")
		for i, o := range metricset.OutlierCounts(group.OutlierStats{}) {
			c.outlierCounts[i] = outlier(o.Name+"_total", o.Help)
		}
	}
	if err := c.Add(breakers...); err != nil {
		return nil, err
	}
	return c, nil
}

// Add makes the collector export breakers too. A breaker whose name is
// already exported by the collector (given to NewCollector or Add) is left
// out, and the error, wrapping ErrDuplicateName, names it; the others are
// added all the same.
func (c *Collector) Add(breakers ...Breaker) error {
	var errs []error
	for _, b := range breakers {
		if !c.set.Add(b) {
			errs = append(errs, fmt.Errorf("%w: %q", ErrDuplicateName, metricset.Name(b.Metrics())))
		}
	}
	return errors.Join(errs...)
}

// AddRegistry makes the collector export every circuit of r, as r lists
// them at each scrape: the registry the console reads, so that the two show
// the same circuits. A circuit whose name is already exported is left out
// and counted in tripwire_breaker_name_collisions, as for a group.
func (c *Collector) AddRegistry(r *breaker.Registry) {
	if r != nil {
		c.set.AddGroup(metricset.Registry{R: r})
	}
}

// AddGroup makes the collector export every breaker in g, as it is at each
// scrape. A breaker of g whose name is already exported is left out and
// counted in tripwire_breaker_name_collisions{breaker="<name>"}.
func (c *Collector) AddGroup(g Group) { c.set.AddGroup(g) }

// AddOutliers makes the collector export the counts of g's outlier
// detector (as g.OutlierStats reads them at each scrape) under name, in the
// label "group": a group has no name of its own, and its breakers' series
// (AddGroup) say nothing of the detector. A group without a detector is
// exported with zero counts. It fails when name is empty, when g is nil,
// or when a detector is already exported under name (the error wraps
// ErrDuplicateGroupName). Names that are not valid UTF-8 are exported with
// U+FFFD in place of the invalid bytes, and checked for duplicates so. A
// collector whose Opts.ConstLabels has the label "group" exports no
// detector: AddOutliers fails with an error that says so.
func (c *Collector) AddOutliers(name string, g OutlierSource) error {
	if c.outlierShadow == nil {
		return fmt.Errorf("prombreaker: AddOutliers(%q): Opts.ConstLabels has the label %q, which the detector's series need", name, groupLabel)
	}
	name, err := c.outliers.Add(name, g)
	switch {
	case errors.Is(err, metricset.ErrDuplicateGroup):
		return fmt.Errorf("%w: %q", ErrDuplicateGroupName, name)
	case err != nil:
		return fmt.Errorf("prombreaker: AddOutliers(%q): %w", name, err)
	}
	return nil
}

// Describe sends the descriptions of every metric the collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.state, c.mode, c.since, c.probes, c.calls, c.collisions, c.lastTrip, c.shadowOnly, c.wouldReject} {
		ch <- d
	}
	for _, d := range c.opens {
		ch <- d
	}
	ch <- c.shadowState
	for _, d := range c.shadowCounts {
		ch <- d
	}
	if c.outlierShadow == nil {
		return
	}
	ch <- c.outlierShadow
	for _, d := range c.outlierCounts {
		ch <- d
	}
}

// Collect sends the metrics of every breaker and of its shadow candidates,
// read now, the count of breakers left out because their name was taken,
// and the counts of every group's outlier detector added with AddOutliers.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, x := range c.set.Collect(func(m breaker.Metrics, shadows []breaker.ShadowStatus) {
		c.collect(ch, m)
		c.collectShadows(ch, m.Name, shadows)
	}) {
		ch <- prometheus.MustNewConstMetric(c.collisions, prometheus.GaugeValue, float64(x.Extra), x.Name)
	}
	for _, o := range c.outliers.List() {
		st := o.Src.OutlierStats()
		ch <- prometheus.MustNewConstMetric(c.outlierShadow, prometheus.GaugeValue, oneIf(st.Shadow), o.Name)
		for i, n := range metricset.OutlierCounts(st) {
			ch <- prometheus.MustNewConstMetric(c.outlierCounts[i], prometheus.CounterValue, float64(n.N), o.Name)
		}
	}
}

func (c *Collector) collect(ch chan<- prometheus.Metric, m breaker.Metrics) {
	for _, s := range metricset.States {
		ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, oneIf(m.State == s), m.Name, s.String())
	}
	for _, md := range metricset.Modes {
		ch <- prometheus.MustNewConstMetric(c.mode, prometheus.GaugeValue, oneIf(m.Mode == md), m.Name, md.String())
	}
	ch <- prometheus.MustNewConstMetric(c.since, prometheus.GaugeValue, float64(m.Since.UnixNano())/1e9, m.Name)
	for i, o := range metricset.OpenCounts(m) {
		ch <- prometheus.MustNewConstMetric(c.opens[i], prometheus.CounterValue, float64(o.N), m.Name)
	}
	ch <- prometheus.MustNewConstMetric(c.probes, prometheus.GaugeValue, float64(m.ProbesInFlight), m.Name)
	if m.ShadowOnly {
		ch <- prometheus.MustNewConstMetric(c.shadowOnly, prometheus.GaugeValue, 1, m.Name)
		ch <- prometheus.MustNewConstMetric(c.wouldReject, prometheus.CounterValue, float64(m.WouldReject), m.Name)
	}
	if m.TripRule != "" {
		// Rule and path come from the policy's shape, never from a call:
		// a bounded label set (an error's text never is one).
		ch <- prometheus.MustNewConstMetric(c.lastTrip, prometheus.GaugeValue, 1, m.Name,
			strings.ToValidUTF8(m.TripRule, "\uFFFD"), strings.ToValidUTF8(m.TripPath, "\uFFFD"))
	}
	if !m.Counted {
		return
	}
	for _, n := range metricset.Counts(m) {
		ch <- prometheus.MustNewConstMetric(c.calls, prometheus.CounterValue, float64(n.N), m.Name, n.Outcome)
	}
}

// collectShadows sends the series of the shadow candidates of the breaker
// named name.
func (c *Collector) collectShadows(ch chan<- prometheus.Metric, name string, shadows []breaker.ShadowStatus) {
	for _, sh := range shadows {
		for _, s := range metricset.States {
			ch <- prometheus.MustNewConstMetric(c.shadowState, prometheus.GaugeValue, oneIf(sh.State == s), name, sh.Name, s.String())
		}
		for i, n := range metricset.ShadowCounts(sh) {
			ch <- prometheus.MustNewConstMetric(c.shadowCounts[i], prometheus.CounterValue, float64(n.N), name, sh.Name)
		}
	}
}

// oneIf is the value of a 0-or-1 gauge.
func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
