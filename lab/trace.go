package lab

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Trace describes a file of recorded calls to replay with [ReplayTrace],
// and what the file itself cannot say: when the fault was, and the
// service's breaker settings.
//
// The file is CSV with a header row naming its columns, in any order
// (names are matched ignoring case; other columns are ignored):
//
//   - start (or time, timestamp): when the call began, as RFC 3339
//     ("2026-11-30T14:02:11.120Z") or Unix time in seconds (with a
//     fraction, as nginx's $msec), milliseconds, microseconds or
//     nanoseconds, told apart by their size. Or end instead, in the same
//     forms: when the call ended, as access logs record it; the start is
//     then the end less the duration.
//   - duration (or latency, duration_ms): how long it took, as a Go
//     duration ("120ms") or a number of milliseconds; duration_s and
//     request_time (nginx's name) take seconds.
//   - outcome (or status, result): ok/success or error/failure, or an
//     HTTP status code from [MinStatus] to [MaxStatus], where Trace.Fails
//     decides (default: 5xx and 429 fail).
//   - fault (optional): true/false or 1/0, marking the calls that are part
//     of the fault. The fault then spans from the start of the first call
//     marked to the latest end of one.
//
// The calls need not be in order of start (an access log is written as
// calls end), but no call may start more than Reorder before one read
// earlier. The file is read once, as a stream: memory stays bounded
// whatever its length. A file with no call after its header, and a fault
// (FaultStart and FaultEnd, or the times) that no call falls in, are
// errors.
type Trace struct {
	// Name names the trace in the report and its timeline's file.
	// Default "trace".
	Name string
	// Description says what the trace recorded. Optional.
	Description string
	// FaultStart and FaultEnd, when FaultEnd is after FaultStart, bound the
	// fault, as offsets from the first call's start. Calls that start in
	// [FaultStart, FaultEnd) belong to it. Use them, or a fault column,
	// not both.
	FaultStart, FaultEnd time.Duration
	// FaultStartTime and FaultEndTime bound the fault in absolute time,
	// instead of FaultStart and FaultEnd.
	FaultStartTime, FaultEndTime time.Time
	// SlowCall, when positive, makes calls slower than this count as bad
	// in the figures, as in a [Scenario].
	SlowCall time.Duration
	// OpenTimeout and HalfOpenProbes stand for the service's breaker
	// settings, as in a [Scenario]: candidates that set none use these.
	OpenTimeout    time.Duration
	HalfOpenProbes int
	// Fails reports whether an HTTP status code is a failure. nil means
	// 5xx and 429.
	Fails func(status int) bool
	// Reorder is how far out of order of start the calls may be. 0 means
	// a minute; it bounds the memory the replay holds, to the calls that
	// start within Reorder of each other.
	Reorder time.Duration
}

// MinStatus and MaxStatus bound the HTTP status codes a trace's outcome
// column may hold (RFC 9110 defines 1xx to 5xx): a code outside them is a
// typo or a column of something else, refused rather than counted.
const (
	MinStatus = 100
	MaxStatus = 599
)

// DefaultFails is the default of Trace.Fails: 5xx and 429 (too many
// requests) are failures, every other status a success.
func DefaultFails(status int) bool { return status >= 500 && status <= 599 || status == 429 }

// TraceError reports a line of a trace that cannot be read.
type TraceError struct {
	// Line is the line of the file, from 1 (the header).
	Line int
	// Field is the column at fault, as named in the header, or "" for the
	// line as a whole.
	Field   string
	problem string
}

// Problem says what is wrong, without naming the line or the column.
func (e *TraceError) Problem() string { return e.problem }

// Error names the line, the column and what is wrong.
func (e *TraceError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("lab: trace line %d: %s", e.Line, e.problem)
	}
	return fmt.Sprintf("lab: trace line %d: %s: %s", e.Line, e.Field, e.problem)
}

// Unwrap returns ErrInvalidTrace.
func (e *TraceError) Unwrap() error { return ErrInvalidTrace }

// ErrInvalidTrace is wrapped by every error that reports a trace that
// cannot be read.
var ErrInvalidTrace = errors.New("lab: invalid trace")

