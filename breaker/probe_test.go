package breaker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/window"
)

// The tests in this file hold the breaker to its judging of half-open probes
// by a policy.ProbeJudge: a probe that Classify calls a success, but that the
// policy judges failed (a slow one, for policy.Slow), opens the circuit
// again; everything else is as without a judge.

// slowOver is the threshold of the slow-call policies below: a probe that
// runs longer fails.
const slowOver = time.Second

// judgeTimeout is the open timeout of the judging tests: longer than any
// probe, so that a probe that outlives its half-open period is easy to make.
const judgeTimeout = 10 * time.Second

func slowPolicy() policy.Policy { return policy.Slow(slowOver, 0.5, 20, time.Minute) }

// judgeStep is one step of a judging test: wait, then take the probe named
// allow (wanting a rejection when reject is set) or report the probe named
// done with outcome, then see the circuit in state want.
type judgeStep struct {
	wait    time.Duration
	allow   string
	reject  bool
	done    string
	outcome breaker.Outcome
	want    breaker.State
}

// take and finish build the steps.
func take(name string) judgeStep { return judgeStep{allow: name, want: breaker.HalfOpen} }

func finish(name string, o breaker.Outcome, want breaker.State) judgeStep {
	return judgeStep{done: name, outcome: o, want: want}
}

func wait(d time.Duration, want breaker.State) judgeStep { return judgeStep{wait: d, want: want} }

// runJudgeSteps drives a half-open breaker with three probe slots through
// steps, and returns its transitions.
func runJudgeSteps(t *testing.T, cs clockStart, p policy.Policy, steps []judgeStep) []string {
	t.Helper()
	r := newRig(t, cs, breaker.Config[int]{
		Policy:         p,
		OpenTimeout:    judgeTimeout,
		HalfOpenProbes: 3,
		Classify:       func(result int, _ error) breaker.Outcome { return breaker.Outcome(result) },
	})
	r.b.Trip()
	r.clk.Add(judgeTimeout)
	r.wantState(breaker.HalfOpen)
	r.log = nil
	permits := map[string]breaker.Permit[int]{}
	for i, s := range steps {
		if s.wait > 0 {
			r.clk.Add(s.wait)
		}
		switch {
		case s.allow != "":
			p, err := r.b.Allow()
			switch {
			case s.reject && err == nil:
				t.Fatalf("step %d: probe %s let through, want a rejection", i, s.allow)
			case s.reject:
				wantRejected(t, err)
			case err != nil:
				t.Fatalf("step %d: probe %s rejected: %v", i, s.allow, err)
			}
			permits[s.allow] = p
		case s.done != "":
			permits[s.done].Done(int(s.outcome), nil)
		}
		if got := r.b.State(); got != s.want {
			t.Fatalf("step %d (%+v): State() = %v, want %v; transitions %v", i, s, got, s.want, r.log)
		}
	}
	return r.log
}

// judges are policies whose judge fails a slow probe.
var judges = []struct {
	name string
	make func() policy.Policy
}{
	{"slow", slowPolicy},
	{"any(consecutive,slow)", func() policy.Policy { return policy.Any(policy.Consecutive(5), slowPolicy()) }},
	{"all(slow,slow)", func() policy.Policy { return policy.All(slowPolicy(), slowPolicy()) }},
	{"all(any(consecutive,slow),slow)", func() policy.Policy {
		return policy.All(policy.Any(policy.Consecutive(5), slowPolicy()), slowPolicy())
	}},
}

