package breaker

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Backoff lengthens the open period when the circuit trips again and again:
// a dependency that fails its probes gets more time to recover, and fewer
// probes, at each new trip. The count starts over when the circuit closes.
//
// The n-th open period in a row lasts OpenTimeout × Factor^(n-1), capped at
// Max, then shortened by a random fraction of up to Jitter, so that many
// breakers that tripped together do not probe together.
//
// With Forget, the count outlives the close: see Forget.
//
// A Backoff is read once, by New; changing it afterwards has no effect.
type Backoff struct {
	// Forget, when positive, makes the backoff remember across closes: a
	// circuit that probes close keeps its count of trips in a row, and
	// each whole Forget it then stays closed forgives one of them,
	//
	//	trips = max(0, trips − ⌊time closed / Forget⌋)
	//
	// before the next trip adds one. So a dependency that flaps (fails
	// again soon after each close) gets ever longer rests, up to Max,
	// where without Forget every close starts over at OpenTimeout; and
	// one that stays healthy sheds a step of its history every Forget,
	// as Envoy shortens an ejection each interval a host stays healthy.
	// Reset and a close adopted from a coordinator start the count over.
	// Time is compared with the clock's monotonic reading, so a step of
	// the wall clock changes nothing. 0 means every close starts the
	// count over; negative is invalid.
	Forget time.Duration

	// Factor multiplies the open period at each trip in a row. 0 means 2;
	// otherwise it must be at least 1.
	Factor float64
	// Max caps the open period. 0 means DefaultBackoffMaxFactor times
	// Config.OpenTimeout (capped at the longest Duration); otherwise it
	// must be at least Config.OpenTimeout.
	Max time.Duration
	// Jitter is the largest fraction by which a period is shortened, in
	// [0, 1). 0 means no jitter.
	Jitter float64
	// Rand returns a number in [0, 1) for the jitter. nil means
	// math/rand/v2's Float64. Set it to make tests deterministic. A value
	// outside [0, 1), NaN included, counts as 0 (no jitter): a broken
	// source must neither stretch nor negate the period, nor stop the
	// circuit from opening; the lab, which runs Rand before a breaker
	// does, reports such a value as an error. It is
	// called while the breaker changes state: it must be quick and must not
	// call the breaker. If it panics, the panic reaches the caller whose
	// call was opening the circuit, and the circuit does not open: it stays
	// closed, or half-open with the failed probe's slot freed.
	Rand func() float64
}

// DefaultBackoffFactor is the Factor of a Backoff whose Factor is zero.
const DefaultBackoffFactor = 2

// DefaultBackoffMaxFactor is how many times Config.OpenTimeout a Backoff
// whose Max is zero lets the open period grow to: with the default 60 s
// timeout, ten minutes, reached after four trips in a row at Factor 2. It
// makes &Backoff{} a working backoff rather than an invalid one.
const DefaultBackoffMaxFactor = 10

// withDefaults returns bo with a zero Max filled in for openTimeout.
func (bo Backoff) withDefaults(openTimeout time.Duration) Backoff {
	if bo.Max == 0 {
		bo.Max = openTimeout * DefaultBackoffMaxFactor
		if openTimeout > math.MaxInt64/DefaultBackoffMaxFactor {
			bo.Max = math.MaxInt64 // saturate: ten times would wrap
		}
	}
	return bo
}

func (bo *Backoff) validate(openTimeout time.Duration) error {
	switch {
	case bo.Factor != 0 && !(bo.Factor >= 1) || math.IsInf(bo.Factor, 0):
		return &ConfigError{Field: "Backoff.Factor", why: "must be 0 (for 2) or a finite number of at least 1, got " + strconv.FormatFloat(bo.Factor, 'g', -1, 64)}
	case bo.Max < openTimeout:
		return &ConfigError{Field: "Backoff.Max", why: "must be 0 (for " + strconv.Itoa(DefaultBackoffMaxFactor) + " times OpenTimeout) or at least OpenTimeout (" + openTimeout.String() + "), got " + bo.Max.String()}
	case bo.Forget < 0:
		return &ConfigError{Field: "Backoff.Forget", why: "must not be negative, got " + bo.Forget.String()}
	case !(bo.Jitter >= 0 && bo.Jitter < 1):
		return &ConfigError{Field: "Backoff.Jitter", why: "must be in [0, 1), got " + strconv.FormatFloat(bo.Jitter, 'g', -1, 64)}
	}
	return nil
}

// openFor returns how long the circuit stays open after its trips-th trip
// in a row.
func (s *settings) openFor() func(trips int) time.Duration {
	base := s.openTimeout
	if s.backoff == nil {
		return func(int) time.Duration { return base }
	}
	bo := *s.backoff
	if bo.Factor == 0 {
		bo.Factor = DefaultBackoffFactor
	}
	if bo.Rand == nil {
		bo.Rand = rand.Float64
	}
	return func(trips int) time.Duration {
		// Whole Durations where no factor applies: float64 has 53 bits of
		// mantissa, so a round trip through it would move a timeout near
		// math.MaxInt64 by up to a microsecond (to Max, past OpenTimeout).
		d := min(base, bo.Max)
		if f := math.Pow(bo.Factor, float64(trips-1)); f > 1 {
			d = durationOf(float64(base)*f, bo.Max)
		}
		if bo.Jitter > 0 {
			u := bo.Rand()
			if !(u >= 0 && u < 1) {
				u = 0 // a broken source must not stretch or negate the period
			}
			d -= durationOf(float64(d)*bo.Jitter*u, d)
		}
		return d
	}
}

// durationOf converts d, a period computed in float64 and capped at max,
// to a Duration without overflow. float64 has 53 bits of mantissa: near
// math.MaxInt64, float64(max) rounds up to 2^63, which does not fit a
// Duration, and converting it gives the most negative one, an open period
// that has ended before it began. A d at or past max is max itself.
func durationOf(d float64, max time.Duration) time.Duration {
	if !(d < float64(max)) {
		return max
	}
	// d < float64(max) <= 2^63, so it fits; it can still pass max by the
	// rounding of float64(max).
	return min(time.Duration(d), max)
}
