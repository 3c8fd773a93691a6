package group

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
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
// made non-zero does not count). A third, so that healthy keys are not
// opened on chance: the success-rate test also asks that a key's failures
// be more than binomial noise at its volume (SuccessRateTest.NoiseFactor).
// With Outliers.EjectForget, ejections remember, as Envoy's do: each lasts
// longer than the key's last one, and the key's record is forgiven while
// it stays healthy. With Outliers.Shadow the detector decides and reports,
// and opens nothing.

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
	// DefaultNoiseFactor is how many standard deviations of binomial
	// noise, at a key's own volume, its failure rate must exceed the mean
	// by to stand out in the success-rate test. Not Envoy's: see
	// SuccessRateTest.NoiseFactor.
	DefaultNoiseFactor = 4
	// NoNoiseTest, as SuccessRateTest.NoiseFactor, turns the noise test
	// off: the success-rate test is then Envoy's.
	NoNoiseTest = -1
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
	// sheds its record. The record is the key's, not its breaker's: the
	// group keeps it while the key is evicted (for at most MaxBreakers
	// keys, until it is forgiven), and so does a detector in Shadow with
	// the ejections it would have made. 0 means every ejection lasts
	// EjectFor; negative is invalid.
	EjectForget time.Duration
	// MaxEjectedShare bounds what the detector does: it opens a key only
	// while fewer than this share of the group's keys are open, whatever
	// opened them (at least one key may always be opened by it, as in
	// Envoy's max_ejection_percent). Shadow-only keys, which reject
	// nothing, are left out of both counts. 0 means DefaultMaxEjectedShare (10%);
	// it must be at most 1. The group's own cap (Config.MaxOpenShare)
	// applies too.
	MaxEjectedShare float64
	// Shadow runs the detector observe-only, as Envoy's does with
	// enforcing_success_rate and enforcing_failure_percentage at 0: the
	// way to trial a detector, or new settings of one, on live traffic
	// before it acts. It judges every interval as it would if it
	// enforced, decides which outliers it would open and which the caps
	// (MaxEjectedShare, the group's MaxOpenShare and KeepOneClosed) would
	// keep closed, and reports them all (OnOutlier and DetectOutliers,
	// each marked Outlier.Shadow, with the evidence an opening would
	// carry; counted by [Group.OutlierStats]), but it opens no circuit
	// and changes nothing of any key's: every call goes as it would
	// without a detector. A key it would have opened counts as open, for
	// the caps and its next judgements, for as long as it would have been
	// (EjectFor, remembered with EjectForget), and its calls during that
	// time are not judged, as an open circuit's would not be made; then
	// it is judged again, where an enforcing detector's probes would have
	// decided. A key's own policy goes on deciding for it.
	Shadow bool
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
	// NoiseFactor makes the test ask, besides Envoy's question, whether
	// the key's failures are more than chance: its failure rate must
	// exceed the mean by more than NoiseFactor standard deviations of the
	// binomial noise of a key that fails at the mean rate, with the key's
	// own volume. Envoy's test alone compares a key with the spread of
	// its siblings, and when failures are rare that spread is mostly
	// noise: of ten healthy hosts failing 1% of 200 calls an interval,
	// one falls 1.9 deviations below the mean every few intervals, and is
	// ejected. The noise is measured on the arcsine scale, where a
	// binomial share of n calls has a standard deviation of 1/(2√n)
	// whatever its rate (so that rare failures, whose counts are skewed,
	// are judged fairly), and the key stands out only if
	// asin√(failure rate) − asin√(mean) > NoiseFactor/(2√calls). At the
	// default, 4, a healthy key stands out by chance in about 3 of
	// 100,000 judgements; a key failing 30% of 100 calls is 9.6
	// deviations from a mean of 1%. 0 means DefaultNoiseFactor;
	// NoNoiseTest (or any negative value) turns the noise test off.
	NoiseFactor float64
	// MinGap, if positive, is the least difference, in (0, 1], between a
	// key's failure rate and the mean for the key to stand out: a floor
	// for groups whose volume is so high that a key failing a tenth of a
	// point more than its siblings is no chance, and yet not worth an
	// ejection. 0 means no floor.
	MinGap float64
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
	// which the success-rate test finds this key an outlier (the mean
	// failure rate plus StdevFactor standard deviations, or plus the noise
	// test's margin at the key's volume, or plus MinGap, whichever is
	// highest), or at which the failure-rate test does (its Threshold).
	Mean, Threshold float64
	Keys            int
	// Opened reports whether the detector opened the key's circuit. It
	// did not when the group's cap or MaxEjectedShare had no room (the key
	// is then listed by [Group.KeptClosed] when the cap refused it), or
	// when the circuit was no longer closed, or changed (an operator's
	// action) between the detector's look and its open. In Shadow, it
	// reports whether the detector would have opened it: false when a cap
	// would have kept it closed (KeptClosed does not list it: nothing
	// asked).
	Opened bool
	// Shadow reports that the detector opened nothing for this key, and
	// that Opened says what it would have done: the detector runs in
	// shadow (Outliers.Shadow), or the key is shadow-only
	// (breaker.Config.ShadowOnly). A shadow-only key rejects nothing
	// whatever its circuit is, so the detector, enforcing or not, only
	// reports it, as one it would open (no cap applies to it: it would cut
	// nothing off); its calls are not judged while that ejection would
	// last, as a shadow detector's would-be ejections are not.
	Shadow bool
	// At is when the evaluation ran, on the group's clock.
	At time.Time
}

