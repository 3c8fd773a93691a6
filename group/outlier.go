package group

import (
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// Outlier detection compares each key with its siblings, as Envoy's outlier
// detection does (its cluster OutlierDetection: interval,
// success_rate_minimum_hosts, success_rate_request_volume,
// success_rate_stdev_factor, failure_percentage_threshold,
// failure_percentage_minimum_hosts, failure_percentage_request_volume,
// max_ejection_percent; the defaults below are Envoy's). Two departures, both
// so that a whole-service outage is left to the per-key policies: the
// failure-rate test needs at least one judged key under its threshold (Envoy
// ejects every host above it, up to its cap), and no key stands out when
// every judged key has the same rate (a standard deviation that rounding
// made non-zero does not count). With Outliers.EjectForget, ejections
// remember, as Envoy's do: each lasts longer than the key's last one, and
// the key's record is forgiven while it stays healthy.

// Defaults of [Outliers], [SuccessRateTest] and [FailureRateTest], Envoy's.
const (
	// DefaultOutlierInterval is the time between two evaluations.
	DefaultOutlierInterval = 10 * time.Second
	// DefaultMaxEjectedShare is the most of the group's keys that may be
	// open when the detector opens one more (at least one, whatever the
	// share).
	DefaultMaxEjectedShare = 0.1
	// DefaultSuccessRateMinVolume is the calls a key must finish in an
	// interval to be judged by the success-rate test.
	DefaultSuccessRateMinVolume = 100
	// DefaultFailureRateMinVolume is the calls a key must finish in an
	// interval to be judged by the failure-rate test.
	DefaultFailureRateMinVolume = 50
	// DefaultMinKeys is the keys that must be judged for a test to run.
	DefaultMinKeys = 5
	// DefaultStdevFactor is how many standard deviations below the mean
	// success rate a key must fall to stand out.
	DefaultStdevFactor = 1.9
	// DefaultFailureThreshold is the failure rate at which the
	// failure-rate test finds a key an outlier.
	DefaultFailureThreshold = 0.85
)

// Outliers configures outlier detection: see [Config.Outliers]. At least
// one of SuccessRate and FailureRate must be set. Zero fields mean their
// documented defaults.
type Outliers struct {
	// Interval is the least time between two evaluations; each judges the
	// calls finished since the one before. 0 means DefaultOutlierInterval
	// (10s); negative is invalid.
	Interval time.Duration
	// SuccessRate, if set, runs the success-rate test: a key whose success
	// rate is below the mean of the judged keys by more than StdevFactor
	// standard deviations is an outlier.
	SuccessRate *SuccessRateTest
	// FailureRate, if set, runs the failure-rate test: a key whose failure
	// rate is at least Threshold is an outlier, if at least one judged key
	// is below it.
	FailureRate *FailureRateTest
	// EjectFor is how long the detector opens an outlier's circuit; then
	// it goes half-open and its probes decide, as after any open period.
	// 0 means the key's own first open period (its Config.OpenTimeout);
	// negative is invalid.
	EjectFor time.Duration
	// EjectForget, when positive, makes ejections remember, as Envoy's
	// (base_ejection_time times the ejections, shortened while the host
	// stays healthy) and breaker.Backoff.Forget do: a key's ejection lasts
	// EjectFor × (n+1), at most DefaultMaxEjectFactor × EjectFor, where n
	// counts its earlier ejections less one forgiven per whole EjectForget
	// since the last of them ended. A key that is ejected again soon after
	// it came back stays out longer each time; one that stays healthy
	// sheds its record. 0 means every ejection lasts EjectFor; negative is
	// invalid.
	EjectForget time.Duration
	// MaxEjectedShare bounds what the detector does: it opens a key only
	// while fewer than this share of the group's keys are open, whatever
	// opened them (at least one key may always be opened by it, as in
	// Envoy's max_ejection_percent). 0 means DefaultMaxEjectedShare (10%);
	// it must be at most 1. The group's own cap (Config.MaxOpenShare)
	// applies too.
	MaxEjectedShare float64
}

// SuccessRateTest configures the success-rate test of [Outliers].
type SuccessRateTest struct {
	// MinVolume is the calls a key must finish in an interval to be judged
	// (and to count in the mean). 0 means DefaultSuccessRateMinVolume (100).
	MinVolume int
	// MinKeys is the keys that must be judged for the test to run. 0 means
	// DefaultMinKeys (5).
	MinKeys int
	// StdevFactor is how many standard deviations below the mean success
	// rate a key must fall to stand out. 0 means DefaultStdevFactor (1.9).
	StdevFactor float64
}

// FailureRateTest configures the failure-rate test of [Outliers].
type FailureRateTest struct {
	// MinVolume is the calls a key must finish in an interval to be
	// judged. 0 means DefaultFailureRateMinVolume (50).
	MinVolume int
	// MinKeys is the keys that must be judged for the test to run. 0 means
	// DefaultMinKeys (5).
	MinKeys int
	// Threshold is the failure rate, in (0, 1], at which a key is an
	// outlier. 0 means DefaultFailureThreshold (0.85).
	Threshold float64
}

// Outlier is a key that the detector found standing out from its siblings:
// see [Group.DetectOutliers] and Config.OnOutlier.
type Outlier[K comparable] struct {
	// Key is the key.
	Key K
	// Test is the test that found it: "success-rate" or "failure-rate".
	Test string
	// Calls is the calls the key finished during the interval, and
	// FailureRate the share of them that failed.
	Calls       uint64
	FailureRate float64
	// Mean is the mean failure rate of the keys judged (those with enough
	// calls), and Keys their number. Threshold is the failure rate above
	// which the success-rate test finds a key an outlier (mean failure
	// rate plus StdevFactor standard deviations), or at which the
	// failure-rate test does (its Threshold).
	Mean, Threshold float64
	Keys            int
	// Opened reports whether the detector opened the key's circuit. It
	// did not when the group's cap or MaxEjectedShare had no room (the key
	// is then listed by [Group.KeptClosed] when the cap refused it), or
	// when the circuit was no longer closed.
	Opened bool
	// At is when the evaluation ran, on the group's clock.
	At time.Time
}

// String describes o in one line, for logs.
func (o Outlier[K]) String() string {
	verdict := "opened"
	if !o.Opened {
		verdict = "kept closed"
	}
	return o.Test + " outlier, " + verdict + ": " + strconv.FormatUint(o.Calls, 10) + " calls, " +
		pct(o.FailureRate) + " failed; threshold " + pct(o.Threshold) + ", mean " + pct(o.Mean) +
		" over " + strconv.Itoa(o.Keys) + " keys"
}

// why is the evidence of the transition that opens o's circuit.
func (o Outlier[K]) why() string {
	return o.Test + " outlier: " + strconv.FormatUint(o.Calls, 10) + " calls, " + pct(o.FailureRate) +
		" failed; threshold " + pct(o.Threshold) + ", mean " + pct(o.Mean) + " over " + strconv.Itoa(o.Keys) + " keys"
}

func pct(r float64) string { return strconv.FormatFloat(r*100, 'f', 1, 64) + "%" }

// detector is the state of outlier detection.
type detector struct {
	cfg Outliers // defaults filled in

	// next is when the next evaluation is due (a time.Time, so that real
	// time compares on the monotonic clock). Get reads it on a group with
	// a Clock of the user's; on one that reads real time, Get reads due,
	// the flag a timer raises, so that it reads one atomic and no clock.
	// Written only with mu held.
	next atomic.Pointer[time.Time]
	due  atomic.Bool

	mu    sync.Mutex // held by the one goroutine evaluating
	timer *time.Timer
}

// validate checks o and fills in its defaults.
func (o *Outliers) validate() *ConfigError {
	bad := func(field, problem string) *ConfigError {
		return &ConfigError{Field: "Outliers." + field, problem: problem}
	}
	switch {
	case o.SuccessRate == nil && o.FailureRate == nil:
		return bad("SuccessRate", "and Outliers.FailureRate are both nil; set at least one test")
	case o.Interval < 0:
		return bad("Interval", "must not be negative, got "+o.Interval.String())
	case o.EjectFor < 0:
		return bad("EjectFor", "must not be negative, got "+o.EjectFor.String())
	case o.EjectForget < 0:
		return bad("EjectForget", "must not be negative, got "+o.EjectForget.String())
	case !(o.MaxEjectedShare >= 0 && o.MaxEjectedShare <= 1):
		return bad("MaxEjectedShare", "must be in [0, 1], got "+strconv.FormatFloat(o.MaxEjectedShare, 'g', -1, 64))
	}
	if o.Interval == 0 {
		o.Interval = DefaultOutlierInterval
	}
	if o.MaxEjectedShare == 0 {
		o.MaxEjectedShare = DefaultMaxEjectedShare
	}
	if s := o.SuccessRate; s != nil {
		c := *s
		switch {
		case c.MinVolume < 0:
			return bad("SuccessRate.MinVolume", "must not be negative, got "+strconv.Itoa(c.MinVolume))
		case c.MinKeys < 0:
			return bad("SuccessRate.MinKeys", "must not be negative, got "+strconv.Itoa(c.MinKeys))
		case !(c.StdevFactor >= 0) || math.IsInf(c.StdevFactor, 0):
			return bad("SuccessRate.StdevFactor", "must be a finite number, not negative, got "+strconv.FormatFloat(c.StdevFactor, 'g', -1, 64))
		}
		c.MinVolume = cmpOr(c.MinVolume, DefaultSuccessRateMinVolume)
		c.MinKeys = cmpOr(c.MinKeys, DefaultMinKeys)
		if c.StdevFactor == 0 {
			c.StdevFactor = DefaultStdevFactor
		}
		o.SuccessRate = &c
	}
	if f := o.FailureRate; f != nil {
		c := *f
		switch {
		case c.MinVolume < 0:
			return bad("FailureRate.MinVolume", "must not be negative, got "+strconv.Itoa(c.MinVolume))
		case c.MinKeys < 0:
			return bad("FailureRate.MinKeys", "must not be negative, got "+strconv.Itoa(c.MinKeys))
		case !(c.Threshold >= 0 && c.Threshold <= 1):
			return bad("FailureRate.Threshold", "must be in (0, 1], got "+strconv.FormatFloat(c.Threshold, 'g', -1, 64))
		}
		c.MinVolume = cmpOr(c.MinVolume, DefaultFailureRateMinVolume)
		c.MinKeys = cmpOr(c.MinKeys, DefaultMinKeys)
		if c.Threshold == 0 {
			c.Threshold = DefaultFailureThreshold
		}
		o.FailureRate = &c
	}
	return nil
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// startDetector schedules the first evaluation, one interval from now.
func (g *Group[K, T]) startDetector(now time.Time) {
	d := g.detect
	next := now.Add(d.cfg.Interval)
	d.next.Store(&next)
	if g.clock == nil {
		d.timer = time.AfterFunc(d.cfg.Interval, func() { d.due.Store(true) })
	}
}

// detectDue reports whether an evaluation is due. With real time it is one
// atomic load: a timer, armed once per evaluation, raises the flag; it
// runs no user code and leaves nothing running once it has fired.
func (g *Group[K, T]) detectDue() bool {
	d := g.detect
	if g.clock == nil {
		return d.due.Load()
	}
	return !g.clock.Now().Before(*d.next.Load())
}

// DetectOutliers runs the outlier detector now if Config.Outliers is set
// and an interval has passed since its last evaluation, and returns the
// outliers it found, opened or not. Get runs it too, when it is due: call it
// when the group may see no Get for a while, or on a virtual clock. It
// returns nil when there is nothing to do, and at once when another
// goroutine is evaluating. It runs with no lock of the group held while it
// opens circuits and calls Config.OnOutlier.
func (g *Group[K, T]) DetectOutliers() []Outlier[K] {
	d := g.detect
	if d == nil {
		return nil
	}
	found, open, keys, now := g.evaluate()
	// MaxEjectedShare counts open keys whatever opened them, as Envoy's
	// max_ejection_percent counts every ejection; at least one may open.
	most := max(int(math.Floor(d.cfg.MaxEjectedShare*float64(keys)+1e-9)), 1)
	for i := range found {
		o := &found[i]
		if open < most && g.eject(o.Key, now, o.why()) {
			o.Opened = true
			open++
		}
		if g.onOutlier != nil {
			g.onOutlier(*o)
		}
	}
	return found
}

// evaluate judges the keys if an evaluation is due, and returns the
// outliers with the counts of open keys and of keys, and the time. It holds
// the detector's mutex, and calls no user code but the Clock.
func (g *Group[K, T]) evaluate() (found []Outlier[K], open, keys int, now time.Time) {
	d := g.detect
	if !d.mu.TryLock() {
		return
	}
	defer d.mu.Unlock()
	now = g.now()
	if next := *d.next.Load(); now.Before(next) {
		if d.timer != nil && d.due.Load() {
			// Called early, or the timer ran ahead of the clock: lower
			// the flag, or every Get would come here until next.
			d.due.Store(false)
			d.timer.Reset(next.Sub(now))
		}
		return
	}
	next := now.Add(d.cfg.Interval)
	d.next.Store(&next)
	if d.timer != nil {
		d.due.Store(false)
		d.timer.Reset(d.cfg.Interval)
	}
	found, open, keys = g.judge(now)
	return found, open, keys, now
}

// sample is one key's calls during an interval.
type sample[K comparable, T any] struct {
	key        K
	e          *entry[T]
	calls      uint64
	failRate   float64
	candidate  bool // closed with no manual mode: the detector may open it
	successRaw uint64
}

// judge reads the counts of every key and returns the outliers, worst
// first, with the number of keys whose circuit is not closed and of all
// keys. Called with the detector's mutex held.
func (g *Group[K, T]) judge(now time.Time) (out []Outlier[K], open, keys int) {
	g.mu.Lock()
	entries := make(map[K]*entry[T], len(g.all))
	for k, e := range g.all {
		entries[k] = e
	}
	g.mu.Unlock()

	samples := make([]sample[K, T], 0, len(entries))
	for k, e := range entries {
		m := e.b.Metrics()
		// Counts only grow; a key counted from zero is new.
		ds, df := m.Successes-e.mark.successes, m.Failures-e.mark.failures
		e.mark.successes, e.mark.failures = m.Successes, m.Failures
		s := sample[K, T]{key: k, e: e, calls: ds + df, successRaw: ds,
			candidate: m.State == breaker.Closed && m.Mode == breaker.ModeNone}
		if s.calls > 0 {
			s.failRate = float64(df) / float64(s.calls)
		}
		samples = append(samples, s)
		if m.State != breaker.Closed {
			open++
		}
	}

	seen := map[K]bool{}
	if t := g.detect.cfg.SuccessRate; t != nil {
		judged := volume(samples, t.MinVolume)
		if len(judged) >= t.MinKeys && spread(judged) {
			mean, sd := meanStdev(judged)
			threshold := mean + t.StdevFactor*sd
			for _, s := range judged {
				if s.candidate && s.failRate > threshold {
					seen[s.key] = true
					out = append(out, Outlier[K]{Key: s.key, Test: "success-rate", Calls: s.calls,
						FailureRate: s.failRate, Mean: mean, Threshold: threshold, Keys: len(judged), At: now})
				}
			}
		}
	}
	if t := g.detect.cfg.FailureRate; t != nil {
		judged := volume(samples, t.MinVolume)
		below := slices.ContainsFunc(judged, func(s sample[K, T]) bool { return s.failRate < t.Threshold })
		if len(judged) >= t.MinKeys && below {
			mean, _ := meanStdev(judged)
			for _, s := range judged {
				if s.candidate && s.failRate >= t.Threshold && !seen[s.key] {
					out = append(out, Outlier[K]{Key: s.key, Test: "failure-rate", Calls: s.calls,
						FailureRate: s.failRate, Mean: mean, Threshold: t.Threshold, Keys: len(judged), At: now})
				}
			}
		}
	}
	// Worst first, so that a cap with room for a few opens the worst.
	slices.SortStableFunc(out, func(a, b Outlier[K]) int {
		if a.FailureRate != b.FailureRate {
			if a.FailureRate > b.FailureRate {
				return -1
			}
			return 1
		}
		return 0
	})
	return out, open, len(samples)
}

// volume returns the samples with at least min calls.
func volume[K comparable, T any](samples []sample[K, T], min int) []sample[K, T] {
	var out []sample[K, T]
	for _, s := range samples {
		if s.calls >= uint64(min) && s.calls > 0 {
			out = append(out, s)
		}
	}
	return out
}

// spread reports whether the samples' failure rates are not all equal. Keys
// that fail alike do not stand out, even when rounding gives their rates a
// standard deviation that is not quite zero.
func spread[K comparable, T any](samples []sample[K, T]) bool {
	for _, s := range samples[1:] {
		if s.failRate != samples[0].failRate {
			return true
		}
	}
	return false
}

// meanStdev returns the mean of the samples' failure rates and their
// standard deviation (of the population, as Envoy computes it).
func meanStdev[K comparable, T any](samples []sample[K, T]) (mean, sd float64) {
	for _, s := range samples {
		mean += s.failRate
	}
	mean /= float64(len(samples))
	for _, s := range samples {
		d := s.failRate - mean
		sd += d * d
	}
	return mean, math.Sqrt(sd / float64(len(samples)))
}

// eject opens the circuit of an outlier, if it is still held and closed
// with no manual mode, and the cap has room; why is the evidence of its
// transition. It reports whether it opened it.
func (g *Group[K, T]) eject(key K, now time.Time, why string) bool {
	g.mu.Lock()
	e := g.all[key]
	g.mu.Unlock()
	if e == nil {
		return false
	}
	if m := e.b.Metrics(); m.State != breaker.Closed || m.Mode != breaker.ModeNone {
		return false
	}
	if c := g.cap; c != nil {
		c.mu.Lock()
		if e.mark.out {
			c.mu.Unlock()
			return false
		}
		if !c.takeLocked(&e.mark) {
			c.refusedLocked(key, "outlier", now, c.held)
			c.mu.Unlock()
			return false
		}
		delete(c.kept, key)
		c.mu.Unlock()
	}
	d := g.detect.cfg.EjectFor
	if d == 0 {
		d = e.b.OpenTiming().Timeout
	}
	d = g.rememberEjection(e, d, now)
	e.b.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: d, Who: "group outlier detection", Why: why})
	return true
}
