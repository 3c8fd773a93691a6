package policy

import (
	"errors"
	"reflect"
	"strconv"
	"sync/atomic"
	"time"
)

// A Binder is a policy with terms: something it needs from the breaker
// that runs it (the time of each call, its duration), a promise it makes
// (to judge half-open probes), a check of its arguments, or a claim to
// belong to one breaker. Every built-in policy is a Binder.
//
// Bind is called once per breaker, by [Bind] (which breaker.New calls),
// with a [Binding] that only Bind makes; [Check] calls it too, with a
// Binding that claims nothing. It states the policy's terms on b
// ([Binding.Need], [Binding.JudgeProbes]), binds the policies it is built
// from ([Binding.Child]), and returns an error if its arguments are wrong
// ([NewArgError]) or it already belongs to another breaker
// ([Binding.Claim]). Called with a Binding that Bind did not make, it
// changes nothing and returns an error: nobody can spoil a policy by
// calling its Bind method.
type Binder interface {
	Bind(b *Binding) error
}

// An Unwrapper is a policy that wraps another one and adds no terms of its
// own: a logging or counting wrapper. [Bind] binds what Unwrap returns, so
// a wrapper that forwards Record and Reset needs no other method to keep
// the terms of the policy it wraps. It is the way [net/http.ResponseController]
// finds a ResponseWriter's optional methods through wrappers.
type Unwrapper interface {
	Unwrap() Policy
}

// Terms are what binding a policy found: what the breaker must do for it.
// The zero value is the terms of a policy that needs nothing and judges
// no probes.
type Terms struct {
	// Needs is which fields of [Call] the breaker must set.
	Needs Needs
	// TimeWithin is how much earlier than the call finished Call.At may
	// be, when Needs has NeedTime: the smallest tolerance that a policy of
	// the tree gave [Binding.NeedTimeWithin], or zero, for the exact time,
	// as soon as one of them asked for the time with [Binding.Need].
	TimeWithin time.Duration
	// Judge, if not nil, judges the half-open probes that Classify
	// called a success (see [ProbeJudge]).
	Judge ProbeJudge
	// Explainer, if not nil, gives the policy's account when it trips
	// (see [Explainer] and [Terms.Explain]).
	Explainer Explainer
	// Shedder, if not nil, is asked before each call of a closed circuit
	// whether to shed it (see [Shedder]).
	Shedder Shedder
}

// ProbeFailed reports whether a half-open probe that finished as c counts
// as a failure under t: Judge's verdict if there is a judge, else c.Failed.
func (t Terms) ProbeFailed(c Call) bool {
	if t.Judge != nil && !c.Failed {
		return t.Judge.ProbeFailed(c)
	}
	return c.Failed
}

// A Binding collects the terms of one policy and of the policies it is
// built from, while [Bind] binds them. Only Bind makes a usable one: the
// zero value refuses every use.
type Binding struct {
	root  *binding // shared by a policy and all its children
	terms Terms
	// exactTime: a policy of this tree asked for NeedTime with Need, so
	// TimeWithin does not hold.
	exactTime bool
}

// binding is what one call of Bind shares across the whole policy tree.
type binding struct {
	claim   bool     // false for Check: validate, claim nothing
	claimed []*Owner // claimed by this Bind so far: released if it fails
}

// errNotBound is what a Binder returns for a Binding that Bind did not make.
var errNotBound = errors.New("policy: Bind called with a Binding that policy.Bind did not make")

// Need asks the breaker to set the fields of Call that n names. On a
// Binding that Bind did not make it does nothing.
func (b *Binding) Need(n Needs) {
	if b.live() {
		b.terms.Needs |= n
		b.exactTime = b.exactTime || n&NeedTime != 0
	}
}

// NeedTimeWithin asks the breaker to set Call.At, as Need(NeedTime) does,
// to within d: At may be up to d earlier than the call finished (and, on
// a loaded machine, by as long again as a timer can run late). A policy
// that places calls in buckets, as the time windows do, needs no more
// than a fraction of a bucket; a breaker on the real clock then reads the
// clock about once every d rather than on every call, which is most of
// what such a policy costs a call. A d of zero or less asks for the exact
// time. On a Binding that Bind did not make it does nothing.
func (b *Binding) NeedTimeWithin(d time.Duration) {
	if !b.live() {
		return
	}
	if d <= 0 {
		b.Need(NeedTime)
		return
	}
	b.terms.Needs |= NeedTime
	if b.terms.TimeWithin == 0 || d < b.terms.TimeWithin {
		b.terms.TimeWithin = d
	}
}

