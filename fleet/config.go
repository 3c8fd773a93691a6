package fleet

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"math"
	"os"
	"reflect"
	"strconv"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// Defaults used for the zero values of [Config].
const (
	DefaultQuorum        = 2
	DefaultQuorumWindow  = 10 * time.Second
	DefaultOpenTimeout   = breaker.DefaultOpenTimeout
	DefaultProbes        = breaker.DefaultHalfOpenProbes
	DefaultProbeTimeout  = 10 * time.Second
	DefaultRateWindow    = 10 * time.Second
	DefaultMinCalls      = 20
	DefaultRetention     = 24 * time.Hour
	DefaultFlushInterval = time.Second
	DefaultGateTimeout   = 20 * time.Millisecond
	DefaultFullFor       = 100 * time.Millisecond
	DefaultStepTimeout   = time.Second
)

// Config configures a [Coordinator]. Store is required; every other zero
// field means its documented default. Every instance of a fleet should use
// the same rules (Quorum through Retention): each step follows the rules
// of the instance that takes it.
type Config struct {
	// Store keeps the fleet's records. Required.
	Store Store

	// Instance names this instance in the quorum. Empty means the host
	// name, the process id and a random suffix: unique per process.
	Instance string

	// Quorum is how many distinct instances must trip within QuorumWindow
	// for the fleet to open: 1 means one instance that trips stops all.
	// 0 means DefaultQuorum (2); QuorumWindow 0 means DefaultQuorumWindow.
	Quorum       int
	QuorumWindow time.Duration

	// OpenTimeout is the fleet's open period. Backoff, when set, lengthens
	// it after each failed probe (its Factor and Max; Jitter is not used:
	// the fleet has one period, measured on the store's clock; a zero Max
	// means the breaker's DefaultBackoffMaxFactor times OpenTimeout).
	//
	// Both zero (the default) means that the fleet follows each attached
	// breaker's own: its OpenTimeout and Backoff (breaker.OpenTiming), so
	// that attaching a breaker does not change how long it stays open. A
	// circuit that cannot say (a breaker.Circuit that is not a
	// *breaker.Breaker) gets DefaultOpenTimeout. Set either to give every
	// circuit of the coordinator the same period; Attach then logs, once
	// per circuit, that the fleet's period replaces the breaker's own.
	OpenTimeout time.Duration
	Backoff     *breaker.Backoff

	// Probes is K: the most probes in flight fleet-wide per half-open
	// period, and the successes that close the fleet. 0 means
	// DefaultProbes. ProbeTimeout is how long a probe's lease lasts; 0
	// means DefaultProbeTimeout.
	Probes       int
	ProbeTimeout time.Duration

	// FailureRate, when positive, also opens the fleet once, within
	// RateWindow, at least MinCalls calls were counted fleet-wide and at
	// least that fraction failed. It needs breakers built with CountCalls;
	// their counts are sent with each flush. 0 means off. MinCalls 0 means
	// DefaultMinCalls, RateWindow 0 DefaultRateWindow.
	FailureRate float64
	MinCalls    int
	RateWindow  time.Duration

	// Retention is how long the store keeps a record no instance touched.
	// 0 means DefaultRetention.
	Retention time.Duration

	// FlushInterval is how often the coordinator sends its counts and
	// reads the records of its breakers, all in one batch: that is how it
	// learns changes whose events it missed. 0 means DefaultFlushInterval.
	FlushInterval time.Duration

	// GateTimeout bounds how long a half-open probe candidate waits for
	// the store; then the local decision stands. 0 means
	// DefaultGateTimeout (20ms). FullFor is how long a "full" answer is
	// believed: meanwhile other candidates are rejected with no round
	// trip. 0 means DefaultFullFor.
	GateTimeout time.Duration
	FullFor     time.Duration

	// StepTimeout bounds each step taken off the call path (trips, probe
	// reports, flushes). 0 means DefaultStepTimeout.
	StepTimeout time.Duration

	// Clock is where the coordinator reads the time, for its own timing
	// (the FullFor cache, its guard breaker). nil means the real clock.
	Clock breaker.Clock

	// Logger receives a line when the coordinator starts or stops working
	// locally, and for each unreadable record. nil means slog.Default().
	Logger *slog.Logger

	// Driven makes the coordinator run no goroutine and no timer of its
	// own, so that a simulation can drive it on a virtual Clock and get the
	// same run every time (package lab does). Hand-offs (trips, probe
	// reports, the first read of an attached breaker) wait in a queue until
	// [Coordinator.Step] runs them, with a flush when FlushInterval has
	// passed on Clock; the probe gate asks the store on the caller's
	// goroutine, and an answer that comes later than GateTimeout, measured
	// on Clock, is handled as one the gate gave up waiting for (the
	// candidate decides locally, and the coordinator is slow, so
	// degraded); no events are received: deliver them with
	// [Coordinator.Deliver], or call [Coordinator.Sync] to learn the other
	// instances' changes. The default, false, is the coordinator that runs
	// itself.
	Driven bool
}

// ConfigError is the error New returns for an invalid Config. It wraps
// breaker.ErrInvalidConfig.
type ConfigError struct {
	// Field is the Config field at fault, as written in Go.
	Field string
	why   string
}

