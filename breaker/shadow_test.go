package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
	"pgregory.net/rapid"
)

var errShadowTest = errors.New("dependency failed")

// drawClock returns a clock that starts at an epoch of epochs.All.
func drawClock(t *rapid.T) *manualClock {
	e := epochs.Gen(epochs.All()).Draw(t, "epoch")
	return newManualClock(clockStart{name: e.Name, at: e.At})
}

// shadowSettings draws the settings of a breaker or a candidate: a policy
// of one of the built-in kinds and the settings that shape its open and
// half-open periods. build gives a fresh policy of the same kind each
// call, so that a reference breaker can have its own.
type drawnSettings struct {
	kind  string
	build func() policy.Policy
	s     breaker.Settings
}

func drawSettings(t *rapid.T, label string) drawnSettings {
	n := rapid.IntRange(1, 6).Draw(t, label+".n")
	ratio := rapid.SampledFrom([]float64{0.25, 0.5, 1}).Draw(t, label+".ratio")
	over := time.Duration(rapid.IntRange(1, 20).Draw(t, label+".over")) * time.Second
	kind := rapid.SampledFrom([]string{"consecutive", "window", "rate", "lastn"}).Draw(t, label+".kind")
	build := map[string]func() policy.Policy{
		"consecutive": func() policy.Policy { return policy.Consecutive(n) },
		"window":      func() policy.Policy { return policy.Window(n, over) },
		"rate":        func() policy.Policy { return policy.Rate(ratio, n, over) },
		"lastn":       func() policy.Policy { return policy.LastN(ratio, n, n+3) },
	}[kind]
	d := drawnSettings{kind: kind, build: build}
	d.s.OpenTimeout = time.Duration(rapid.IntRange(1, 10).Draw(t, label+".open")) * time.Second
	d.s.HalfOpenProbes = rapid.IntRange(1, 3).Draw(t, label+".probes")
	d.s.CloseAfter = rapid.IntRange(0, 3).Draw(t, label+".closeAfter")
	if rapid.Bool().Draw(t, label+".backoff") {
		d.s.Backoff = &breaker.Backoff{Max: 4 * d.s.OpenTimeout}
	}
	if rapid.Bool().Draw(t, label+".probeTimeout") {
		d.s.ProbeTimeout = time.Duration(rapid.IntRange(1, 5).Draw(t, label+".probeTimeoutS")) * time.Second
	}
	return d
}

// config returns a fresh configuration of d.
func (d drawnSettings) config(clk breaker.Clock) breaker.Config[int] {
	return breaker.Config[int]{
		Policy: d.build(), OpenTimeout: d.s.OpenTimeout, HalfOpenProbes: d.s.HalfOpenProbes,
		CloseAfter: d.s.CloseAfter, Backoff: copyBackoff(d.s.Backoff), ProbeTimeout: d.s.ProbeTimeout, Clock: clk,
	}
}

// settings returns fresh Settings of d.
func (d drawnSettings) settings() breaker.Settings {
	s := d.s
	s.Policy = d.build()
	s.Backoff = copyBackoff(s.Backoff)
	return s
}

func copyBackoff(b *breaker.Backoff) *breaker.Backoff {
	if b == nil {
		return nil
	}
	c := *b
	return &c
}

// panicky is a policy that panics on every Record: a candidate's bug.
type shadowPanic struct{}

func (shadowPanic) Record(policy.Call) bool { panic("panicky policy") }
func (shadowPanic) Reset()                  {}

// liveTransition is what two runs of a live circuit must agree on.
type liveTransition struct {
	From, To   breaker.State
	Cause      breaker.Cause
	Mode       breaker.Mode
	Generation uint64
	At, Until  time.Time
	Evidence   string
}

func liveOf(t breaker.Transition) liveTransition {
	return liveTransition{t.From, t.To, t.Cause, t.Mode, t.Generation, t.At, t.Until, t.Evidence.String()}
}