// ReplayTrace replays the calls of a trace, exactly as recorded (start,
// duration, outcome), against every candidate, and measures each as in a
// scenario. The run spans from the first call's start to the last call's
// end, and the fault is what t or the fault column marks: without either,
// the trace has no fault, and its timing figures are NotApplicable.
func ReplayTrace(r io.Reader, t Trace, candidates []Candidate, opt Options) (*Report, error) {
	if err := checkCandidates(candidates); err != nil {
		return nil, err
	}
	if err := opt.check(); err != nil {
		return nil, err
	}
	src, err := newTraceSource(r, &t)
	if err != nil {
		return nil, err
	}
	s := src.s
	sr, err := replay(s, src, growingBins(), candidates, opt)
	if err != nil {
		return nil, err
	}
	sr.traced = true
	return &Report{Seed: opt.Seed, Fleet: opt.instances(), Route: opt.Route, Scenarios: []ScenarioReport{sr}}, nil
}

// FindFault reads a trace once and derives its fault, for a trace that
// does not mark it: the span from the first to the last second in which
// at least share of the calls (and at least 5 calls) failed, or were
// slower than t.SlowCall. It returns the span as offsets from the first
// call, for Trace.FaultStart and FaultEnd, and false when no second is
// that bad. Over a long trace the seconds widen (two, four, ...) so that
// at most a few thousand are kept.
func FindFault(r io.Reader, t Trace, share float64) (start, end time.Duration, found bool, err error) {
	if !(share > 0 && share <= 1) {
		return 0, 0, false, &RangeError{Field: "share", problem: fmt.Sprintf("must be a fraction in (0, 1], got %v", share)}
	}
	t.FaultStart, t.FaultEnd, t.FaultStartTime, t.FaultEndTime = 0, 0, time.Time{}, time.Time{}
	src, err := newTraceSource(r, &t)
	if err != nil {
		return 0, 0, false, err
	}
	bins := &loadBins{width: float64(time.Second)}
	for {
		c, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, 0, false, err
		}
		// A slow failure counts once.
		c.slow = c.slow && !c.failed
		bins.add(&c)
	}
	first, last := -1, -1
	for k, b := range bins.bins {
		if b.calls >= 5 && float64(b.failed+b.slow) >= share*float64(b.calls) {
			if first < 0 {
				first = k
			}
			last = k
		}
	}
	if first < 0 {
		return 0, 0, false, nil
	}
	return time.Duration(float64(first) * bins.width), time.Duration(float64(last+1) * bins.width), true, nil
}

// traceSource reads a trace's calls and releases them in order of start,
// holding back those that may still be overtaken.
type traceSource struct {
	t       *Trace
	s       *Scenario
	cr      *csv.Reader
	line    int
	col     struct{ start, end, duration, outcome, fault int }
	seconds bool // durations are in seconds

	pending  pendingHeap
	maxStart int64 // latest start read, Unix ns
	read1    bool  // a call has been read: maxStart holds its start
	origin   int64 // the first call's start, Unix ns, once known
	started  bool
	last     int64 // start of the last call released
	eof      bool
	end      time.Duration // latest end of a call released
	calls    int

	faultFrom, faultTo int64         // absolute fault bounds, Unix ns; from == to: none
	marked             bool          // the fault column is present
	firstMarked        time.Duration // start of the first marked call
	lastMarked         time.Duration // latest end of a marked call
	anyMarked          bool
}

type tracedCall struct {
	start, duration int64 // Unix ns, ns
	failed, fault   bool
}