// result returns the terms b collected.
func (b *Binding) result() Terms {
	t := b.terms
	if b.exactTime || t.Needs&NeedTime == 0 {
		t.TimeWithin = 0
	}
	return t
}

// JudgeProbes makes j the judge of half-open probes that Classify called a
// success: the breaker fails those for which j.ProbeFailed returns true. A
// policy that does not call it lets probes be judged by their outcome. On
// a Binding that Bind did not make it does nothing.
func (b *Binding) JudgeProbes(j ProbeJudge) {
	if b.live() {
		b.terms.Judge = j
	}
}

// live reports whether Bind made b.
func (b *Binding) live() bool { return b != nil && b.root != nil }

// Child binds p, a policy that the policy being bound is built from, and
// returns its terms, for the caller to combine into its own ([Any] and
// [All] do). p's needs are added to b's; its judge is not, since how to
// combine judges is the combinator's to say.
func (b *Binding) Child(p Policy) (Terms, error) {
	if !b.live() {
		return Terms{}, errNotBound
	}
	c := &Binding{root: b.root}
	if err := bind(p, c); err != nil {
		return Terms{}, err
	}
	b.terms.Needs |= c.terms.Needs
	b.terms.Shedder = joinShedders(b.terms.Shedder, c.terms.Shedder)
	b.exactTime = b.exactTime || c.exactTime
	if w := c.terms.TimeWithin; w > 0 && (b.terms.TimeWithin == 0 || w < b.terms.TimeWithin) {
		b.terms.TimeWithin = w
	}
	return c.result(), nil
}

// Bind binds p to the breaker being built: it checks p's arguments,
// claims p for that breaker and returns its terms. breaker.New calls it,
// last of its checks, so that a Config refused for another field leaves
// the policy unclaimed; a second Bind of the same policy (two breakers
// given one policy, or one policy twice in [Any]) returns an error that
// wraps [ErrShared]. Use [Check] to learn a policy's terms without
// claiming it.
//
// A policy that is a [Binder] binds itself; an [Unwrapper] that is not a
// Binder is bound through what it wraps. Any other policy has no terms,
// unless it holds a policy that has some in a field: a wrapper written as
// struct{ policy.Policy } would hide the needs, checks and claim of what it
// wraps, so Bind refuses it with an [ArgError] that names the field.
//
// Bind calls p's Bind method once. A Bind that fails releases every claim
// it made ([Binding.Claim]), so a policy refused for one bad child leaves
// its good children free for another breaker.
func Bind(p Policy) (Terms, error) {
	root := &binding{claim: true}
	b := &Binding{root: root}
	err := bind(p, b)
	if err != nil {
		for _, o := range root.claimed {
			o.claimed.Store(false)
		}
	}
	return b.result(), err
}

// Check returns p's terms and the first error Bind would report for its
// arguments or its shape, without claiming it. It does not see sharing.
// It calls p's Bind method with a Binding whose [Binding.Claim] only
// looks, so a policy that claims itself that way is not used up by it.
func Check(p Policy) (Terms, error) {
	b := &Binding{root: &binding{}}
	err := bind(p, b)
	return b.result(), err
}

// bind binds p on b.
func bind(p Policy, b *Binding) error {
	if isNil(p) {
		// A typed nil is not a nil Policy, but its methods would panic.
		return &ArgError{Field: typeName(p), problem: "is a nil " + typeName(p)}
	}
	switch q := p.(type) {
	case nil:
		return &ArgError{Field: "Policy", problem: "is nil"}
	case Binder:
		return q.Bind(b)
	case Unwrapper:
		inner := q.Unwrap()
		if inner == nil {
			return &ArgError{Field: typeName(p) + ".Unwrap()", problem: "returned nil"}
		}
		if isNil(inner) {
			return &ArgError{Field: typeName(p) + ".Unwrap()", problem: "returned a nil " + typeName(inner)}
		}
		return bind(inner, b)
	}
	if field, inner, ok := hidden(reflect.ValueOf(p), 0); ok {
		return &ArgError{
			Field:   typeName(p) + "." + field,
			problem: "holds a " + inner + " whose terms (needs, checks, claim) the breaker would not see: give " + typeName(p) + " an Unwrap() policy.Policy method, or a Bind method that binds it with Binding.Child",
		}
	}
	return nil
}

