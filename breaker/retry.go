package breaker

import (
	"errors"
	"time"
)

// RetryAfter tells a retry loop whether and when to try again after err:
// when err is a rejection by a breaker (it wraps an [*OpenError]), it
// returns how long after now to wait ([OpenError.RetryAfter]) and true. It
// returns false for a circuit forced open, which stays open until someone
// resets it, and for any error that is not a rejection: the breaker has
// nothing to say about those, and whether they are worth a retry is for the
// caller to decide.
func RetryAfter(err error, now time.Time) (wait time.Duration, ok bool) {
	var oe *OpenError
	if !errors.As(err, &oe) || oe.forced {
		return 0, false
	}
	return oe.RetryAfter(now), true
}