func newTraceSource(r io.Reader, t *Trace) (*traceSource, error) {
	if t.Name == "" {
		t.Name = "trace"
	}
	if err := checkName(t.Name); err != nil {
		return nil, &RangeError{Field: "Trace.Name", problem: fmt.Sprintf("%q %s", t.Name, err)}
	}
	if t.Reorder == 0 {
		t.Reorder = time.Minute
	}
	if t.Fails == nil {
		t.Fails = DefaultFails
	}
	switch {
	case t.Reorder < 0:
		return nil, &RangeError{Field: "Trace.Reorder", problem: "must not be negative, got " + t.Reorder.String()}
	case t.SlowCall < 0:
		return nil, &RangeError{Field: "Trace.SlowCall", problem: "must not be negative, got " + t.SlowCall.String()}
	case t.FaultEnd < t.FaultStart || t.FaultStart < 0:
		return nil, &RangeError{Field: "Trace.FaultEnd", problem: fmt.Sprintf("the fault must not end (%v) before it starts (%v), nor start before the trace", t.FaultEnd, t.FaultStart)}
	case t.FaultEndTime.Before(t.FaultStartTime):
		return nil, &RangeError{Field: "Trace.FaultEndTime", problem: fmt.Sprintf("the fault must not end (%v) before it starts (%v)", t.FaultEndTime, t.FaultStartTime)}
	}
	src := &traceSource{t: t, cr: csv.NewReader(r)}
	src.cr.ReuseRecord = true
	src.cr.FieldsPerRecord = -1
	src.s = &Scenario{Name: t.Name, Description: t.Description, SlowCall: t.SlowCall,
		OpenTimeout: t.OpenTimeout, HalfOpenProbes: t.HalfOpenProbes, Rate: 1, Duration: 1}
	// The service's settings must be ones a breaker takes.
	probe := *src.s
	probe.Name = "x"
	if err := probe.Validate(); err != nil {
		var se *ScenarioError
		if errors.As(err, &se) {
			return nil, &RangeError{Field: "Trace." + map[string]string{"open_timeout": "OpenTimeout", "half_open_probes": "HalfOpenProbes"}[se.Field], problem: se.Problem()}
		}
		return nil, err
	}
	header, err := src.cr.Read()
	src.line = 1
	if err == io.EOF {
		return nil, &TraceError{Line: 1, problem: "the trace is empty: expected a header row, such as start,duration,status"}
	}
	if err != nil {
		return nil, &TraceError{Line: 1, problem: csvProblem(err)}
	}
	src.col.start, src.col.end, src.col.duration, src.col.outcome, src.col.fault = -1, -1, -1, -1, -1
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		slot := (*int)(nil)
		switch name {
		case "start", "time", "timestamp":
			slot = &src.col.start
		case "end":
			slot = &src.col.end
		case "duration", "latency", "duration_ms", "latency_ms":
			slot = &src.col.duration
		case "duration_s", "latency_s", "request_time":
			slot = &src.col.duration
			src.seconds = true
		case "outcome", "status", "result":
			slot = &src.col.outcome
		case "fault":
			slot = &src.col.fault
		}
		if slot == nil {
			continue
		}
		if *slot >= 0 {
			return nil, &TraceError{Line: 1, Field: h, problem: fmt.Sprintf("a second column for what column %d gives", *slot+1)}
		}
		*slot = i
	}
	var missing []string
	if src.col.start >= 0 && src.col.end >= 0 {
		return nil, &TraceError{Line: 1, Field: "end", problem: "give start or end, not both"}
	}
	if src.col.start < 0 && src.col.end < 0 {
		missing = append(missing, "start (or time, timestamp, or end)")
	}
	if src.col.duration < 0 {
		missing = append(missing, "duration (or latency, duration_ms, duration_s, request_time)")
	}
	if src.col.outcome < 0 {
		missing = append(missing, "outcome (or status, result)")
	}
	if missing != nil {
		return nil, &TraceError{Line: 1, problem: fmt.Sprintf("the header %q has no column %s", strings.Join(header, ","), strings.Join(missing, ", nor "))}
	}
	src.marked = src.col.fault >= 0
	byOffset := t.FaultEnd > t.FaultStart
	byTime := t.FaultEndTime.After(t.FaultStartTime)
	if src.marked && (byOffset || byTime) || byOffset && byTime {
		return nil, &RangeError{Field: "Trace.FaultStart", problem: "mark the fault one way: by offsets, by times, or by a fault column"}
	}
	if byTime {
		src.faultFrom, src.faultTo = t.FaultStartTime.UnixNano(), t.FaultEndTime.UnixNano()
	}
	return src, nil
}

func csvProblem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func (src *traceSource) next() (call, error) {
	for !src.eof && (len(src.pending) == 0 || src.pending[0].start > src.maxStart-int64(src.t.Reorder)) {
		if err := src.read(); err != nil {
			return call{}, err
		}
	}
	if len(src.pending) == 0 {
		if !src.started {
			return call{}, &TraceError{Line: src.line, problem: "no calls: the trace has a header and nothing after it"}
		}
		return call{}, io.EOF
	}
	tc := src.pending.pop()
	if !src.started {
		src.started, src.origin = true, tc.start
		if src.t.FaultEnd > src.t.FaultStart {
			src.faultFrom, src.faultTo = src.origin+int64(src.t.FaultStart), src.origin+int64(src.t.FaultEnd)
		}
	}
	if tc.start < src.last {
		// Only possible at the end of the file, where everything is let go.
		return call{}, src.outOfOrder(tc.start)
	}
	src.last = tc.start
	c := call{at: time.Duration(tc.start - src.origin), latency: time.Duration(tc.duration), failed: tc.failed}
	c.slow = src.t.SlowCall > 0 && c.latency > src.t.SlowCall
	switch {
	case src.marked:
		c.fault = tc.fault
		if tc.fault {
			if !src.anyMarked {
				src.anyMarked, src.firstMarked = true, c.at
			}
			src.lastMarked = max(src.lastMarked, c.at+c.latency)
		}
	case src.faultTo > src.faultFrom:
		c.fault = tc.start >= src.faultFrom && tc.start < src.faultTo
	}
	src.end = max(src.end, c.at+c.latency)
	src.calls++
	return c, nil
}

