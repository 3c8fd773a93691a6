package fleet

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// ProtocolVersion is the version of the fleet record this package reads and
// writes. A record with a higher version was written by a newer release:
// [Record.Validate] rejects it, and a [Coordinator] that meets one works
// locally rather than guess at its meaning.
const ProtocolVersion = 1

// Mode is a manual mode, the breaker's own type: a fleet-wide one is set
// with [Coordinator.ForceOpen], [Coordinator.Disable] and
// [Coordinator.Clear], and every instance adopts it.
type Mode = breaker.Mode

// The manual modes, as a [Record] carries them.
const (
	// ModeNone: no manual mode; the fleet's circuit follows its failures.
	ModeNone = breaker.ModeNone
	// ModeForcedOpen: every instance rejects every call, with no probes,
	// until the mode is cleared.
	ModeForcedOpen = breaker.ModeForcedOpen
	// ModeDisabled: every instance runs every call and nothing trips it,
	// until the mode is cleared.
	ModeDisabled = breaker.ModeDisabled
)

// Record is the fleet's view of one circuit, as a [Store] returns it after
// each step. It holds no absolute time: Remaining is measured on the store's
// clock at the moment of the step, so the clocks of the instances need not
// agree.
//
// Two records of the same circuit are ordered by Generation within one
// Incarnation. A record that was lost (a flushed or restarted store) and
// created again gets a new Incarnation, so that its generations, which
// start over, are not taken for old ones.
type Record struct {
	// Name is the circuit's name.
	Name string
	// Version is the protocol version that wrote the record.
	Version int
	// Incarnation identifies this life of the record: it is chosen when the
	// record is created and never changes after.
	Incarnation string
	// Generation rises with every transition of the fleet's circuit:
	// opening, reopening after a failed probe, closing, a change of mode.
	Generation uint64
	// State is Closed, Open (Remaining > 0, or forced open) or HalfOpen
	// (the open period is over: probes may be leased).
	State breaker.State
	// Mode is the fleet-wide manual mode in force.
	Mode Mode
	// Remaining is how long an open circuit stays open, from the step that
	// returned the record. Zero in the other states and while forced open.
	Remaining time.Duration
	// Opens counts the open periods in a row (1 for the first); it steps
	// the fleet's backoff. Zero while closed.
	Opens int
	// Probing is the number of live probe leases; Succeeded the number of
	// this generation's probes that succeeded.
	Probing, Succeeded int
	// Rules is the fingerprint ([Params.Rules]) of the rules of the step
	// that made the record's last transition (or created it): an instance
	// whose own rules differ learns that the fleet is run under others.
	// Empty from a store that does not keep it.
	Rules string
}

// ErrProtocol is wrapped by the error for a record this package cannot read
// safely: one written by a newer protocol version, or malformed.
var ErrProtocol = errors.New("fleet: unreadable record")

// RecordError says what is wrong with a record from a store. It wraps
// ErrProtocol.
type RecordError struct {
	// Name is the circuit whose record it is.
	Name string
	// Field is the record field at fault, as named in [Record]
	// ("Version", "State", ...), or the store's own name for it.
	Field string
	why   string
}

// Problem says what is wrong with the field.
func (e *RecordError) Problem() string { return e.why }

// Error names the circuit and the field and says what is wrong.
func (e *RecordError) Error() string {
	return "fleet: record of " + strconv.Quote(e.Name) + ": " + e.Field + ": " + e.why
}

// Unwrap returns ErrProtocol.
func (e *RecordError) Unwrap() error { return ErrProtocol }

// NewRecordError returns a [RecordError] for a store that finds a field it
// cannot read. Stores other than this package's use it, so that every bad
// record gives the same kind of error.
func NewRecordError(name, field, problem string) *RecordError {
	return &RecordError{Name: name, Field: field, why: problem}
}

// Validate checks that r can be acted on: a known version, a known state
// and mode, and durations and counts that are not negative.
func (r Record) Validate() error {
	bad := func(field, why string) error { return NewRecordError(r.Name, field, why) }
	switch {
	case r.Version > ProtocolVersion:
		return bad("Version", "written by protocol version "+strconv.Itoa(r.Version)+", newer than this package's "+strconv.Itoa(ProtocolVersion))
	case r.Version < 1:
		return bad("Version", "must be at least 1, got "+strconv.Itoa(r.Version))
	case r.Incarnation == "":
		return bad("Incarnation", "is empty")
	case r.State != breaker.Closed && r.State != breaker.Open && r.State != breaker.HalfOpen:
		return bad("State", "unknown state "+strconv.Itoa(int(r.State)))
	case r.Mode > ModeDisabled:
		return bad("Mode", "unknown mode "+strconv.Itoa(int(r.Mode)))
	case r.Remaining < 0:
		return bad("Remaining", "negative: "+r.Remaining.String())
	case r.Opens < 0 || r.Probing < 0 || r.Succeeded < 0:
		return bad("Opens", "a count is negative")
	case r.Mode == ModeForcedOpen && r.State != breaker.Open, r.Mode == ModeDisabled && r.State != breaker.Closed:
		return bad("Mode", "mode "+r.Mode.String()+" with state "+r.State.String())
	}
	return nil
}

