package breaker

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/tripwire-go/tripwire/policy"
)

// actShadows is the Evidence.Action of a change of candidates.
const actShadows = "shadows"

// ReconfigureShadows replaces the breaker's shadow candidates while it
// runs: an operator tries a proposed setting on live traffic now, without
// a deploy (the console's "shadow" action), and removes it once judged.
// shadows are the candidates from now on, in order, as Config.Shadows
// takes them; nil or empty removes them all. who and why, optional, are
// noted in the evidence of the change.
//
// shadows is checked as New checks Config.Shadows, and an invalid one gets
// the same error (wrapping ErrInvalidConfig and naming the field, as
// "Shadows[1].Settings.Policy.ratio"; policy.ErrShared for a policy in
// use) and changes nothing: no candidate, no policy used up. Otherwise:
//
//   - a candidate given again, with the Name of one in force and the same
//     settings as [ShadowStatus.Settings] writes them (Settings.Text, or
//     as the breaker writes them), is kept: its state, counts and
//     transitions go on. It keeps the policy it has; the one given for it
//     is checked but not bound, so it stays free, and may be the very
//     policy the candidate runs;
//   - any other starts fresh, closed and empty, with the policy given,
//     which it binds as New does;
//   - a candidate not given again is removed: it is offered no more
//     calls, and the results of calls in flight no longer reach it.
//
// The change is one step for the calls: each call is offered to the
// candidates in force when it was admitted and reports to those of them
// still kept; none is lost or counted twice. The live circuit does not
// see it: its state, generation, policy and calls in flight are as they
// were, and a breaker whose last candidate (and OnCall) is gone takes its
// plain paths again once its calls in flight ended.
//
// The change is delivered like a transition (OnTransition, Subscribe,
// Transitions), with From == To, Cause CauseReconfigure, Shadow set (it
// changed nothing for calls: coordinators skip it), the generation
// unchanged, and Evidence whose Action is "shadows", with Who, Why, and
// Old and New: the candidates before and after, as a spec line writes them
// ("shadow rate(0.3,20,10s)@open=30s shadow lastn(0.5,10,20)"; "" for
// none); Detail says which were kept, started and removed. A removed
// candidate may still deliver a transition it was making while
// ReconfigureShadows ran, as a Subscribe listener may after its cancel.
//
// A ReconfigureShadows waits for another in progress. It must not be
// called from a policy's Bind, which it calls.
func (b *Breaker[T]) ReconfigureShadows(shadows []Shadow, who, why string) error {
	b.mustBeBuilt("ReconfigureShadows")
	return b.reconfigureShadows(shadows, who, why)
}

func (c *core) reconfigureShadows(shadows []Shadow, who, why string) error {
	list, err := checkShadowList(shadows, c.clock)
	if err != nil {
		return err
	}
	c.setMu.Lock()
	ev, err := c.swapShadows(shadows, list, who, why)
	if err != nil {
		c.setMu.Unlock()
		return err
	}
	// Queued before another change can swap: the changes reach the
	// history and the listeners in the order they were made, each Old the
	// New of the one before.
	c.m.Note(c.clock.Now(), func() {
		c.notesMu.Lock()
		c.pending = append(c.pending, ev)
		c.notesMu.Unlock()
	})
	c.setMu.Unlock()
	// With no lock of ours held: delivery runs the user's callbacks.
	c.flush()
	return nil
}