func (src *traceSource) outOfOrder(start int64) error {
	return &TraceError{Line: src.line, Field: "start", problem: fmt.Sprintf(
		"%s is more than %v before a call read earlier (%s): sort the trace by start time, or allow more with Reorder (-reorder)",
		time.Unix(0, start).UTC().Format(time.RFC3339Nano), src.t.Reorder, time.Unix(0, src.maxStart).UTC().Format(time.RFC3339Nano))}
}

// read reads one line into pending.
func (src *traceSource) read() error {
	rec, err := src.cr.Read()
	if err == io.EOF {
		src.eof = true
		return nil
	}
	src.line++
	if err != nil {
		return &TraceError{Line: src.line, problem: csvProblem(err)}
	}
	if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
		return nil // a blank line
	}
	field := func(i int) (string, error) {
		if i >= len(rec) {
			return "", &TraceError{Line: src.line, problem: fmt.Sprintf("%d fields, fewer than the header names", len(rec))}
		}
		return strings.TrimSpace(rec[i]), nil
	}
	var tc tracedCall
	timeCol, timeName := src.col.start, "start"
	if timeCol < 0 {
		timeCol, timeName = src.col.end, "end"
	}
	v, err := field(timeCol)
	if err != nil {
		return err
	}
	if tc.start, err = parseTimestamp(v); err != nil {
		return &TraceError{Line: src.line, Field: timeName, problem: err.Error()}
	}
	if v, err = field(src.col.duration); err != nil {
		return err
	}
	d, err := parseCallDuration(v, src.seconds)
	if err != nil {
		return &TraceError{Line: src.line, Field: "duration", problem: err.Error()}
	}
	tc.duration = int64(d)
	if timeName == "end" {
		tc.start -= tc.duration
	}
	if v, err = field(src.col.outcome); err != nil {
		return err
	}
	if tc.failed, err = parseOutcome(v, src.t.Fails); err != nil {
		return &TraceError{Line: src.line, Field: "outcome", problem: err.Error()}
	}
	if src.marked {
		if v, err = field(src.col.fault); err != nil {
			return err
		}
		switch strings.ToLower(v) {
		case "1", "true", "yes", "y":
			tc.fault = true
		case "0", "false", "no", "n", "":
		default:
			return &TraceError{Line: src.line, Field: "fault", problem: fmt.Sprintf("%q is not true/false or 1/0", v)}
		}
	}
	// The same test however many calls came before: a call may start at
	// most Reorder before the latest start read. (Testing only against the
	// calls already released let a short file step back any distance.)
	if src.read1 && tc.start < src.maxStart-int64(src.t.Reorder) || src.started && tc.start < src.last {
		return src.outOfOrder(tc.start)
	}
	if !src.read1 {
		src.read1, src.maxStart = true, tc.start
	}
	src.maxStart = max(src.maxStart, tc.start)
	src.pending.push(tc)
	return nil
}

// finalize sets the run's span and its fault, once every call is read.
// A fault given by offsets or times that misses the trace altogether is
// an error: the run would measure nothing and print n/a everywhere.
func (src *traceSource) finalize(s *Scenario) error {
	s.Duration = max(src.end, 1)
	s.Rate = float64(src.calls) / s.Duration.Seconds()
	var from, to time.Duration
	switch {
	case src.marked && src.anyMarked:
		from, to = src.firstMarked, max(src.lastMarked, src.firstMarked+1)
	case src.faultTo > src.faultFrom && src.started:
		from, to = time.Duration(src.faultFrom-src.origin), time.Duration(src.faultTo-src.origin)
	default:
		return nil
	}
	if !src.marked && (to <= 0 || from >= s.Duration) {
		return src.faultOutside(s.Duration)
	}
	from, to = max(from, 0), min(to, s.Duration)
	if to > from {
		s.Phases = []Phase{{Name: "fault", Start: from, End: to}}
	}
	return nil
}