// Params are the fleet's rules for one circuit, sent with every step so
// that the store needs no configuration of its own. Every instance of a
// fleet should use the same; a step follows the Params it was given. Build
// them with [Config]; a Store may assume they are valid.
type Params struct {
	// Quorum is the number of distinct instances whose trips within
	// QuorumWindow open the fleet's circuit.
	Quorum       int
	QuorumWindow time.Duration
	// OpenTimeout is the fleet's first open period; each reopening after a
	// failed probe multiplies it by BackoffFactor, up to BackoffMax.
	OpenTimeout   time.Duration
	BackoffFactor float64
	BackoffMax    time.Duration
	// Probes is K: the most probes leased at once fleet-wide per half-open
	// generation, and the successes that close the circuit.
	Probes int
	// ProbeTimeout is how long a lease lives: a probe that has not
	// reported by then frees its place and its result is not counted.
	ProbeTimeout time.Duration
	// FailureRate, when positive, opens the circuit once, within
	// RateWindow, at least MinCalls calls were counted fleet-wide and at
	// least that fraction of them failed.
	FailureRate float64
	MinCalls    int
	RateWindow  time.Duration
	// Retention is how long a record and its counts are kept after the
	// last step that touched them.
	Retention time.Duration
}

// OpenFor returns the open period after opens open periods in a row.
func (p Params) OpenFor(opens int) time.Duration {
	d := float64(p.OpenTimeout)
	for i := 1; i < opens && d < float64(p.BackoffMax); i++ {
		d *= p.BackoffFactor
	}
	if p.BackoffMax > 0 && d > float64(p.BackoffMax) {
		return p.BackoffMax
	}
	if d >= math.MaxInt64 {
		// float64(math.MaxInt64) is 2^63, one past the largest Duration:
		// converting it (or more) gives a negative period.
		return math.MaxInt64
	}
	return time.Duration(d)
}

// Rules returns a short fingerprint of p, the same for equal Params on
// every platform: a [Record] carries the fingerprint of the rules it was
// made under, so that members whose rules differ can tell.
func (p Params) Rules() string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%d|%d|%g|%d|%d|%d|%g|%d|%d|%d", p.Quorum, p.QuorumWindow, p.OpenTimeout,
		p.BackoffFactor, p.BackoffMax, p.Probes, p.ProbeTimeout, p.FailureRate, p.MinCalls,
		p.RateWindow, p.Retention)
	return strconv.FormatUint(h.Sum64()>>32, 16)
}

// String returns p in a form for log lines.
func (p Params) String() string {
	return fmt.Sprintf("quorum %d in %v, open %v (backoff x%g up to %v), %d probes of %v, rate %g of %d in %v, retention %v",
		p.Quorum, p.QuorumWindow, p.OpenTimeout, p.BackoffFactor, p.BackoffMax, p.Probes, p.ProbeTimeout,
		p.FailureRate, p.MinCalls, p.RateWindow, p.Retention)
}

// TripRequest is a trip of one instance's breaker.
type TripRequest struct {
	// Instance names the instance that tripped.
	Instance string
	// Incarnation and Generation are the record the instance knew when its
	// breaker tripped. A trip made under an older generation of a record
	// that has since closed is not counted: it is news from before the
	// close.
	Incarnation string
	Generation  uint64
}

// CloseRequest notes that one instance's breaker closed on its own probes
// while the record it knew was open: see [Store.Closed].
type CloseRequest struct {
	// Instance names the instance whose breaker closed.
	Instance string
	// Incarnation and Generation are the open record the instance knew.
	Incarnation string
	Generation  uint64
}

// Counts are one instance's calls of one circuit, for [Store.Flush].
//
// Without a Sender, Successes and Failures are the calls since the last
// flush, and a store adds them as they come: a batch sent again because
// its answer was lost is counted twice. With a Sender they make the flush
// idempotent: Successes and Failures are then the sender's totals since
// it began, and Acked its totals the store last acknowledged; the store
// adds, for each, what exceeds both Acked and the totals it last took from
// that Sender. A batch sent again, or two batches that overlap, add each
// call once, even when the store took a step whose answer was lost; a
// store that lost its record (and what it took) adds what was never
// acknowledged.
type Counts struct {
	Name      string
	Instance  string
	Successes uint64
	Failures  uint64
	// Sender identifies one counter of the instance's calls (a
	// coordinator's attachment of a breaker): unique, and never reused.
	Sender string
	// AckedSuccesses and AckedFailures are the totals of Sender that a
	// store's answer acknowledged; zero before the first.
	AckedSuccesses, AckedFailures uint64
}

