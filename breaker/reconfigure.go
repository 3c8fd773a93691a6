package breaker

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tripwire-go/tripwire/internal/fsm"
	"github.com/tripwire-go/tripwire/policy"
)

// Settings are the parts of a [Config] that a running breaker can take
// anew with [Breaker.Reconfigure]: the policy and what shapes the open and
// half-open periods. Each field means what the Config field of its name
// means, zero included (the default). Package spec yields them from a
// spec string: spec.Parse("rate(0.3,20,10s)@open=30s").Settings().
type Settings struct {
	// Policy is the new policy, which must not be in use by a breaker
	// (Reconfigure binds it, as New does). nil means
	// policy.Consecutive(DefaultFailures). It takes over what the old one
	// counted if it can (see policy.Successor); otherwise it starts empty.
	Policy         policy.Policy
	OpenTimeout    time.Duration
	HalfOpenProbes int
	CloseAfter     int
	Backoff        *Backoff
	ProbeTimeout   time.Duration
	// Text is how the settings are written, for the evidence of the
	// change and for [Breaker.Settings]: spec.Spec's Settings sets it to
	// the spec. Empty: the breaker writes them in the spec language
	// itself, with the policy's String.
	Text string
}

// live is what Reconfigure changes, apart from what the hot path reads
// (core.needs, consecutive, coarse): one pointer, so that a reader sees
// the settings of one configuration.
type live struct {
	policy policy.Policy
	terms  policy.Terms // what policy.Bind found; it explains trips
	// judge is the judge the policy's terms name, if any: it has the last
	// word on probes that succeeded. timeProbes: it needs their durations,
	// so half-open admissions read the clock.
	judge      policy.ProbeJudge
	timeProbes bool
	// probeTimeout is Config.ProbeTimeout as the machine takes it (0:
	// none): with it, half-open admissions read the clock.
	probeTimeout time.Duration
	probes       int
	closeAfter   int
	timing       OpenTiming // OpenTiming's; see hooks.go
	// shed is the policy's shedder, if any (see policy.Shedder): a closed
	// call asks it before it runs.
	shed policy.Shedder
	text string // how the settings are written
}

// setPolicy installs s's policy and settings for calls to read: at New,
// and in Reconfigure once the machine has the new policy.
func (c *core) setPolicy(s *settings) {
	needs := s.terms.Needs
	var cc *coarseClock
	if !c.exact && needs == policy.NeedTime && s.terms.TimeWithin >= minCoarse {
		cc = newCoarseClock(c.clock, s.terms.TimeWithin)
	}
	consecutive, _ := s.policy.(*policy.ConsecutivePolicy)
	l := &live{
		policy:       s.policy,
		terms:        s.terms,
		judge:        s.terms.Judge,
		timeProbes:   s.terms.Judge != nil && needs&policy.NeedDuration != 0,
		probeTimeout: s.probeTimeout,
		probes:       s.probes,
		closeAfter:   s.closeAfter,
		timing:       OpenTiming{Timeout: s.openTimeout},
		text:         s.text,
		shed:         s.terms.Shedder,
	}
	if s.backoff != nil {
		bo := *s.backoff
		bo.Rand = nil
		if bo.Factor == 0 {
			bo.Factor = DefaultBackoffFactor
		}
		l.timing.Backoff = &bo
	}
	if l.text == "" {
		l.text = describeSettings(s)
	}
	c.live.Store(l)
	c.refreshNeeds()
	c.consecutive.Store(consecutive)
	if old := c.coarse.Swap(cc); old != nil {
		old.timer.Stop()
	}
}

// machineConfig is what the state machine needs of s.
func (s *settings) machineConfig() fsm.Config {
	return fsm.Config{
		Policy:     s.policy,
		OpenFor:    s.openFor(),
		Probes:     s.probes,
		CloseAfter: s.closeAfter,
		// Always: a listener may Subscribe at any time. Queueing costs
		// only transitions, never a call that causes none.
		Notify:       true,
		ProbeTimeout: s.probeTimeout,
		Ramp:         s.rampUp,
		Forget:       s.forget(),
	}
}