// faultOutside reports a fault, given by offsets or by times, that does
// not overlap the trace, which spans span from its first call.
func (src *traceSource) faultOutside(span time.Duration) error {
	t := src.t
	if t.FaultEnd > t.FaultStart {
		return &RangeError{Field: "Trace.FaultStart", problem: fmt.Sprintf(
			"the fault, %v to %v after the first call, is outside the trace, which runs %v from its first call: no call falls in it",
			t.FaultStart, t.FaultEnd, span.Round(time.Millisecond))}
	}
	first := time.Unix(0, src.origin).UTC()
	return &RangeError{Field: "Trace.FaultStartTime", problem: fmt.Sprintf(
		"the fault, %s to %s, is outside the trace, which runs from %s to %s: no call falls in it",
		t.FaultStartTime.UTC().Format(time.RFC3339Nano), t.FaultEndTime.UTC().Format(time.RFC3339Nano),
		first.Format(time.RFC3339Nano), first.Add(span).Format(time.RFC3339Nano))}
}

// ParseTraceTime reads a time as a trace's start column does: RFC 3339, or
// Unix time in seconds, milliseconds, microseconds or nanoseconds.
func ParseTraceTime(v string) (time.Time, error) {
	ns, err := parseTimestamp(v)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, ns), nil
}

// parseTimestamp reads RFC 3339, or Unix time in seconds, milliseconds,
// microseconds or nanoseconds, told apart by size: a number below 1e11
// is seconds (up to the year 5138), below 1e14 milliseconds, below 1e17
// microseconds, else nanoseconds.
func parseTimestamp(v string) (int64, error) {
	if v == "" {
		return 0, errors.New("empty: expected RFC 3339 or Unix time")
	}
	if v[0] >= '0' && v[0] <= '9' && !strings.ContainsAny(v, "-:T") {
		f, err := strconv.ParseFloat(v, 64)
		if err == nil && f >= 0 && !math.IsInf(f, 0) {
			var ns float64
			switch {
			case f < 1e11:
				ns = f * 1e9
			case f < 1e14:
				ns = f * 1e6
			case f < 1e17:
				ns = f * 1e3
			default:
				ns = f
			}
			if ns < math.MaxInt64 {
				if whole, err := strconv.ParseInt(v, 10, 64); err == nil && f >= 1e17 {
					return whole, nil // exact nanoseconds
				}
				return int64(math.Round(ns)), nil
			}
		}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, fmt.Errorf("%q is not RFC 3339 (2026-11-30T14:02:11.12Z) nor Unix time (1764511331.12)", v)
	}
	return t.UnixNano(), nil
}

// parseCallDuration reads a Go duration, or a number of milliseconds (of
// seconds, for a column named so).
func parseCallDuration(v string, seconds bool) (time.Duration, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err == nil {
		unit := float64(time.Millisecond)
		if seconds {
			unit = float64(time.Second)
		}
		d := f * unit
		if !(d >= 0) || d > float64(100*365*24*time.Hour) {
			return 0, fmt.Errorf("%s is out of range: a call lasts from 0 to 100 years", v)
		}
		return time.Duration(d), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: a Go duration (\"120ms\") or a number of milliseconds", v)
	}
	if d < 0 {
		return 0, fmt.Errorf("must not be negative, got %s", v)
	}
	return d, nil
}

// parseOutcome reads ok/error words or an HTTP status code.
func parseOutcome(v string, fails func(int) bool) (failed bool, err error) {
	switch strings.ToLower(v) {
	case "ok", "success", "succeeded", "pass":
		return false, nil
	case "error", "err", "fail", "failed", "failure":
		return true, nil
	}
	code, convErr := strconv.Atoi(v)
	if convErr != nil {
		return false, fmt.Errorf("%q is neither ok/error nor an HTTP status code", v)
	}
	if code < MinStatus || code > MaxStatus {
		return false, fmt.Errorf("%d is not an HTTP status code: they run from %d to %d", code, MinStatus, MaxStatus)
	}
	return fails(code), nil
}

// pendingHeap is a min-heap of calls by start. Calls that start at the
// same instant come out in an order fixed by the input (the same trace
// replays the same way), not necessarily the order they were read: a
// read-order key would make every pending call larger, and replay measured
// 30% slower with one.
type pendingHeap []tracedCall

func (h *pendingHeap) push(c tracedCall) {
	*h = append(*h, c)
	q := *h
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if q[parent].start <= q[i].start {
			break
		}
		q[i], q[parent] = q[parent], q[i]
		i = parent
	}
}

func (h *pendingHeap) pop() tracedCall {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q = q[:last]
	for i := 0; ; {
		least, l, r := i, 2*i+1, 2*i+2
		if l < len(q) && q[l].start < q[least].start {
			least = l
		}
		if r < len(q) && q[r].start < q[least].start {
			least = r
		}
		if least == i {
			break
		}
		q[i], q[least] = q[least], q[i]
		i = least
	}
	*h = q
	return top
}