// TestShadowsNeverChangeCalls runs the same calls, on the same clock,
// through a breaker without shadows and one with random candidates (one of
// which may panic): every call must be admitted or rejected alike, Execute
// must return exactly what the call returned, and the live circuits must
// make the same transitions, with the same evidence, and report the same
// metrics. So a candidate never rejects, delays or changes a call, and
// never moves the live circuit.
func TestShadowsNeverChangeCalls(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		clk := drawClock(t)
		live := drawSettings(t, "live")
		nshadows := rapid.IntRange(1, 3).Draw(t, "shadows")
		var shadows []breaker.Shadow
		for i := range nshadows {
			d := drawSettings(t, fmt.Sprint("shadow", i))
			shadows = append(shadows, breaker.Shadow{Name: fmt.Sprint("s", i), Settings: d.settings()})
		}
		if rapid.Bool().Draw(t, "panicky") {
			shadows = append(shadows, breaker.Shadow{Name: "panicky", Settings: breaker.Settings{Policy: shadowPanic{}}})
		}
		onCall := rapid.Bool().Draw(t, "onCall")
		var plainT, shadowT []liveTransition
		var shadowCount int
		cfgA := live.config(clk)
		cfgA.CountCalls = true
		cfgA.OnTransition = func(tr breaker.Transition) { plainT = append(plainT, liveOf(tr)) }
		cfgB := live.config(clk)
		cfgB.CountCalls = true
		cfgB.Shadows = shadows
		cfgB.OnTransition = func(tr breaker.Transition) {
			if tr.Shadow {
				shadowCount++
				return
			}
			shadowT = append(shadowT, liveOf(tr))
		}
		var records int
		if onCall {
			cfgB.OnCall = func(breaker.CallRecord) { records++ }
		}
		a, err := breaker.New(cfgA)
		if err != nil {
			t.Fatal(err)
		}
		b, err := breaker.New(cfgB)
		if err != nil {
			t.Fatal(err)
		}
		ran := 0
		calls := &pairedCalls{a: a, b: b, clk: clk, without: "without shadows", ran: func() { ran++ }}
		t.Repeat(calls.actions(map[string]func(*rapid.T){
			"act": func(t *rapid.T) {
				switch rapid.IntRange(0, 3).Draw(t, "act") {
				case 0:
					a.Trip()
					b.Trip()
				case 1:
					a.Reset()
					b.Reset()
				case 2:
					a.State()
					b.State()
				default:
					a.TripFor(time.Second)
					b.TripFor(time.Second)
				}
			},
			"": func(t *rapid.T) {
				if a.State() != b.State() {
					t.Fatalf("State: without shadows %v, with %v", a.State(), b.State())
				}
				ma, mb := a.Metrics(), b.Metrics()
				if ma != mb {
					t.Fatalf("Metrics:\nwithout shadows %+v\nwith            %+v", ma, mb)
				}
				if len(plainT) != len(shadowT) {
					t.Fatalf("transitions: without shadows %v, with %v", plainT, shadowT)
				}
				for i := range plainT {
					if plainT[i] != shadowT[i] {
						t.Fatalf("transition %d: without shadows %+v, with %+v", i, plainT[i], shadowT[i])
					}
				}
				for _, st := range b.Shadows() {
					if st.Calls != uint64(ran) {
						t.Fatalf("candidate %s was offered %d calls, the breaker ran %d", st.Name, st.Calls, ran)
					}
				}
			},
		}))
		calls.releaseAll()
		if onCall && records != ran {
			t.Fatalf("OnCall heard of %d calls, %d ran", records, ran)
		}
	})
}

// shadowEvent is what a candidate and a real breaker must agree on.
type shadowEvent struct {
	From, To  breaker.State
	Cause     breaker.Cause
	At, Until time.Time
	Evidence  string
}