// Problem says what is wrong with the field.
func (e *ConfigError) Problem() string { return e.why }

// Error names the field and says what is wrong with it.
func (e *ConfigError) Error() string { return "fleet: invalid config: " + e.Field + ": " + e.why }

// Unwrap returns breaker.ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return breaker.ErrInvalidConfig }

func (c *Config) params() (Params, bool, error) {
	bad := func(f, why string) (Params, bool, error) { return Params{}, false, &ConfigError{Field: f, why: why} }
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Store == nil || isNil(c.Store) {
		return bad("Store", "is nil; a coordinator needs a store to share through")
	}
	for _, d := range []struct {
		f string
		v time.Duration
	}{{"QuorumWindow", c.QuorumWindow}, {"OpenTimeout", c.OpenTimeout}, {"ProbeTimeout", c.ProbeTimeout},
		{"RateWindow", c.RateWindow}, {"Retention", c.Retention}, {"FlushInterval", c.FlushInterval},
		{"GateTimeout", c.GateTimeout}, {"FullFor", c.FullFor}, {"StepTimeout", c.StepTimeout}} {
		if d.v < 0 {
			return bad(d.f, "must not be negative, got "+d.v.String())
		}
	}
	switch {
	case c.Quorum < 0:
		return bad("Quorum", "must not be negative, got "+strconv.Itoa(c.Quorum))
	case c.Probes < 0 || c.Probes > breaker.MaxHalfOpenProbes:
		return bad("Probes", "must be in [0, "+strconv.Itoa(breaker.MaxHalfOpenProbes)+"], got "+strconv.Itoa(c.Probes))
	case c.MinCalls < 0:
		return bad("MinCalls", "must not be negative, got "+strconv.Itoa(c.MinCalls))
	case !(c.FailureRate >= 0 && c.FailureRate <= 1):
		return bad("FailureRate", "must be in [0, 1], got "+strconv.FormatFloat(c.FailureRate, 'g', -1, 64))
	}
	follow := c.OpenTimeout == 0 && c.Backoff == nil
	if c.Quorum == 0 {
		c.Quorum = DefaultQuorum
	}
	if c.Probes == 0 {
		c.Probes = DefaultProbes
	}
	if c.MinCalls == 0 {
		c.MinCalls = DefaultMinCalls
	}
	def(&c.QuorumWindow, DefaultQuorumWindow)
	def(&c.OpenTimeout, DefaultOpenTimeout)
	def(&c.ProbeTimeout, DefaultProbeTimeout)
	def(&c.RateWindow, DefaultRateWindow)
	def(&c.Retention, DefaultRetention)
	def(&c.FlushInterval, DefaultFlushInterval)
	def(&c.GateTimeout, DefaultGateTimeout)
	def(&c.FullFor, DefaultFullFor)
	def(&c.StepTimeout, DefaultStepTimeout)
	p := Params{
		Quorum: c.Quorum, QuorumWindow: c.QuorumWindow,
		OpenTimeout: c.OpenTimeout, BackoffFactor: 1, BackoffMax: c.OpenTimeout,
		Probes: c.Probes, ProbeTimeout: c.ProbeTimeout,
		FailureRate: c.FailureRate, MinCalls: c.MinCalls, RateWindow: c.RateWindow,
		Retention: c.Retention,
	}
	if bo := c.Backoff; bo != nil {
		p.BackoffFactor, p.BackoffMax = bo.Factor, bo.Max
		if p.BackoffFactor == 0 {
			p.BackoffFactor = breaker.DefaultBackoffFactor
		}
		if !(p.BackoffFactor >= 1) {
			return bad("Backoff.Factor", "must be at least 1, got "+strconv.FormatFloat(bo.Factor, 'g', -1, 64))
		}
		if bo.Max == 0 {
			// As the breaker reads it: DefaultBackoffMaxFactor times
			// OpenTimeout, saturating.
			p.BackoffMax = c.OpenTimeout * breaker.DefaultBackoffMaxFactor
			if c.OpenTimeout > math.MaxInt64/breaker.DefaultBackoffMaxFactor {
				p.BackoffMax = math.MaxInt64
			}
		}
		if p.BackoffMax < c.OpenTimeout {
			return bad("Backoff.Max", "must be at least OpenTimeout ("+c.OpenTimeout.String()+"), got "+bo.Max.String())
		}
	}
	if c.Instance == "" {
		host, _ := os.Hostname()
		c.Instance = host + "-" + strconv.Itoa(os.Getpid()) + "-" + randomID()[:6]
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return p, follow, nil
}

// withTiming returns p with the open period and backoff of t, as a
// breaker reads them.
func (p Params) withTiming(t breaker.OpenTiming) Params {
	if t.Timeout <= 0 {
		return p
	}
	p.OpenTimeout, p.BackoffFactor, p.BackoffMax = t.Timeout, 1, t.Timeout
	if bo := t.Backoff; bo != nil && bo.Factor >= 1 && bo.Max >= t.Timeout {
		p.BackoffFactor, p.BackoffMax = bo.Factor, bo.Max
	}
	return p
}

// isNil reports whether v holds a nil pointer (a typed nil is not a nil
// interface, and its methods would panic later, deep inside a step).
func isNil(v any) bool {
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