// swapShadows, with setMu held, binds the new candidates of list (checked
// from shadows), puts them in force and retires those removed, and returns
// the evidence of the change.
func (c *core) swapShadows(shadows []Shadow, list []shadowSettings, who, why string) (*Evidence, error) {
	o := c.obs.Load()
	old := o.candidates()
	byName := make(map[string]*candidate, len(old))
	for _, cd := range old {
		byName[cd.name] = cd
	}
	cands := make([]*candidate, len(list))
	var started, kept []string
	for i := range list {
		sh := &list[i]
		if sh.s.text == "" {
			sh.s.text = describeSettings(&sh.s)
		}
		cd := byName[sh.name]
		if cd == nil || cd.c.live.Load().text != sh.s.text {
			continue
		}
		// Kept: the policy given is checked, not bound (New's argument
		// checks, and ErrShared for one in use elsewhere), unless it is
		// the candidate's own or none.
		if p := shadows[i].Settings.Policy; p != nil && !samePolicy(p, cd.c.live.Load().policy) {
			if _, err := policy.Check(p); err != nil {
				return nil, shadowPolicyError(err, i)
			}
		}
		cands[i] = cd
		kept = append(kept, cd.name)
	}
	// The others are bound in one policy.Bind, all or none: a refusal
	// leaves every policy free.
	bd := &bundle{failed: -1}
	var fresh []int
	for i := range list {
		if cands[i] == nil {
			bd.ps = append(bd.ps, list[i].s.policy)
			fresh = append(fresh, i)
		}
	}
	if len(fresh) > 0 {
		if _, err := policy.Bind(bd); err != nil {
			at := 0
			if bd.failed >= 0 {
				at = fresh[bd.failed]
			}
			return nil, shadowPolicyError(err, at)
		}
	}
	base := &settings{name: c.name, clock: c.clock, describeError: c.ev.describe, rampUp: c.rec.ramp, maxRetryAfter: c.rec.maxRetryAfter}
	for k, i := range fresh {
		list[i].s.terms = bd.terms[k]
		cands[i] = c.newCandidate(&list[i], base)
		started = append(started, list[i].name)
	}
	inForce := make(map[*candidate]bool, len(cands))
	for _, cd := range cands {
		inForce[cd] = true
	}
	var set *shadowSet
	if len(cands) > 0 {
		set = &shadowSet{cands: cands}
	}
	if o == nil {
		o = newObservers()
		c.obs.CompareAndSwap(nil, o)
		o = c.obs.Load()
	}
	c.needsMu.Lock()
	if set != nil {
		// Before the set: a call that finds it must find the bit too,
		// or a permit of it could take Done's shortcut and drop it.
		c.needs.Or(needObserved)
	}
	o.set.Store(set)
	c.storeNeeds()
	c.needsMu.Unlock()
	var removed []string
	for _, cd := range old {
		if !inForce[cd] {
			cd.retired.Store(true)
			removed = append(removed, cd.name)
		}
	}
	e := &Evidence{Action: actShadows, Who: who, Why: why, Old: shadowLine(old), New: shadowLine(cands)}
	e.Detail = orNone(e.Old) + " → " + orNone(e.New)
	for _, g := range []struct {
		what  string
		names []string
	}{{"kept", kept}, {"started", started}, {"removed", removed}} {
		if len(g.names) == 0 {
			continue
		}
		q := make([]string, len(g.names))
		for i, n := range g.names {
			q[i] = strconv.Quote(n)
		}
		e.Detail += "; " + g.what + " " + strings.Join(q, ", ")
	}
	e.Text = CauseReconfigure.String() + " " + actShadows
	if who != "" {
		e.Text += " by " + who
	}
	if why != "" {
		e.Text += ": " + why
	}
	e.Text += "; " + e.Detail
	return e, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// shadowPolicyError is the ConfigError of err, an error of the policy of
// Shadows[i].
func shadowPolicyError(err error, i int) error {
	ce := policyError(err)
	ce.Field = "Shadows[" + strconv.Itoa(i) + "].Settings." + ce.Field
	return ce
}

// samePolicy reports whether p and q are the same policy value, without
// panicking on a type that == cannot compare.
func samePolicy(p, q policy.Policy) bool {
	if reflect.TypeOf(p) != reflect.TypeOf(q) || !reflect.TypeOf(p).Comparable() {
		return false
	}
	return p == q
}

// shadowLine writes cands as a spec line writes candidates: "shadow X
// shadow Y", each X its settings; "" for none.
func shadowLine(cands []*candidate) string {
	var b strings.Builder
	for _, cd := range cands {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("shadow " + cd.c.live.Load().text)
	}
	return b.String()
}

// SettingsLine returns the breaker's settings and its candidates' as one
// line of the spec language: Settings().Text, then "shadow" and each
// candidate's settings ("consecutive(5)@open=1m,probes=3 shadow
// rate(0.3,20,10s)@open=30s"), what spec.Parse reads back when the
// policies are package policy's. It is Settings().Text for a breaker
// without candidates.
func (b *Breaker[T]) SettingsLine() string {
	b.mustBeBuilt("SettingsLine")
	line := b.live.Load().text
	if s := shadowLine(b.obs.Load().candidates()); s != "" {
		line += " " + s
	}
	return line
}

// noted completes t, the machine's CauseNote transition, as the change of
// candidates it reports: its evidence is the oldest pending.
func (c *core) noted(t *Transition) {
	t.Cause = CauseReconfigure
	t.Shadow = true
	c.notesMu.Lock()
	if len(c.pending) > 0 {
		t.Evidence = c.pending[0]
		c.pending[0] = nil
		c.pending = c.pending[1:]
	}
	c.notesMu.Unlock()
	if t.Evidence == nil {
		t.Evidence = &Evidence{Action: actShadows, Text: CauseReconfigure.String() + " " + actShadows}
	}
}