// TestShadowActsAsARealBreaker feeds the same calls to a shadow-only
// breaker (which lets every call run) with a random candidate, and to a
// real breaker with the candidate's settings: the candidate must make the
// real breaker's transitions, with the same evidence, would reject
// exactly the calls the real one rejects, and report the same state and
// opens.
func TestShadowActsAsARealBreaker(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		clk := drawClock(t)
		cand := drawSettings(t, "candidate")
		var got, want []shadowEvent
		ev := func(tr breaker.Transition) shadowEvent {
			return shadowEvent{tr.From, tr.To, tr.Cause, tr.At, tr.Until, tr.Evidence.String()}
		}
		live, err := breaker.New(breaker.Config[int]{
			Clock: clk, ShadowOnly: true,
			Shadows: []breaker.Shadow{{Name: "candidate", Settings: cand.settings()}},
			OnTransition: func(tr breaker.Transition) {
				if tr.Candidate == "candidate" {
					if !tr.Shadow {
						t.Fatalf("a candidate's transition not marked Shadow: %+v", tr)
					}
					got = append(got, ev(tr))
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		cfg := cand.config(clk)
		cfg.OnTransition = func(tr breaker.Transition) { want = append(want, ev(tr)) }
		real, err := breaker.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		type pair struct {
			live breaker.Permit[int]
			real *breaker.Permit[int]
		}
		var inflight []pair
		rejected := uint64(0)
		t.Repeat(map[string]func(*rapid.T){
			"allow": func(t *rapid.T) {
				pl, err := live.Allow()
				if err != nil {
					t.Fatalf("a shadow-only breaker rejected a call: %v", err)
				}
				p := pair{live: pl}
				if pr, err := real.Allow(); err == nil {
					p.real = &pr
				} else {
					rejected++
				}
				inflight = append(inflight, p)
			},
			"done": func(t *rapid.T) {
				if len(inflight) == 0 {
					t.Skip("nothing in flight")
				}
				i := rapid.IntRange(0, len(inflight)-1).Draw(t, "i")
				p := inflight[i]
				inflight = append(inflight[:i], inflight[i+1:]...)
				o := rapid.IntRange(0, 2).Draw(t, "outcome")
				report := func(q breaker.Permit[int]) {
					switch o {
					case 0:
						q.Done(1, nil)
					case 1:
						q.Done(0, errShadowTest)
					default:
						q.Release()
					}
				}
				report(p.live)
				if p.real != nil {
					report(*p.real)
				}
			},
			"wait": func(t *rapid.T) {
				clk.Add(time.Duration(rapid.IntRange(1, 4000).Draw(t, "ms")) * time.Millisecond)
			},
			"": func(t *rapid.T) {
				st := live.Shadows()[0]
				m := real.Metrics()
				if st.State != m.State || st.Trips != m.Trips || st.Reopens != m.Reopens || st.Until != m.Until {
					t.Fatalf("candidate %+v, real breaker %+v", st, m)
				}
				if st.WouldReject != rejected {
					t.Fatalf("candidate would have rejected %d calls, the real breaker rejected %d", st.WouldReject, rejected)
				}
				if len(got) != len(want) {
					t.Fatalf("candidate's transitions %+v\nreal breaker's %+v", got, want)
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("transition %d: candidate's %+v, real breaker's %+v", i, got[i], want[i])
					}
				}
			},
		})
	})
}

func TestShadowOnlyRejectsNothing(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	var ts []breaker.Transition
	var changes []string
	b, err := breaker.New(breaker.Config[int]{
		Name: "shadow", Clock: clk, ShadowOnly: true, CountCalls: true,
		Policy: policy.Consecutive(2), OpenTimeout: 10 * time.Second, HalfOpenProbes: 1,
		OnTransition:  func(tr breaker.Transition) { ts = append(ts, tr) },
		OnStateChange: func(_ string, from, to breaker.State) { changes = append(changes, from.String()+">"+to.String()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	fail := func(context.Context) (int, error) { return 0, errShadowTest }
	ran := 0
	run := func(fn func(context.Context) (int, error)) {
		t.Helper()
		called := false
		_, err := b.Execute(context.Background(), func(ctx context.Context) (int, error) { called = true; return fn(ctx) })
		if !called || errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("a shadow-only breaker rejected a call: %v", err)
		}
		ran++
	}
	for range 5 {
		run(fail)
	}
	if b.State() != breaker.Open {
		t.Fatalf("State = %v, want open: it decides as a breaker would", b.State())
	}
	m := b.Metrics()
	if !m.ShadowOnly || m.WouldReject != 3 || m.Rejected != 0 || m.Trips != 1 || m.Failures != 5 {
		t.Fatalf("Metrics = %+v, want ShadowOnly, WouldReject 3, Rejected 0, Trips 1, Failures 5", m)
	}
	// Half-open: one probe; the calls beyond it run and count for nothing.
	clk.Add(10 * time.Second)
	p1, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	p2, err := b.Allow()
	if err != nil {
		t.Fatalf("a shadow-only breaker rejected a call beyond its probes: %v", err)
	}
	p2.Done(0, errShadowTest) // would have been rejected: changes nothing
	if b.State() != breaker.HalfOpen {
		t.Fatalf("State = %v after a call it would have rejected failed, want half-open", b.State())
	}
	p1.Done(1, nil)
	if b.State() != breaker.Closed {
		t.Fatalf("State = %v after the probe succeeded, want closed", b.State())
	}
	b.ForceOpen()
	run(fail)
	if got := b.Metrics().WouldReject; got != 5 {
		t.Fatalf("WouldReject = %d, want 5", got)
	}
	for _, tr := range ts {
		if !tr.Shadow || tr.Candidate != "" {
			t.Errorf("transition %+v: want Shadow, no Candidate", tr)
		}
	}
	if want := "closed>open open>half-open half-open>closed closed>open"; strings.Join(changes, " ") != want {
		t.Errorf("OnStateChange saw %q, want %q: a shadow-only breaker reports its own transitions", strings.Join(changes, " "), want)
	}
}

// TestShadowPanicsNeverReachTheCall: a candidate whose policy panics, and an
// OnTransition that panics on a candidate's transitions, disturb no call:
// the panics are recovered and counted.
func TestShadowPanicsNeverReachTheCall(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	b, err := breaker.New(breaker.Config[int]{
		Clock: clk,
		Shadows: []breaker.Shadow{
			{Name: "panicky", Settings: breaker.Settings{Policy: shadowPanic{}}},
			{Name: "quick", Settings: breaker.Settings{Policy: policy.Consecutive(1)}},
		},
		OnTransition: func(tr breaker.Transition) {
			if tr.Shadow {
				panic("listener of shadows")
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		r, err := b.Execute(context.Background(), func(context.Context) (int, error) { return 3, errShadowTest })
		if r != 3 || err != errShadowTest {
			t.Fatalf("Execute = %v, %v; want the call's own 3, %v", r, err, errShadowTest)
		}
	}
	st := b.Shadows()
	if st[0].Panics != 3 || !strings.Contains(st[0].LastPanic, "panicky policy") {
		t.Errorf("panicky candidate: Panics %d, LastPanic %q; want 3, the policy's panic", st[0].Panics, st[0].LastPanic)
	}
	if st[1].Panics != 1 || st[1].State != breaker.Open || st[1].Trips != 1 {
		t.Errorf("quick candidate: %+v; want open, one trip, one panic (its transition's listener)", st[1])
	}
	if b.State() != breaker.Closed {
		t.Errorf("the live circuit is %v, want closed", b.State())
	}
}

// TestShadowConfigErrors: a bad candidate is refused with a field that
// names it, and leaves every policy free for another breaker.
func TestShadowConfigErrors(t *testing.T) {
	shared := policy.Consecutive(3)
	livePolicy := policy.Consecutive(5)
	many := make([]breaker.Shadow, breaker.MaxShadows+1)
	for i := range many {
		many[i] = breaker.Shadow{Name: fmt.Sprint(i)}
	}
	for _, tc := range []struct {
		name    string
		cfg     breaker.Config[int]
		field   string
		isShare bool
	}{
		{"too many", breaker.Config[int]{Shadows: many}, "Shadows", false},
		{"no name", breaker.Config[int]{Shadows: []breaker.Shadow{{}}}, "Shadows[0].Name", false},
		{"control", breaker.Config[int]{Shadows: []breaker.Shadow{{Name: "a\nb"}}}, "Shadows[0].Name", false},
		{"twice", breaker.Config[int]{Shadows: []breaker.Shadow{{Name: "a"}, {Name: "a"}}}, "Shadows[1].Name", false},
		{"open", breaker.Config[int]{Shadows: []breaker.Shadow{{Name: "a", Settings: breaker.Settings{OpenTimeout: -1}}}}, "Shadows[0].Settings.OpenTimeout", false},
		{"argument", breaker.Config[int]{Shadows: []breaker.Shadow{{Name: "a"}, {Name: "b", Settings: breaker.Settings{Policy: policy.Rate(2, 1, time.Second)}}}}, "Shadows[1].Settings.Policy.ratio", false},
		{"shared with the live policy", breaker.Config[int]{Policy: livePolicy, Shadows: []breaker.Shadow{{Name: "a", Settings: breaker.Settings{Policy: livePolicy}}}}, "Shadows[0].Settings.Policy", true},
		{"shared by two", breaker.Config[int]{Policy: livePolicy, Shadows: []breaker.Shadow{{Name: "a", Settings: breaker.Settings{Policy: shared}}, {Name: "b", Settings: breaker.Settings{Policy: shared}}}}, "Shadows[1].Settings.Policy", true},
	} {
		_, err := breaker.New(tc.cfg)
		var ce *breaker.ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || !errors.Is(err, breaker.ErrInvalidConfig) {
			t.Errorf("%s: New = %v, want a ConfigError for %s", tc.name, err, tc.field)
			continue
		}
		if tc.isShare != errors.Is(err, policy.ErrShared) {
			t.Errorf("%s: errors.Is(err, policy.ErrShared) = %v", tc.name, !tc.isShare)
		}
	}
	// The refused configurations used up no policy.
	if _, err := breaker.New(breaker.Config[int]{Policy: livePolicy, Shadows: []breaker.Shadow{{Name: "a", Settings: breaker.Settings{Policy: shared}}}}); err != nil {
		t.Errorf("the policies of refused configurations are not free: %v", err)
	}
}

// TestShadowTokenOfAnotherBreaker pins the recycling of permits' tokens:
// a token that carried a candidate's tickets, taken again by a breaker
// without shadows through Allow's shortcut (which does not clear the
// ticket), must not report that breaker's calls to the candidates.
func TestShadowTokenOfAnotherBreaker(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	sb, err := breaker.New(breaker.Config[int]{Clock: clk, Shadows: []breaker.Shadow{{Name: "c"}}})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := breaker.New(breaker.Config[int]{Clock: clk, Policy: policy.Consecutive(1000)})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		p, _ := sb.Allow()
		p.Done(1, nil)
		q, _ := pb.Allow()
		q.Done(0, errShadowTest)
		r, _ := pb.Allow()
		r.Release()
	}
	if st := sb.Shadows()[0]; st.Calls != 100 {
		t.Fatalf("the candidate was offered %d calls, want the 100 of its own breaker", st.Calls)
	}
}

// TestShadowCallbacksMayCallTheBreaker: a listener of a candidate's
// transitions may call the breaker (no lock is held while it runs).
func TestShadowCallbacksMayCallTheBreaker(t *testing.T) {
	clk := epochs.NewClock(epochs.Today)
	var b *breaker.Breaker[int]
	calls := 0
	b, err := breaker.New(breaker.Config[int]{
		Clock:   clk,
		Shadows: []breaker.Shadow{{Name: "c", Settings: breaker.Settings{Policy: policy.Consecutive(1), OpenTimeout: time.Second, HalfOpenProbes: 1}}},
		OnTransition: func(tr breaker.Transition) {
			if tr.Shadow {
				calls++
				b.Shadows()
				b.Metrics()
				b.State()
				b.Transitions()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errShadowTest })
	clk.Add(time.Second)
	b.Execute(context.Background(), func(context.Context) (int, error) { return 0, nil })
	if calls != 3 {
		t.Fatalf("OnTransition heard %d of the candidate's transitions, want 3 (open, half-open, closed)", calls)
	}
	if st := b.Shadows()[0]; st.State != breaker.Closed || len(st.Transitions) != 3 {
		t.Fatalf("candidate %+v, want closed after 3 transitions", st)
	}
}

// readCounter is a Clock that counts its readings.
type readCounter struct {
	clk *manualClock
	n   int
}

func (c *readCounter) Now() time.Time {
	c.n++
	return c.clk.Now()
}

// TestShadowsReadTheClockOncePerEnd pins issue 21's principle for a breaker
// with candidates (issue 23): a call reads the clock at most once when it
// starts and once when it ends, the live circuit, every candidate and
// OnCall's CallRecord sharing each reading, whatever the candidates'
// states. Each candidate read the clock on its own before, and OnCall
// read it again.
func TestShadowsReadTheClockOncePerEnd(t *testing.T) {
	clk := &readCounter{clk: newManualClock(clockStart{name: "today", at: epochs.Today})}
	var records []breaker.CallRecord
	br, err := breaker.New(breaker.Config[int]{
		Clock: clk, ShadowOnly: true,
		Policy: policy.Slow(time.Millisecond, 0.5, 4, time.Minute),
		Shadows: []breaker.Shadow{
			{Name: "rate", Settings: breaker.Settings{Policy: policy.Rate(0.5, 4, time.Minute), ProbeTimeout: time.Second}},
			{Name: "window", Settings: breaker.Settings{Policy: policy.Window(2, time.Minute), OpenTimeout: 2 * time.Second}},
			{Name: "slow", Settings: breaker.Settings{Policy: policy.Slow(time.Millisecond, 0.5, 4, time.Minute)}},
		},
		OnCall: func(r breaker.CallRecord) { records = append(records, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	for i := range 200 {
		fail := i%3 != 0
		before := clk.n
		var at time.Time
		_, _ = br.Execute(context.Background(), func(context.Context) (int, error) {
			if n := clk.n - before; n > 1 {
				t.Fatalf("call %d: the clock was read %d times as it started", i, n)
			}
			at = clk.Now()
			clk.n--
			clk.clk.Add(2 * time.Millisecond)
			if fail {
				return 0, boom
			}
			return 1, nil
		})
		// A failure is kept, with its time, in each circuit's log of its
		// last failures (noteFailure): one reading more for the live
		// circuit, and one for each candidate that saw the call.
		limit := 2
		if fail {
			limit += 1 + 3
		}
		if n := clk.n - before; n > limit {
			t.Fatalf("call %d: the clock was read %d times, more than %d", i, n, limit)
		}
		if r := records[len(records)-1]; r.End.Before(at) || r.Start.After(at) {
			t.Fatalf("call %d: CallRecord %v to %v, but the call ran at %v", i, r.Start, r.End, at)
		}
		clk.clk.Add(300 * time.Millisecond)
	}
	trips := 0
	for _, s := range br.Shadows() {
		trips += int(s.Trips + s.Reopens)
	}
	if trips == 0 {
		t.Fatal("no candidate tripped: the test saw none of their open and half-open paths")
	}
}

// TestShadowPanicIsTheCandidatesAlone: a candidate whose policy panics as
// a call ends counts the panic, and the candidates after it still hear of
// the call; the call's result is the function's. The candidates' reports
// share one deferred recover, resumed after the one that panicked.
func TestShadowPanicIsTheCandidatesAlone(t *testing.T) {
	clk := newManualClock(clockStart{name: "today", at: epochs.Today})
	p := &panicky{Policy: policy.Consecutive(2), recordPanics: 3}
	br, err := breaker.New(breaker.Config[int]{
		Clock: clk,
		Shadows: []breaker.Shadow{
			{Name: "before", Settings: breaker.Settings{Policy: policy.Consecutive(3)}},
			{Name: "panicky", Settings: breaker.Settings{Policy: p}},
			{Name: "after", Settings: breaker.Settings{Policy: policy.Consecutive(3)}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	for range 3 {
		if _, err := br.Execute(context.Background(), func(context.Context) (int, error) { return 0, boom }); err != boom {
			t.Fatalf("Execute returned %v, want the function's error", err)
		}
	}
	st := br.Shadows()
	if st[1].Panics != 3 || st[1].LastPanic != "record" {
		t.Fatalf("the panicky candidate counted %d panics (last %q), want 3 (record)", st[1].Panics, st[1].LastPanic)
	}
	for _, i := range []int{0, 2} {
		if st[i].Panics != 0 || st[i].Trips != 1 || st[i].State != breaker.Open {
			t.Fatalf("candidate %q: %d panics, %d trips, %v; want 0, 1, open", st[i].Name, st[i].Panics, st[i].Trips, st[i].State)
		}
	}
}

// pairedCalls drives the same calls through a, a breaker without
// observers, and b, the same breaker with them: the actions of the tests
// that check that observers never change a call. without names a in the
// failure messages; ran hears of each call that ran.
type pairedCalls struct {
	a, b     *breaker.Breaker[int]
	clk      *manualClock
	without  string
	ran      func()
	inflight []pairedPermit
}

type pairedPermit struct{ a, b breaker.Permit[int] }

// actions returns more with the paired actions added: allow, done,
// execute and wait.
func (c *pairedCalls) actions(more map[string]func(*rapid.T)) map[string]func(*rapid.T) {
	more["allow"] = func(t *rapid.T) {
		pa, errA := c.a.Allow()
		pb, errB := c.b.Allow()
		if (errA == nil) != (errB == nil) {
			t.Fatalf("Allow: %s %v, with %v", c.without, errA, errB)
		}
		if errA == nil {
			c.inflight = append(c.inflight, pairedPermit{pa, pb})
			c.ran()
		}
	}
	more["done"] = func(t *rapid.T) {
		if len(c.inflight) == 0 {
			t.Skip("nothing in flight")
		}
		i := rapid.IntRange(0, len(c.inflight)-1).Draw(t, "i")
		p := c.inflight[i]
		c.inflight = append(c.inflight[:i], c.inflight[i+1:]...)
		switch rapid.IntRange(0, 2).Draw(t, "outcome") {
		case 0:
			p.a.Done(1, nil)
			p.b.Done(1, nil)
		case 1:
			p.a.Done(0, errShadowTest)
			p.b.Done(0, errShadowTest)
		default:
			p.a.Release()
			p.b.Release()
		}
	}
	more["execute"] = func(t *rapid.T) {
		fail := rapid.Bool().Draw(t, "fail")
		fn := func(context.Context) (int, error) {
			if fail {
				return 7, errShadowTest
			}
			return 42, nil
		}
		ra, errA := c.a.Execute(context.Background(), fn)
		rb, errB := c.b.Execute(context.Background(), fn)
		if ra != rb || fmt.Sprint(errA) != fmt.Sprint(errB) {
			t.Fatalf("Execute: %s (%v, %v), with (%v, %v)", c.without, ra, errA, rb, errB)
		}
		if errA == nil || errors.Is(errA, errShadowTest) {
			c.ran()
		}
	}
	more["wait"] = func(t *rapid.T) {
		c.clk.Add(time.Duration(rapid.IntRange(1, 3000).Draw(t, "ms")) * time.Millisecond)
	}
	return more
}

// releaseAll releases the permits still in flight.
func (c *pairedCalls) releaseAll() {
	for _, p := range c.inflight {
		p.a.Release()
		p.b.Release()
	}
}