func TestProbeJudge(t *testing.T) {
	eachClockStart(t, clockStartsFor(time.Minute/window.Buckets), func(t *testing.T, cs clockStart) {
		const (
			ok      = breaker.Success
			failed  = breaker.Failure
			ignored = breaker.Ignored
			closed  = breaker.Closed
			half    = breaker.HalfOpen
			open    = breaker.Open
		)
		tests := []struct {
			name  string
			steps []judgeStep
			log   []string // transitions after the circuit became half-open
		}{
			{
				name: "fast probes close",
				steps: []judgeStep{
					take("a"), take("b"), take("c"), wait(100*time.Millisecond, half),
					finish("a", ok, half), finish("b", ok, half), finish("c", ok, closed),
				},
				log: []string{"half-open>closed"},
			},
			{
				name: "a probe as slow as the threshold closes",
				steps: []judgeStep{
					take("a"), take("b"), take("c"), wait(slowOver, half),
					finish("a", ok, half), finish("b", ok, half), finish("c", ok, closed),
				},
				log: []string{"half-open>closed"},
			},
			{
				name: "a slow probe reopens",
				steps: []judgeStep{
					take("a"), take("b"), take("c"), wait(100*time.Millisecond, half),
					finish("a", ok, half), wait(slowOver, half), finish("b", ok, open),
				},
				log: []string{"half-open>open"},
			},
			{
				name: "a slow probe reopens after others closed nothing",
				steps: []judgeStep{
					take("a"), wait(2*slowOver, half), finish("a", ok, open),
				},
				log: []string{"half-open>open"},
			},
			{
				name: "a fast failure stays a failure",
				steps: []judgeStep{
					take("a"), finish("a", failed, open),
				},
				log: []string{"half-open>open"},
			},
			{
				name: "a slow ignored probe only frees its slot",
				steps: []judgeStep{
					take("a"), take("b"), take("c"), {allow: "x", reject: true, want: half},
					wait(2*slowOver, half),
					finish("a", ignored, half), take("d"),
					finish("b", ignored, half), finish("c", ignored, half), take("e"), take("f"),
					finish("d", ok, half), finish("e", ok, half), finish("f", ok, closed),
				},
				log: []string{"half-open>closed"},
			},
			{
				name: "a slow probe of an earlier half-open period changes nothing",
				steps: []judgeStep{
					take("a"), take("b"), finish("b", failed, open),
					wait(judgeTimeout, half), finish("a", ok, half),
					take("c"), take("d"), take("e"),
					finish("c", ok, half), finish("d", ok, half), finish("e", ok, closed),
				},
				log: []string{"half-open>open", "open>half-open", "half-open>closed"},
			},
		}
		for _, j := range judges {
			for _, tt := range tests {
				t.Run(j.name+"/"+tt.name, func(t *testing.T) {
					log := runJudgeSteps(t, cs, j.make(), tt.steps)
					if fmt.Sprint(log) != fmt.Sprint(tt.log) {
						t.Fatalf("transitions = %v, want %v", log, tt.log)
					}
				})
			}
		}
	})
}

// TestProbeJudgeAbsent: without a judge that fails them, slow probes are
// the successes Classify says they are, and close the circuit as before.
// All judges a probe failed only when every child does, and Consecutive
// judges by the outcome alone.
func TestProbeJudgeAbsent(t *testing.T) {
	eachClockStart(t, clockStartsFor(time.Minute/window.Buckets), func(t *testing.T, cs clockStart) {
		for _, p := range []struct {
			name string
			make func() policy.Policy
		}{
			{"default", func() policy.Policy { return nil }},
			{"consecutive", func() policy.Policy { return policy.Consecutive(5) }},
			{"rate", func() policy.Policy { return policy.Rate(0.5, 10, time.Minute) }},
			{"all(consecutive,slow)", func() policy.Policy { return policy.All(policy.Consecutive(5), slowPolicy()) }},
		} {
			t.Run(p.name, func(t *testing.T) {
				log := runJudgeSteps(t, cs, p.make(), []judgeStep{
					take("a"), take("b"), take("c"), wait(2*slowOver, breaker.HalfOpen),
					finish("a", breaker.Success, breaker.HalfOpen),
					finish("b", breaker.Success, breaker.HalfOpen),
					finish("c", breaker.Success, breaker.Closed),
				})
				if want := "[half-open>closed]"; fmt.Sprint(log) != want {
					t.Fatalf("transitions = %v, want %v", log, want)
				}
			})
		}
	})
}

