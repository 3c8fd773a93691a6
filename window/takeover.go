package window

import "time"

// TakeOver counts into w the calls that old holds within the window that
// ends at now, each at the start of its bucket in old, oldest first, so
// that a policy given a window of another length keeps what was counted:
// a longer window keeps all of old's calls, a shorter one those of its
// own span. w should be empty (new, or just Reset); neither window may be
// written meanwhile. It is for a breaker that takes new settings while it
// runs, not for a call's path: it records each call again, so it costs
// one Record per call held.
func (w *Time) TakeOver(old *Time, now time.Time) {
	h := old.head.Load()
	if h == noHead {
		return
	}
	k := max(old.bucketNear(old.nanos(now), h), h)
	n := int64(1) << old.shift
	for j := k - n + 1; j <= k; j++ {
		c := old.bucketCounts(j&old.mask, old.tag(j))
		if c.Calls == 0 {
			continue
		}
		// The bucket's start, or for the lowest buckets, whose start an
		// int64 does not hold, its last nanosecond.
		var ns int64
		switch {
		case uint64(j-old.low) <= uint64(old.high):
			ns = j * old.width
		case uint64(j+1-old.low) <= uint64(old.high):
			ns = (j+1)*old.width - 1
		default:
			continue
		}
		at := old.timeOf(ns)
		for i := range c.Calls {
			var m Marks
			if i < c.Failures {
				m |= Failed
			}
			if i < c.Slow {
				m |= Slow
			}
			w.Record(at, m)
		}
	}
}

// timeOf is the time whose nanos are ns: with the anchor's monotonic
// reading when there is one, so that w.nanos(timeOf(ns)) is ns.
func (w *Time) timeOf(ns int64) time.Time {
	if w.anchored.Load() == 2 {
		return w.anchor.Add(time.Duration(ns - w.anchorNano))
	}
	return time.Unix(0, ns)
}

// TakeOver counts into w the last calls old holds, as many as w holds,
// in the order they came, so that a policy given a ring of another length
// keeps what was counted. w should be empty (new, or just Reset); neither
// may be written meanwhile.
func (w *Last) TakeOver(old *Last) {
	calls := min(old.pos.Load(), old.n)
	keep := min(calls, w.n)
	pos := old.pos.Load()
	for i := pos - keep; i < pos; i++ {
		j := i % old.n
		word, bit := j/64, uint64(1)<<(j%64)
		var m Marks
		if old.failures[word].Load()&bit != 0 {
			m |= Failed
		}
		if old.slow[word].Load()&bit != 0 {
			m |= Slow
		}
		w.Record(m)
	}
}
