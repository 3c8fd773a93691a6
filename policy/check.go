package policy

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// The checks below build the errors of the constructors' Bind methods.
// Each names the constructor and the argument, so that breaker.New can say
// which one of several numbers was wrong.

// atLeast reports a count argument below least.
func atLeast(policy, arg string, v, least int64) error {
	if v < least {
		return argError(policy, arg, "must be at least "+strconv.FormatInt(least, 10)+", got "+strconv.FormatInt(v, 10))
	}
	return nil
}

// atMost reports a count argument above most, which is the value of the
// argument named bound.
func atMost(policy, arg string, v int64, bound string, most int64) error {
	if v > most {
		return argError(policy, arg, "must be at most "+bound+" ("+strconv.FormatInt(most, 10)+"), got "+strconv.FormatInt(v, 10))
	}
	return nil
}

// fraction reports a ratio outside (0, 1], NaN included.
func fraction(policy, arg string, r float64) error {
	if !(r > 0 && r <= 1) { // written so that NaN fails it
		return argError(policy, arg, "must be in (0, 1], got "+formatRatio(r))
	}
	return nil
}

// positive reports a duration argument that is zero or negative.
func positive(policy, arg string, d time.Duration) error {
	if d <= 0 {
		return argError(policy, arg, "must be positive, got "+d.String())
	}
	return nil
}

// firstError returns the first non-nil error: the first bad argument, in
// the order of the constructor's parameters.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// childError reports err, an error of the policy at index i of the
// children of the combinator named policy, as an *ArgError that names the
// child's argument through the combinator's ps argument. It wraps err, so
// that errors.Is(err, ErrShared) still holds for a shared child.
func childError(policy string, i int, err error) *ArgError {
	at := "ps[" + strconv.Itoa(i) + "]"
	var ae *ArgError
	if errors.As(err, &ae) {
		arg := at
		if ae.arg != "" {
			arg += "." + ae.arg
		}
		return &ArgError{Field: policy + "." + at + "." + ae.Field, arg: arg, problem: ae.problem, err: err}
	}
	return &ArgError{Field: policy + "." + at, arg: at, problem: strings.TrimPrefix(err.Error(), "policy: "), err: err}
}

// share is what the ratio policies share: the ratio that trips them and the
// fewest calls they judge.
type share struct {
	ratio    float64
	minCalls int64
}

// reached reports whether part of calls trips the policy: at least
// minCalls calls, and part/calls >= ratio. Dividing rather than multiplying
// keeps a ratio written in decimal exact: 3 of 10 reaches 0.3 because
// 3.0/10.0 rounds to the same float64 as the literal 0.3.
func (s share) reached(part, calls int64) bool {
	return calls >= max(s.minCalls, 1) && float64(part)/float64(calls) >= s.ratio
}

// validate reports a bad ratio or minCalls of the constructor named policy.
func (s share) validate(policy string) error {
	return firstError(fraction(policy, "ratio", s.ratio), atLeast(policy, "minCalls", s.minCalls, 1))
}

// String writes the ratio and minCalls as the constructors take them.
func (s share) String() string {
	return formatRatio(s.ratio) + ", " + strconv.FormatInt(s.minCalls, 10)
}

// formatRatio writes a ratio the shortest way that reads back the same.
func formatRatio(r float64) string { return strconv.FormatFloat(r, 'g', -1, 64) }