// TestProbeJudgeExecute: Execute times a probe from before fn runs to after
// it returns, and counts a slow success as a failed probe; its caller still
// gets fn's result.
func TestProbeJudgeExecute(t *testing.T) {
	eachClockStart(t, clockStartsFor(time.Minute/window.Buckets), func(t *testing.T, cs clockStart) {
		r := halfOpen(t, cs, breaker.Config[int]{Policy: policy.Any(policy.Consecutive(5), slowPolicy())}, 3)
		got, err := r.b.Execute(context.Background(), func(context.Context) (int, error) {
			r.clk.Add(slowOver + time.Millisecond)
			return 7, nil
		})
		if got != 7 || err != nil {
			t.Fatalf("Execute = %v, %v; want fn's 7, nil", got, err)
		}
		r.wantState(breaker.Open)
		r.wantLog("closed>open", "open>half-open", "half-open>open")
	})
}

// judgeSpy is a custom policy that judges probes by a function of its own,
// and needs what it is told to.
type judgeSpy struct {
	policy.Policy
	needs policy.Needs
	judge func(policy.Call) bool
}

func (p *judgeSpy) Bind(b *policy.Binding) error {
	b.Need(p.needs)
	b.JudgeProbes(p)
	return nil
}
func (p *judgeSpy) ProbeFailed(c policy.Call) bool { return p.judge(c) }

// TestProbeJudgeGetsWhatItNeeds: a judge gets Call.At and Call.Duration as
// Record does, only when its Needs asks for them, and only probes that
// Classify called a success reach it.
func TestProbeJudgeGetsWhatItNeeds(t *testing.T) {
	eachClockStart(t, clockStartsFor(time.Minute/window.Buckets), func(t *testing.T, cs clockStart) {
		for _, needs := range []policy.Needs{0, policy.NeedTime, policy.NeedDuration, policy.NeedTime | policy.NeedDuration} {
			t.Run(fmt.Sprintf("needs=%d", needs), func(t *testing.T) {
				var got []policy.Call
				spy := &judgeSpy{Policy: policy.Consecutive(5), needs: needs, judge: func(c policy.Call) bool {
					got = append(got, c)
					return false
				}}
				r := halfOpen(t, cs, breaker.Config[int]{Policy: spy}, 3)
				var ends []time.Time
				probe := func(err error) {
					p := allow(t, r)
					r.clk.Add(time.Second)
					ends = append(ends, r.clk.Now())
					p.Done(0, err)
				}
				probe(nil)
				probe(nil)
				probe(errDependency) // a failure: opens, and is not judged
				r.wantState(breaker.Open)
				want := policy.Call{}
				if needs&policy.NeedTime != 0 {
					want.At = ends[1] // the second probe's end
				}
				if needs&policy.NeedDuration != 0 {
					want = want.WithDuration(time.Second)
				}
				if len(got) != 2 || got[1] != want {
					t.Fatalf("judge got %+v, want two calls, the second %+v", got, want)
				}
			})
		}
	})
}

// TestProbeJudgePanic: when the judge panics, the probe counts as failed,
// as when Classify panics: the circuit opens again, the probe's slot is not
// left taken, and the panic goes on up.
func TestProbeJudgePanic(t *testing.T) {
	wantPanickingProbeFails(t, func() breaker.Config[int] {
		spy := &judgeSpy{Policy: policy.Consecutive(5), judge: func(policy.Call) bool { panic("judge") }}
		return breaker.Config[int]{Policy: spy}
	}, "judge")
}

// TestProbeJudgeMetrics: Metrics counts a probe by Classify's outcome, as
// every call; the judge changes the circuit, not the count.
func TestProbeJudgeMetrics(t *testing.T) {
	eachClockStart(t, clockStartsFor(time.Minute/window.Buckets), func(t *testing.T, cs clockStart) {
		r := halfOpen(t, cs, breaker.Config[int]{Policy: slowPolicy(), CountCalls: true}, 1)
		p := allow(t, r)
		r.clk.Add(2 * slowOver)
		p.Done(0, nil)
		r.wantState(breaker.Open)
		if m := r.b.Metrics(); m.Successes != 1 || m.Failures != 0 || m.Trips+m.ManualOpens != 1 || m.Reopens != 1 {
			t.Fatalf("Metrics = %+v; want 1 success, 0 failures, 1 open and 1 reopen", m)
		}
	})
}