// forget is the backoff's Forget, or 0 without a backoff.
func (s *settings) forget() time.Duration {
	if s.backoff == nil {
		return 0
	}
	return s.backoff.Forget
}

// config is the Config whose checks st must pass, on the breaker's clock:
// Reconfigure's and a shadow candidate's, which check Settings alike.
func (st Settings) config(clock Clock) Config[struct{}] {
	return Config[struct{}]{
		Policy:         st.Policy,
		OpenTimeout:    st.OpenTimeout,
		HalfOpenProbes: st.HalfOpenProbes,
		CloseAfter:     st.CloseAfter,
		Backoff:        st.Backoff,
		ProbeTimeout:   st.ProbeTimeout,
		Clock:          clock,
	}
}

// Settings returns the breaker's settings as Reconfigure takes them: the
// policy in force and the other settings with their defaults filled in,
// and in Text how they are written (what spec.Parse reads, when the
// breaker wrote it or a spec gave it). Do not give its Policy to another
// breaker: it is this one's.
func (b *Breaker[T]) Settings() Settings {
	b.mustBeBuilt("Settings")
	return b.settings()
}

func (c *core) settings() Settings {
	l := c.live.Load()
	s := Settings{
		Policy:         l.policy,
		OpenTimeout:    l.timing.Timeout,
		HalfOpenProbes: l.probes,
		CloseAfter:     l.closeAfter,
		ProbeTimeout:   l.probeTimeout,
		Text:           l.text,
	}
	if s.ProbeTimeout == 0 {
		s.ProbeTimeout = NoProbeTimeout
	}
	if l.timing.Backoff != nil {
		bo := *l.timing.Backoff
		s.Backoff = &bo
	}
	return s
}

// Reconfigure gives the running breaker new settings at once, without a
// change of state: an operator's "apply" (the console's), a new value in a
// config file. who and why, optional, are noted in the evidence of the
// change.
//
// s is checked as New checks a Config, and an invalid s gets the same
// error (wrapping ErrInvalidConfig and naming the field) and changes
// nothing. Otherwise the change is one step, and what the circuit is
// stays:
//
//   - the state, the manual mode, the open period in force and the count
//     of trips the backoff has seen stay as they were; the new OpenTimeout
//     and Backoff apply from the next trip;
//   - the new policy takes over what the old one counted where it can
//     (same kind, or a resized window: see policy.Successor), and starts
//     empty where not; the evidence says which;
//   - every closed call in flight is counted once: by the old policy if
//     its result reached it before the change, by the new one otherwise. A
//     result that arrives while the counts move waits for them (a handover
//     copies counters: microseconds, or one Record per call a time window
//     holds). A trip the old policy decided just before stands. A carried
//     call that started under a policy that needed no durations counts
//     for a new one that does (Slow) with a duration of zero: never slow.
//   - a half-open circuit starts its half-open period again with the new
//     number of probes: probes in flight are forgotten, as after a probe
//     timeout, and their results change nothing.
//
// The change is delivered like a transition (OnTransition, Subscribe,
// Transitions), with From == To, Cause CauseReconfigure, a new Generation,
// and Evidence whose Action is "reconfigure", with Who, Why, and Old and
// New: the settings before and after, as the spec language writes them.
// OnStateChange is not called: the state did not change.
//
// It changes neither the Name, the Clock, Classify, the callbacks nor
// CountCalls. A Reconfigure waits for a Reset or another Reconfigure in
// progress, and for the policy's Records already running; as the policy's
// Reset, it must not be called from the policy's Record.
func (b *Breaker[T]) Reconfigure(s Settings, who, why string) error {
	b.mustBeBuilt("Reconfigure")
	return b.reconfigure(s, who, why)
}