// String describes o in one line, for logs.
func (o Outlier[K]) String() string {
	verdict := "opened"
	switch {
	case o.Shadow && o.Opened:
		verdict = "would open (shadow)"
	case o.Shadow:
		verdict = "would be kept closed (shadow)"
	case !o.Opened:
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

	// What OutlierStats reports; written with mu held, read without.
	evaluations, found, ejected atomic.Uint64

	// afterStateRead, in tests, runs in eject between its read of the
	// breaker's state and its open.
	afterStateRead func()
}

// OutlierStats counts what a group's outlier detector did since the group
// was built: see [Group.OutlierStats].
type OutlierStats struct {
	// Shadow reports that the detector runs observe-only
	// (Outliers.Shadow): Ejected then counts what it would have opened.
	Shadow bool
	// Evaluations counts the intervals judged.
	Evaluations uint64
	// Found counts the outliers found, opened or not: a key that stands
	// out in three intervals counts three times.
	Found uint64
	// Ejected counts the outliers the detector opened, or in Shadow would
	// have opened; the others (Found − Ejected) a cap kept closed, or
	// were no longer closed when it came to open them.
	Ejected uint64
}

// OutlierStats returns the counts of the outlier detector: the zero
// OutlierStats without one. With Outliers.Shadow, compare its Ejected with
// what did open the keys (the Trips of their breakers' Metrics, read
// through [Group.Metrics]) to see what the detector would add before it
// enforces anything.
func (g *Group[K, T]) OutlierStats() OutlierStats {
	d := g.detect
	if d == nil {
		return OutlierStats{}
	}
	return OutlierStats{Shadow: d.cfg.Shadow, Evaluations: d.evaluations.Load(),
		Found: d.found.Load(), Ejected: d.ejected.Load()}
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
		case math.IsNaN(c.NoiseFactor) || math.IsInf(c.NoiseFactor, 0):
			return bad("SuccessRate.NoiseFactor", "must be a finite number, got "+strconv.FormatFloat(c.NoiseFactor, 'g', -1, 64))
		case !(c.MinGap >= 0 && c.MinGap <= 1):
			return bad("SuccessRate.MinGap", "must be in [0, 1], got "+strconv.FormatFloat(c.MinGap, 'g', -1, 64))
		}
		c.MinVolume = cmpOr(c.MinVolume, DefaultSuccessRateMinVolume)
		c.MinKeys = cmpOr(c.MinKeys, DefaultMinKeys)
		if c.StdevFactor == 0 {
			c.StdevFactor = DefaultStdevFactor
		}
		if c.NoiseFactor == 0 {
			c.NoiseFactor = DefaultNoiseFactor
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
	now, next := g.clock.Now(), *d.next.Load()
	// Before the last evaluation: the clock went back, and evaluate starts
	// the interval again from now, rather than wait for the clock to catch
	// up with next.
	return !now.Before(next) || now.Before(next.Add(-d.cfg.Interval))
}

// DetectOutliers runs the outlier detector now if Config.Outliers is set
// and an interval has passed since its last evaluation, and returns the
// outliers it found, opened or not (in Outliers.Shadow, that it would have
// opened or not). Get runs it too, when it is due: call it
// when the group may see no Get for a while, or on a virtual clock. It
// returns nil when there is nothing to do, and at once when another
// goroutine is evaluating. It runs with no lock of the group held while it
// opens circuits and calls Config.OnOutlier. It opens (and counts) every
// outlier it opens before it reports any; if OnOutlier, or a callback of a
// circuit it opens, panics, the panic goes on up once every outlier has
// been opened, counted and reported.
func (g *Group[K, T]) DetectOutliers() []Outlier[K] {
	d := g.detect
	if d == nil {
		return nil
	}
	found, open, keys, now := g.evaluate()
	most := d.mostEjected(keys)
	// Every outlier is decided and counted before any is reported, and a
	// panic (of OnOutlier, or of a breaker callback that an opening runs)
	// goes on up only once all are: one panicking callback must not leave
	// the other outliers unopened, uncounted or unreported (in shadow,
	// evaluate has noted them as ejected already).
	var p panicked
	for i := range found {
		o := &found[i]
		// In shadow, evaluate has decided.
		if !o.Shadow && open < most {
			p.run(func() { g.eject(o.Key, now, o.why(), &o.Opened) })
			open += b2i(o.Opened)
		}
		d.found.Add(1)
		if o.Opened {
			d.ejected.Add(1)
		}
	}
	if g.onOutlier != nil {
		for _, o := range found {
			p.run(func() { g.onOutlier(o) })
		}
	}
	p.repanic()
	return found
}

// panicked keeps the first panic of the calls it runs, so that the calls
// after it run too; repanic sends it on up.
type panicked struct {
	ok    bool
	value any
}

func (p *panicked) run(f func()) {
	defer func() {
		if v := recover(); v != nil && !p.ok {
			p.ok, p.value = true, v
		}
	}()
	f()
}

func (p *panicked) repanic() {
	if p.ok {
		panic(p.value)
	}
}

// mostEjected returns how many of keys keys may be open when the detector
// opens one more. MaxEjectedShare counts open keys whatever opened them, as
// Envoy's max_ejection_percent counts every ejection; at least one may
// open.
func (d *detector) mostEjected(keys int) int {
	return max(int(math.Floor(d.cfg.MaxEjectedShare*float64(keys)+1e-9)), 1)
}

// evaluate judges the keys if an evaluation is due, and returns the
// outliers with the counts of open keys and of keys, and the time; in
// shadow, it also decides which it would open. It holds the detector's
// mutex, and calls no user code but the Clock.
func (g *Group[K, T]) evaluate() (found []Outlier[K], open, keys int, now time.Time) {
	d := g.detect
	if !d.mu.TryLock() {
		return
	}
	defer d.mu.Unlock()
	now = g.now()
	if next := *d.next.Load(); now.Before(next) {
		if now.Before(next.Add(-d.cfg.Interval)) { // the clock went back
			next = now.Add(d.cfg.Interval)
			d.next.Store(&next)
		}
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
	d.evaluations.Add(1)
	var es []*entry[T]
	var shadowHeld int
	found, es, open, shadowHeld, keys = g.judge(now)
	for i := range found {
		if es[i].shadowOnly {
			g.wouldEject(&found[i], es[i], now)
		}
	}
	if d.cfg.Shadow {
		g.shadowEject(found, es, open, shadowHeld, keys, now)
	}
	return found, open, keys, now
}

// shadowEject decides, for a detector in shadow, which of the outliers
// found (worst first, of entries es) it would open, as DetectOutliers and
// eject do with MaxEjectedShare and the group's cap, counting as open the
// keys it would have opened before (shadowHeld of them hold no place in
// the cap), and notes the ejections it would make. Called with the
// detector's mutex held.
func (g *Group[K, T]) shadowEject(found []Outlier[K], es []*entry[T], open, shadowHeld, keys int, now time.Time) {
	most := g.detect.mostEjected(keys)
	held, limit := 0, math.MaxInt
	if c := g.cap; c != nil {
		c.mu.Lock()
		held, limit = c.held+shadowHeld, c.limitFor(c.keys)
		c.mu.Unlock()
	}
	for i := range found {
		o, e := &found[i], es[i]
		if e.shadowOnly {
			continue // decided: it takes no place
		}
		o.Shadow = true
		if open >= most || held >= limit {
			continue
		}
		o.Opened = true
		open++
		held++
		g.rememberShadowEjection(e, now)
	}
}

// wouldEject reports o, an outlier whose key e is shadow-only, as one the
// detector would open, and notes that ejection as a shadow detector notes
// its own: the key rejects nothing whatever its circuit is, so an open
// would cut nothing off and the detector opens nothing, counts nothing as
// open and takes no place in the cap. Until the ejection would end, the
// key's calls are not judged, as they would not have been made. Called
// with the detector's mutex held.
func (g *Group[K, T]) wouldEject(o *Outlier[K], e *entry[T], now time.Time) {
	o.Shadow, o.Opened = true, true
	g.rememberShadowEjection(e, now)
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
// first, with their entries, the number of keys whose circuit is not
// closed and of all keys, shadow-only keys left out of both (they reject
// nothing: MaxEjectedShare bounds the share of the live keys cut off). In shadow, a key the detector would have opened
// and that would still be open counts as open (shadowHeld of those hold no
// place in the group's cap), is no candidate and is not judged. Called
// with the detector's mutex held.
func (g *Group[K, T]) judge(now time.Time) (out []Outlier[K], es []*entry[T], open, shadowHeld, keys int) {
	type held struct {
		k           K
		e           *entry[T]
		shadowUntil time.Time
	}
	g.mu.Lock()
	entries := make([]held, 0, len(g.all))
	for k, e := range g.all {
		entries = append(entries, held{k, e, e.mark.ej.shadowUntil})
	}
	g.mu.Unlock()

	samples := make([]sample[K, T], 0, len(entries))
	for _, h := range entries {
		k, e := h.k, h.e
		m := e.b.Metrics()
		// Counts only grow; a key counted from zero is new.
		ds, df := m.Successes-e.mark.successes, m.Failures-e.mark.failures
		e.mark.successes, e.mark.failures = m.Successes, m.Failures
		s := sample[K, T]{key: k, e: e, calls: ds + df, successRaw: ds,
			candidate: m.State == breaker.Closed && m.Mode == breaker.ModeNone}
		if s.calls > 0 {
			s.failRate = float64(df) / float64(s.calls)
		}
		shadowOut := !h.shadowUntil.IsZero() && !now.After(h.shadowUntil)
		if shadowOut {
			// Open, had the detector enforced (and half-open at the
			// end of its period, when probes would decide): its calls
			// would not have been made.
			s.calls, s.failRate, s.candidate = 0, 0, false
		}
		samples = append(samples, s)
		if e.shadowOnly {
			continue
		}
		keys++
		switch {
		case m.State != breaker.Closed:
			open++
		case shadowOut:
			open++
			if c := g.cap; c != nil {
				c.mu.Lock()
				shadowHeld += b2i(!e.mark.slot)
				c.mu.Unlock()
			}
		}
	}
	// In an order that does not hang on the map's, so that the sums of
	// rates come out the same to the last bit from the same calls.
	slices.SortFunc(samples, func(a, b sample[K, T]) int { return strings.Compare(a.e.b.Name(), b.e.b.Name()) })
	type found struct {
		o Outlier[K]
		e *entry[T]
	}
	var fs []found

	seen := map[K]bool{}
	if t := g.detect.cfg.SuccessRate; t != nil {
		judged := volume(samples, t.MinVolume)
		if len(judged) >= t.MinKeys && spread(judged) {
			mean, sd := meanStdev(judged)
			for _, s := range judged {
				threshold := successRateThreshold(t, mean, sd, s.calls)
				if s.candidate && s.failRate > threshold {
					seen[s.key] = true
					fs = append(fs, found{Outlier[K]{Key: s.key, Test: "success-rate", Calls: s.calls,
						FailureRate: s.failRate, Mean: mean, Threshold: threshold, Keys: len(judged), At: now}, s.e})
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
					fs = append(fs, found{Outlier[K]{Key: s.key, Test: "failure-rate", Calls: s.calls,
						FailureRate: s.failRate, Mean: mean, Threshold: t.Threshold, Keys: len(judged), At: now}, s.e})
				}
			}
		}
	}
	// Worst first, so that a cap with room for a few opens the worst;
	// of two as bad, the one with more calls (the stronger evidence),
	// then by name (the order of the samples).
	slices.SortStableFunc(fs, func(a, b found) int {
		return cmp.Or(cmp.Compare(b.o.FailureRate, a.o.FailureRate), cmp.Compare(b.o.Calls, a.o.Calls))
	})
	for _, f := range fs {
		out = append(out, f.o)
		es = append(es, f.e)
	}
	return out, es, open, shadowHeld, keys
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// successRateThreshold returns the failure rate above which a key of calls
// calls is an outlier of the success-rate test t, the judged keys' failure
// rates having mean mean and standard deviation sd: Envoy's threshold, the
// noise test's at the key's volume, and the floor t.MinGap, whichever is
// highest. Above 1, no key is an outlier.
func successRateThreshold(t *SuccessRateTest, mean, sd float64, calls uint64) float64 {
	threshold := max(mean+t.StdevFactor*sd, mean+t.MinGap)
	if t.NoiseFactor > 0 {
		// On the arcsine scale a binomial share of n calls has a
		// standard deviation of 1/(2√n); back on the scale of rates,
		// the noise threshold is sin² of the mean's angle plus
		// NoiseFactor of those.
		a := math.Asin(math.Sqrt(mean)) + t.NoiseFactor/(2*math.Sqrt(float64(calls)))
		noise := 1.0
		if a < math.Pi/2 {
			noise = math.Pow(math.Sin(a), 2)
		}
		threshold = max(threshold, noise)
	}
	return threshold
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
// transition. It sets *opened when it opens it, before the breaker's
// callbacks run (one may panic).
//
// The open is adopted at the generation of the state eject read
// (breaker.AdoptAt): an operator's Disable, ForceOpen, Reset or Trip, or
// any other change, that lands between the read and the open stands, and
// the key is not ejected this time (the place it took and the ejection it
// noted are given back).
func (g *Group[K, T]) eject(key K, now time.Time, why string, opened *bool) {
	g.mu.Lock()
	e := g.all[key]
	g.mu.Unlock()
	if e == nil {
		return
	}
	m := e.b.Metrics()
	if m.State != breaker.Closed || m.Mode != breaker.ModeNone {
		return
	}
	var opens uint64
	took := false
	if c := g.cap; c != nil {
		c.mu.Lock()
		if e.mark.out {
			c.mu.Unlock()
			return
		}
		had := e.mark.slot
		if !c.takeLocked(&e.mark) {
			c.refusedLocked(key, "outlier", now, c.held)
			c.mu.Unlock()
			return
		}
		took = !had
		opens = e.mark.opens
		delete(c.kept, key)
		c.mu.Unlock()
	}
	d, forget := g.rememberEjection(e, now)
	if g.detect.afterStateRead != nil {
		g.detect.afterStateRead()
	}
	*opened = true
	if e.b.AdoptAt(m.Generation, breaker.Adoption{Kind: breaker.AdoptOpen, For: d, Who: "group outlier detection", Why: why}) {
		return
	}
	// Stale: something changed the circuit since the read, and stands.
	*opened = false
	forget()
	if c := g.cap; c != nil && took {
		c.mu.Lock()
		// An open of the key heard since took the place as its own.
		if e.mark.opens == opens {
			c.giveLocked(&e.mark)
		}
		c.mu.Unlock()
	}
}