// hidden finds a field of v that holds a policy with terms, directly or in
// a wrapper of its own that hides them, and returns the field's name and
// the type of what it holds. It looks into structs, through pointers and
// interfaces, and into slices and arrays of policies, a few levels deep.
func hidden(v reflect.Value, depth int) (field, inner string, ok bool) {
	if depth > 4 {
		return "", "", false
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "", "", false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return "", "", false
	}
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.Interface, reflect.Pointer:
			if in, ok := heldTerms(f, depth); ok {
				return name, in, true
			}
		case reflect.Slice, reflect.Array:
			if f.Type().Elem().Kind() != reflect.Interface && f.Type().Elem().Kind() != reflect.Pointer {
				continue
			}
			for j := range f.Len() {
				if in, ok := heldTerms(f.Index(j), depth); ok {
					return name + "[" + strconv.Itoa(j) + "]", in, true
				}
			}
		}
	}
	return "", "", false
}

// heldTerms reports whether f, a field's value, is a policy with terms the
// field's owner would hide, and its type.
func heldTerms(f reflect.Value, depth int) (string, bool) {
	if f.IsNil() {
		return "", false
	}
	t := f.Type()
	if f.Kind() == reflect.Interface {
		t = f.Elem().Type()
	}
	if !t.Implements(policyType) {
		return "", false
	}
	if t.Implements(binderType) {
		return t.String(), true
	}
	if t.Implements(unwrapperType) {
		return "", false // it keeps its inner policy's terms itself
	}
	if _, in, ok := hidden(f, depth+1); ok {
		return in, true
	}
	return "", false
}

var (
	policyType    = reflect.TypeFor[Policy]()
	binderType    = reflect.TypeFor[Binder]()
	unwrapperType = reflect.TypeFor[Unwrapper]()
)

// isNil reports whether p, not a nil Policy, holds a nil pointer, map,
// channel or function: a typed nil, whose methods are likely to panic.
func isNil(p Policy) bool {
	switch v := reflect.ValueOf(p); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func:
		return v.IsNil()
	}
	return false
}

// typeName names p's type for an error.
func typeName(p Policy) string { return reflect.TypeOf(p).String() }

// An Owner makes the policy that holds it belong to one breaker, as every
// built-in policy does: a policy of one's own that holds state keeps an
// Owner in a field and claims it in its Bind method with [Binding.Claim].
// The zero value belongs to no breaker; an Owner must not be copied after
// it is first claimed. It is safe for concurrent use.
type Owner struct {
	claimed atomic.Bool
}

// Claim claims o for the breaker being bound, and returns [ErrShared] if o
// belongs to a breaker already (or was claimed earlier in the same Bind:
// one policy given twice to [Any]). Under [Check] it claims nothing and
// only looks. If the Bind it is part of fails, for this policy or any
// other in the tree, the claim is released: a breaker.New that fails
// leaves the policy free. On a Binding that Bind did not make it claims
// nothing and returns an error.
func (b *Binding) Claim(o *Owner) error {
	if !b.live() {
		return errNotBound
	}
	if o == nil {
		return errors.New("policy: Binding.Claim given a nil *Owner")
	}
	if !b.root.claim {
		if o.claimed.Load() {
			return ErrShared
		}
		return nil
	}
	if !o.claimed.CompareAndSwap(false, true) {
		return ErrShared
	}
	b.root.claimed = append(b.root.claimed, o)
	return nil
}

// owner is embedded by the built-in policies: it makes them belong to one
// breaker. The zero value belongs to none.
type owner struct {
	own Owner
}

// claim claims the policy for the breaker that b binds it to.
func (o *owner) claim(b *Binding) error { return b.Claim(&o.own) }