func (c *core) reconfigure(st Settings, who, why string) error {
	// New's checks, word for word: the clock is the breaker's own.
	s, err := st.config(c.clock).validate()
	if err != nil {
		return err
	}
	// What Settings does not carry stays as New set it.
	s.rampUp, s.maxRetryAfter = c.rec.ramp, c.rec.maxRetryAfter
	s.text = st.Text
	if s.text == "" {
		s.text = describeSettings(&s)
	}
	// The note is the change's own, not the noteLog's: two Reconfigures
	// begun at the same generation on different goroutines would share a
	// span there, and one's transition be credited to the other's note,
	// read while that one was still being written. The machine serialises
	// Reconfigures and publishes each one's transition after its handover,
	// in order, and the transitions are delivered in order: the handover
	// queues the note (once nothing in it can panic any more, since a
	// handover that panics publishes nothing), and the delivery of the
	// change takes the note at the head of the queue.
	now := c.clock.Now()
	c.m.Reconfigure(s.machineConfig(), now, func() {
		old := c.live.Load()
		n := reconfNote{who: who, why: why, old: old.text, new: s.text}
		n.carried = policy.TakeOver(s.policy, old.policy, now)
		// Before the machine publishes the new word: a call admitted
		// under it finds the new policy's needs.
		c.setPolicy(&s)
		c.ev.queueReconf(n)
	})
	c.flush()
	return nil
}

// reconfNote is what a Reconfigure tells its transition's evidence.
type reconfNote struct {
	who, why, old, new string
	carried            bool
}

// describeSettings writes s in the spec language: the policy as its
// String writes it (a custom policy by its type), then every setting.
func describeSettings(s *settings) string {
	var b strings.Builder
	if str, ok := s.policy.(fmt.Stringer); ok {
		b.WriteString(strings.ReplaceAll(str.String(), " ", ""))
	} else {
		fmt.Fprintf(&b, "%T", s.policy)
	}
	b.WriteString("@open=" + specDuration(s.openTimeout))
	b.WriteString(",probes=" + strconv.Itoa(s.probes))
	if s.closeAfter != s.probes {
		b.WriteString(",close-after=" + strconv.Itoa(s.closeAfter))
	}
	if bo := s.backoff; bo != nil {
		b.WriteString(",backoff=" + specDuration(bo.Max))
		if bo.Factor != 0 {
			b.WriteString(",backoff-factor=" + strconv.FormatFloat(bo.Factor, 'g', -1, 64))
		}
		if bo.Jitter != 0 {
			b.WriteString(",backoff-jitter=" + strconv.FormatFloat(bo.Jitter, 'g', -1, 64))
		}
	}
	switch {
	case s.probeTimeout == 0:
		b.WriteString(",probe-timeout=off")
	case s.probeTimeout != s.openTimeout:
		b.WriteString(",probe-timeout=" + specDuration(s.probeTimeout))
	}
	return b.String()
}

// specDuration writes d as the spec language does: "1m", not "1m0s".
func specDuration(d time.Duration) string {
	s := strings.Replace(d.String(), "µs", "us", 1)
	for _, suffix := range []string{"m0s", "h0m"} {
		s = strings.Replace(s, suffix, suffix[:1], 1)
	}
	return s
}

// stamp gives a call carried over a Reconfigure what the policy now in
// force needs and the call may lack, having started or finished under a
// policy that needed less: its time, read now, and a duration, of zero
// (its start was not taken: it counts, and never as slow).
func (c *core) stamp(call policy.Call) policy.Call {
	needs := policy.Needs(c.needs.Load())
	if call.At.IsZero() && needs&policy.NeedTime != 0 {
		call.At = c.clock.Now()
	}
	if !call.HasDuration() && needs&policy.NeedDuration != 0 {
		call = call.WithDuration(0)
	}
	return call
}
