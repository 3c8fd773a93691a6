package breaker

import (
	"errors"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tripwire-go/tripwire/internal/fsm"
	"github.com/tripwire-go/tripwire/policy"
)

const fsmManual = fsm.CauseManual

// Evidence is why a transition happened, as [Transition.Evidence] carries
// it: the policy's account of a trip, the last failures that led to it, the
// failed probe, the open period that ended, or who did what and why. It is
// assembled when the transition is delivered, never on the path of a call,
// and is shared by every listener of the transition: read it, do not
// change it.
type Evidence struct {
	// Account is, for a trip by the policy (CausePolicy), the policy's
	// account of what it counted: which rule decided, against what
	// threshold, over which window. Nil for the other causes.
	Account *policy.Account `json:"account,omitempty"`
	// Failures are the last failures (at most MaxFailures, oldest first)
	// recorded while the circuit was in the state it left, for a trip by
	// the policy or a failed probe. Nil otherwise.
	Failures []FailureRecord `json:"failures,omitempty"`
	// Detail says, for a probe, how it ended ("probe failed: ...", "3
	// probes succeeded"), and for a timeout, which open period ended.
	Detail string `json:"detail,omitempty"`
	// Action, Who and Why are, for a manual or external transition, what
	// was done ("trip", "trip-for 30s", "force-open", "disable", "reset";
	// for an adoption "adopt open 30s" and the like), by whom and why, as
	// given to [Breaker.Act] or in the [Adoption]; "reconfigure" and
	// "shadows" for [Breaker.Reconfigure] and [Breaker.ReconfigureShadows].
	// Who and Why are empty for a plain Trip, TripFor, ForceOpen, Disable
	// or Reset.
	Action string `json:"action,omitempty"`
	Who    string `json:"who,omitempty"`
	Why    string `json:"why,omitempty"`
	// Old and New are, for a Reconfigure (CauseReconfigure), the settings
	// before and after, as the spec language writes them (see
	// [Settings.Text]); Detail then says whether the counts carried over.
	// For a ReconfigureShadows (Action "shadows"), they are the candidates
	// before and after, as a spec line writes them ("shadow X shadow Y",
	// "" for none); Detail then says which were kept, started and
	// removed.
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
	// Text says it all in one line, for a log or a page.
	Text string `json:"text"`
}

// String returns e.Text.
func (e *Evidence) String() string {
	if e == nil {
		return ""
	}
	return e.Text
}

// FailureRecord is one failed call kept as evidence: when it failed and
// what its error said, through Config.DescribeError.
type FailureRecord struct {
	At    time.Time `json:"at"`
	Error string    `json:"error"`
}

// MaxFailures is how many failed calls a breaker keeps for the evidence of
// its next trip.
const MaxFailures = 5

// MaxErrorText is the length, in bytes, to which the default
// Config.DescribeError cuts an error's text, and to which the text of any
// describer is cut.
const MaxErrorText = 200

// MaxTransitions is how many of its last transitions a breaker keeps, with
// their evidence, for [Breaker.Transitions].
const MaxTransitions = 16

// DescribeError is the default Config.DescribeError: the error's text,
// cut to MaxErrorText bytes (on a rune boundary, with "…" when cut). A
// Failure with a nil error (a Classify that failed a result) reads
// "(no error)".
func DescribeError(err error) string {
	if err == nil {
		return "(no error)"
	}
	return truncate(err.Error())
}