// Take returns what a store adds for c, given the totals it last took
// from c.Sender (zero if it knows none), and the totals it keeps for the
// sender from then on. Without a Sender, c's counts are added as they
// are. Stores other than [Memory] use it, or do the same in their own
// language, so that every store dedups alike.
func (c Counts) Take(lastS, lastF uint64) (addS, addF, keepS, keepF uint64) {
	if c.Sender == "" {
		return c.Successes, c.Failures, 0, 0
	}
	take := func(total, acked, last uint64) (add, keep uint64) {
		base := max(acked, last)
		if total > base {
			add = total - base
		}
		return add, max(total, last)
	}
	addS, keepS = take(c.Successes, c.AckedSuccesses, lastS)
	addF, keepF = take(c.Failures, c.AckedFailures, lastF)
	return addS, addF, keepS, keepF
}

// Verdict is a store's answer to [Store.AcquireProbe].
type Verdict uint8

// The verdicts of [Store.AcquireProbe].
const (
	// ProbeAdmit: the lease is granted; run the probe and report it.
	ProbeAdmit Verdict = iota + 1
	// ProbeFull: K probes of this generation are leased or have succeeded.
	ProbeFull
	// ProbeReopened: the record has moved on to an open circuit (a probe
	// failed, or an operator forced it open); adopt the record.
	ProbeReopened
	// ProbeNotDue: the fleet's open period is not over on the store's
	// clock; adopt the record's Remaining.
	ProbeNotDue
	// ProbeStale: the record is not the open circuit the request named
	// (it closed, or was lost and created again); adopt the record, or
	// decide locally if the fleet's circuit is closed.
	ProbeStale
)

// String returns the verdict's name: "admit", "full", "reopened",
// "not-due" or "stale".
func (v Verdict) String() string {
	switch v {
	case ProbeAdmit:
		return "admit"
	case ProbeFull:
		return "full"
	case ProbeReopened:
		return "reopened"
	case ProbeNotDue:
		return "not-due"
	case ProbeStale:
		return "stale"
	}
	return "Verdict(" + strconv.Itoa(int(v)) + ")"
}

// ProbeRequest asks for a probe lease.
type ProbeRequest struct {
	// Incarnation and Generation name the open circuit to probe.
	Incarnation string
	Generation  uint64
	// Lease identifies the lease, unique per probe.
	Lease string
}

// ProbeReport reports how a leased probe ended.
type ProbeReport struct {
	Incarnation string
	Generation  uint64
	Lease       string
	// Outcome: Success counts towards closing, Failure reopens, Ignored
	// only frees the lease.
	Outcome breaker.Outcome
}

// Store keeps the fleet's records. Each method is one atomic step on the
// store: no lock is held between steps and none across a call. Every method
// must return within its context's deadline, and is safe for concurrent
// use. Errors other than a [RecordError] mean the store could not be
// reached or failed; the [Coordinator] then works locally.
type Store interface {
	// Trip notes that an instance's breaker opened on its own: its policy
	// tripped, or a probe the fleet did not lease failed. It opens the
	// record when Quorum distinct instances tripped within QuorumWindow,
	// and returns the record after the step: an open record for the
	// caller to adopt, or one that is still short of its quorum. A
	// half-open record counts trips as a closed one does, and reopens at
	// the quorum (the next backoff step); an open or forced-open one, or a
	// disabled one, ignores them.
	Trip(ctx context.Context, name string, t TripRequest, p Params) (Record, error)

	// Closed notes that an instance's breaker closed on its own probes
	// while the record was open (its CloseAfter is below Probes, or its
	// probes were decided locally). A half-open record of the request's
	// generation closes once Quorum distinct instances did so, as it
	// closes at K leased successes: otherwise it could stay half-open for
	// good, short of K, with every breaker closed. Other records ignore it.
	Closed(ctx context.Context, name string, c CloseRequest, p Params) (Record, error)

	// Flush adds each instance's counts to the fleet's (when FailureRate
	// is set; it opens a record whose fleet-wide rate is reached) and
	// returns the records, in the order of batch. A Counts with nothing to
	// add only reads its record: that is how an instance learns a change
	// whose event it missed. The error of one record does not fail the
	// others: errs[i] is the error of batch[i], and err is set only when
	// the whole batch failed.
	Flush(ctx context.Context, batch []Counts, p Params) (recs []Record, errs []error, err error)

	// AcquireProbe asks for one of the K probe leases of a half-open
	// generation.
	AcquireProbe(ctx context.Context, name string, r ProbeRequest, p Params) (Verdict, Record, error)

	// ReportProbe ends a lease. A failure reopens the record (a new
	// generation, open for the next backoff step); the K-th success closes
	// it. A report of an expired lease, or of another generation, changes
	// nothing.
	ReportProbe(ctx context.Context, name string, r ProbeReport, p Params) (Record, error)

	// Force sets the fleet-wide mode: ModeForcedOpen, ModeDisabled, or
	// ModeNone, which closes the record as Reset closes a breaker.
	Force(ctx context.Context, name string, m Mode, p Params) (Record, error)

	// Events delivers the records that steps of any instance changed, best
	// effort: an event may be lost, and Flush makes up for it. The channel
	// is closed once ctx is done and the store has stopped whatever it
	// started for it.
	Events(ctx context.Context) (<-chan Record, error)
}