func truncate(s string) string {
	if len(s) <= MaxErrorText {
		return s
	}
	cut := MaxErrorText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// evidence is what a core keeps to explain its transitions. None of it is
// touched by a successful call; a failed call takes one TryLock. The rings
// are allocated at the first failure and the first transition, so that the
// many breakers of a group that never fail cost little.
type evidence struct {
	describe func(error) string

	failures atomic.Pointer[failureLog]
	notes    noteLog

	// reconfs are the notes of the Reconfigures whose transitions are not
	// delivered yet, in the order of their transitions.
	reconfMu sync.Mutex
	reconfs  []reconfNote

	histMu sync.Mutex
	hist   *[MaxTransitions]Transition // nil before the first transition
	histN  int                         // transitions ever recorded
	// last is the last transition of the circuit kept, which the next
	// one's evidence starts from: a change of candidates, kept in hist,
	// is not one (it must not change the live circuit's evidence).
	last *Transition

	// lastTrip is the last transition caused by the policy, for Metrics.
	lastTrip atomic.Pointer[Transition]
}

// failureLog keeps the last MaxFailures failures, in a ring.
type failureLog struct {
	mu   sync.Mutex
	next int // ring index of the next write
	at   [MaxFailures]time.Time
	err  [MaxFailures]error
}

// errPanicked stands for the error of a call that panicked.
var errPanicked = errors.New("the call panicked")

// noteFailure keeps err as one of the last failures. It never waits: under
// a burst of concurrent failures, a failure that finds the log busy is not
// kept (another one of the same moment is), so the failure path costs a
// TryLock, a clock read and a few stores, and no contention.
//
//go:noinline
func (c *core) noteFailure(err error) {
	l := c.ev.failures.Load()
	if l == nil {
		c.ev.failures.CompareAndSwap(nil, new(failureLog))
		l = c.ev.failures.Load()
	}
	if !l.mu.TryLock() {
		return
	}
	i := l.next
	l.at[i], l.err[i] = c.clock.Now(), err
	l.next = (i + 1) % MaxFailures
	l.mu.Unlock()
}

// recentFailures returns, oldest first, the failures kept between from and
// to (inclusive; a zero from: no lower bound), described.
func (c *core) recentFailures(from, to time.Time) []FailureRecord {
	l := c.ev.failures.Load()
	if l == nil {
		return nil
	}
	var (
		at  [MaxFailures]time.Time
		err [MaxFailures]error
	)
	l.mu.Lock()
	next := l.next
	at, err = l.at, l.err
	l.mu.Unlock()
	var out []FailureRecord
	for k := range MaxFailures {
		i := (next + k) % MaxFailures
		if at[i].IsZero() || at[i].After(to) || (!from.IsZero() && at[i].Before(from)) {
			continue
		}
		out = append(out, FailureRecord{At: at[i], Error: c.describeError(err[i])})
	}
	return out
}

// describeError runs the describer, which is user code: a panic in it
// gives a text that says so rather than losing the transition.
func (c *core) describeError(err error) (s string) {
	d := c.ev.describe
	if d == nil {
		return DescribeError(err)
	}
	defer func() {
		if recover() != nil {
			s = "(Config.DescribeError panicked)"
		}
	}()
	return truncate(d(err))
}

// noteLog ties what a manual or external action was, who did it and why,
// to the transitions it causes. An action's note spans the generations
// from the one it started under to the one it left (open-ended while it
// runs, so that a transition delivered by another goroutine meanwhile
// finds it); a transition with a manual or external cause belongs to the
// note whose span holds its generation.
//
// Actions are not serialised: one may run inside another (a policy's Reset
// may call Trip, as Config.Policy allows), and holding a lock across an
// action would deadlock that. Where spans overlap, the note that started
// latest wins, which is exact for nesting; only two actions begun at the
// same generation on different goroutines, racing, may see one's
// transition credited to the other.
//
// A note is kept until every transition it can have caused is delivered:
// deliveries come in generation order, so once a transition past a note's
// span is delivered, the note is done. Delivery may lag behind the actions
// (one goroutine delivers while others act), so notes are not dropped
// sooner; at most maxNotes are kept, against a caller that acts in a loop
// while nothing is delivered.
type noteLog struct {
	mu    sync.Mutex // guards notes and seq
	notes []note
	seq   uint64
}

// maxNotes bounds the notes kept; past it the oldest finished one goes.
const maxNotes = 64

// note is one action: it caused the manual or external transitions of the
// generations in (from, to].
type note struct {
	from, to         uint64
	seq              uint64 // order of the actions' starts
	action, who, why string
}

// act runs one manual or external action f, noted as action by who for
// why, then delivers the transitions it caused.
func (c *core) act(action, who, why string, f func(now time.Time)) {
	c.actNoted(note{action: action, who: who, why: why}, f)
}

// actNoted is act with the note n (its span and seq filled in here).
func (c *core) actNoted(n note, f func(now time.Time)) {
	l := c.notes()
	l.mu.Lock()
	l.seq++
	seq := l.seq
	from := c.load().Gen()
	if len(l.notes) >= maxNotes {
		for i, n := range l.notes {
			if n.to != math.MaxUint64 {
				l.notes = append(l.notes[:i], l.notes[i+1:]...)
				break
			}
		}
	}
	n.from, n.to, n.seq = from, math.MaxUint64, seq
	l.notes = append(l.notes, n)
	l.mu.Unlock()
	defer func() {
		// Also when f panics (a policy's Reset): the span ends here. An
		// action that changed nothing is dropped at once.
		to := c.load().Gen()
		l.mu.Lock()
		for i := range l.notes {
			if l.notes[i].seq == seq {
				if to == from {
					l.notes = append(l.notes[:i], l.notes[i+1:]...)
				} else {
					l.notes[i].to = to
				}
				break
			}
		}
		l.mu.Unlock()
	}()
	f(c.clock.Now())
	c.flush()
}

func (c *core) notes() *noteLog { return &c.ev.notes }

// delivered returns the note of the action that caused the transition to
// gen, if it was one, and drops the notes it is past: called for every
// transition delivered, in order.
func (l *noteLog) delivered(gen uint64, manual bool) (note, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var best note
	keep := l.notes[:0]
	for _, n := range l.notes {
		if manual && n.from < gen && gen <= n.to && (best.action == "" || n.from > best.from || n.from == best.from && n.seq > best.seq) {
			best = n
		}
		if n.to >= gen {
			keep = append(keep, n)
		}
	}
	clear(l.notes[len(keep):])
	l.notes = keep
	return best, best.action != ""
}

// explain assembles t's evidence and keeps t in the history. It runs in
// deliver, once per transition, with no lock of the machine held.
func (c *core) explain(t *Transition) {
	ev := &c.ev
	if t.Evidence != nil {
		// A change of candidates, whose evidence came with it (noted).
		ev.keep(t, false)
		return
	}
	prev, hasPrev := c.lastTransition()
	var since time.Time
	if hasPrev {
		since = prev.At
	}
	e := &Evidence{}
	switch t.Cause {
	case CausePolicy:
		a := c.account(t.At)
		e.Account = &a
		e.Failures = c.recentFailures(since, t.At)
		e.Text = a.Text
		if n := len(e.Failures); n > 0 {
			e.Text += "; last failure: " + e.Failures[n-1].Error
		}
	case CauseProbe:
		if closeAfter := c.live.Load().closeAfter; t.To == Closed {
			e.Detail = strconv.Itoa(closeAfter) + " probes succeeded"
			if closeAfter == 1 {
				e.Detail = "1 probe succeeded"
			}
		} else {
			e.Failures = c.recentFailures(since, t.At)
			e.Detail = "probe failed"
			if n := len(e.Failures); n > 0 {
				e.Detail += ": " + e.Failures[n-1].Error
			}
		}
		e.Text = e.Detail
	case CauseTimeout:
		e.Detail = "the open period ended"
		if hasPrev && prev.To == Open {
			e.Detail = "the open period of " + t.At.Sub(prev.At).String() + " ended"
		}
		e.Text = e.Detail + "; probes may run"
	case CauseManual, CauseExternal, CauseReconfigure:
		if t.Cause == CauseReconfigure {
			if r, ok := ev.nextReconf(); ok {
				e.Action, e.Who, e.Why = "reconfigure", r.who, r.why
				e.Old, e.New = r.old, r.new
				e.Detail = r.old + " → " + r.new + "; counts restart"
				if r.carried {
					e.Detail = r.old + " → " + r.new + "; counts carried over"
				}
			}
		} else if n, ok := c.notes().delivered(t.Generation, true); ok {
			e.Action, e.Who, e.Why = n.action, n.who, n.why
		}
		e.Text = t.Cause.String()
		if e.Action != "" && e.Action != e.Text {
			e.Text += " " + e.Action
		}
		if e.Who != "" {
			e.Text += " by " + e.Who
		}
		if e.Why != "" {
			e.Text += ": " + e.Why
		}
		if e.Detail != "" {
			e.Text += "; " + e.Detail
		}
	}
	c.explainRecovery(t, e)
	if t.Cause != CauseManual && t.Cause != CauseExternal {
		c.notes().delivered(t.Generation, false)
	}
	t.Evidence = e
	ev.keep(t, true)
	if t.Cause == CausePolicy {
		tt := *t
		ev.lastTrip.Store(&tt)
	}
}

// queueReconf queues the note of a Reconfigure whose transition the
// machine is about to publish.
func (ev *evidence) queueReconf(n reconfNote) {
	ev.reconfMu.Lock()
	ev.reconfs = append(ev.reconfs, n)
	ev.reconfMu.Unlock()
}

// nextReconf takes the note of the Reconfigure whose transition is being
// delivered: the oldest queued.
func (ev *evidence) nextReconf() (reconfNote, bool) {
	ev.reconfMu.Lock()
	defer ev.reconfMu.Unlock()
	if len(ev.reconfs) == 0 {
		return reconfNote{}, false
	}
	n := ev.reconfs[0]
	ev.reconfs[0] = reconfNote{}
	ev.reconfs = ev.reconfs[1:]
	if len(ev.reconfs) == 0 {
		ev.reconfs = nil
	}
	return n, true
}

// account asks the policy's explainer for its account at now. The
// explainer may be a custom policy's: a panic in it gives an account that
// says so.
func (c *core) account(now time.Time) (a policy.Account) {
	defer func() {
		if recover() != nil {
			a = policy.Account{Rule: "custom", Text: "the policy's Explain panicked"}
		}
	}()
	return c.live.Load().terms.Explain(now)
}

// keep adds t to the history; circuit: it is a transition of the
// circuit, which the next one's evidence starts from.
func (ev *evidence) keep(t *Transition, circuit bool) {
	ev.histMu.Lock()
	if ev.hist == nil {
		ev.hist = new([MaxTransitions]Transition)
	}
	ev.hist[ev.histN%MaxTransitions] = *t
	ev.histN++
	if circuit {
		last := *t
		ev.last = &last
	}
	ev.histMu.Unlock()
}

// lastTransition returns the last transition of the circuit kept, if any.
func (c *core) lastTransition() (Transition, bool) {
	ev := &c.ev
	ev.histMu.Lock()
	defer ev.histMu.Unlock()
	if ev.last == nil {
		return Transition{}, false
	}
	return *ev.last, true
}

// Transitions returns the circuit's last transitions (at most
// MaxTransitions), oldest first, each with its evidence. It is for
// dashboards and the console: it takes a lock and copies.
func (b *Breaker[T]) Transitions() []Transition {
	b.mustBeBuilt("Transitions")
	return b.transitions()
}

func (c *core) transitions() []Transition {
	ev := &c.ev
	ev.histMu.Lock()
	defer ev.histMu.Unlock()
	n := min(ev.histN, MaxTransitions)
	out := make([]Transition, 0, n)
	for k := ev.histN - n; k < ev.histN; k++ {
		out = append(out, ev.hist[k%MaxTransitions])
	}
	return out
}

// ActionKind says what [Breaker.Act] does.
type ActionKind uint8

const (
	// ActTrip is Trip.
	ActTrip ActionKind = iota + 1
	// ActTripFor is TripFor(Action.For).
	ActTripFor
	// ActForceOpen is ForceOpen.
	ActForceOpen
	// ActDisable is Disable.
	ActDisable
	// ActReset is Reset.
	ActReset
)

// String returns "trip", "trip-for", "force-open", "disable" or "reset".
func (k ActionKind) String() string {
	switch k {
	case ActTrip:
		return "trip"
	case ActTripFor:
		return "trip-for"
	case ActForceOpen:
		return "force-open"
	case ActDisable:
		return "disable"
	case ActReset:
		return "reset"
	}
	return "ActionKind(" + strconv.Itoa(int(k)) + ")"
}

// ParseActionKind returns the kind whose String is s.
func ParseActionKind(s string) (ActionKind, error) {
	for k := ActTrip; k <= ActReset; k++ {
		if s == k.String() {
			return k, nil
		}
	}
	return 0, errors.New("breaker: unknown action " + strconv.Quote(s) + `: want "trip", "trip-for", "force-open", "disable" or "reset"`)
}

// Action is an operator's action on a circuit, with who takes it and why,
// for [Breaker.Act]. The transitions it causes carry Who and Why in their
// evidence.
type Action struct {
	// Kind is what to do.
	Kind ActionKind
	// For is how long ActTripFor opens the circuit; other kinds ignore it.
	For time.Duration
	// Who takes the action and Why, as they should read in logs and in
	// the transition's evidence. Both optional; an operator's tool should
	// ask for a reason.
	Who, Why string
}

// ErrInvalidAction is wrapped by the error of an Action that Act cannot
// take.
var ErrInvalidAction = errors.New("breaker: invalid action")

// Act takes the action a, as Trip, TripFor, ForceOpen, Disable or Reset
// would, and notes who took it and why in the evidence of the transitions
// it causes. It is how an operator's tool (the console, an admin RPC)
// acts on a circuit. An Action of an unknown kind, or an ActTripFor with a
// negative For, is refused with an error wrapping ErrInvalidAction and
// changes nothing.
func (b *Breaker[T]) Act(a Action) error {
	b.mustBeBuilt("Act")
	return b.core.actOn(a)
}

func (c *core) actOn(a Action) error {
	name := a.Kind.String()
	switch a.Kind {
	case ActTrip:
		c.act(name, a.Who, a.Why, func(now time.Time) { c.m.Trip(now, fsmManual) })
	case ActTripFor:
		if a.For < 0 {
			return errors.Join(ErrInvalidAction, errors.New("breaker: Act: trip-for needs a For of zero or more, got "+a.For.String()))
		}
		c.act(name+" "+a.For.String(), a.Who, a.Why, func(now time.Time) { c.m.TripFor(a.For, now, fsmManual) })
	case ActForceOpen:
		c.act(name, a.Who, a.Why, func(now time.Time) { c.m.ForceOpen(now, fsmManual) })
	case ActDisable:
		c.act(name, a.Who, a.Why, func(now time.Time) { c.m.Disable(now, fsmManual) })
	case ActReset:
		c.act(name, a.Who, a.Why, func(now time.Time) { c.m.Reset(now, fsmManual) })
	default:
		return errors.Join(ErrInvalidAction, errors.New("breaker: Act: unknown action kind "+a.Kind.String()))
	}
	return nil
}
