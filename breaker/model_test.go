package breaker_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/internal/model"
	"github.com/tripwire-go/tripwire/policy"
	"pgregory.net/rapid"
)

// TestBreakerMatchesModel drives a breaker and the reference model with the
// same random steps and compares what a user can see; see checkModel.
// FuzzModel runs the same steps from fuzz input.
func TestBreakerMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) { checkModel(t, nil) })
}

// TestBreakerMatchesModelRecovery is TestBreakerMatchesModel with a
// ramp-up and a shedder in every run, and the steps that reach them: the
// ramp's share and the shed calls match the model, with the invariants of
// every run (probes bounded, stale results fenced, manual modes winning).
func TestBreakerMatchesModelRecovery(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) { checkModelOf(t, nil, true) })
}

// errProbePanic is what fn panics with in the "execute" step.
var errProbePanic = errors.New("fn panicked")

// checkModel drives a breaker through its public API (Allow and Done,
// Execute, Trip, Reset, State) and the reference model with the same random
// steps, and compares after every step what a user can see: the state,
// which calls are let through, the transitions reported, and how long a
// rejection says to wait. The policy is Consecutive, or, in some runs,
// Consecutive with a judge that fails half-open probes slower than a
// threshold (slowProbes), which the model mirrors with SlowProbe.
//
// Besides the steps one caller makes one after the other, "race next close"
// makes permits taken before a close (Reset, an adopted close, the probes'
// own close) report while the close resets the policy, as other goroutines
// would, and the open period's end be noticed then. The model takes such
// permits as late (they free their slot and change nothing: the contract's
// "a call that started under an earlier state changes nothing") and the
// period's end as noticed before the close. "adopt ..." steps apply
// outside decisions as a coordinator does.
//
// seen, when set, is told what the run reached: each transition
// ("closed>open"), each kind of rejection ("rejected open"), a permit
// reported after the circuit moved on ("late"), a probe judged failed
// for being slow ("slow probe"), "panic" and "canceled" calls, and first
// the parameters ("probes=2"). TestWriteFuzzSeeds picks seeds by it.
func checkModel(t *rapid.T, seen func(feature string)) { checkModelOf(t, seen, false) }

// checkModelOf is checkModel; with recovery set, every run has a ramp-up
// and a shedder, and the steps are those that reach them: calls, reports,
// time, and the manual actions that must win over both, without the
// adoptions.
func checkModelOf(t *rapid.T, seen func(feature string), recovery bool) {
	if seen == nil {
		seen = func(string) {}
	}
	md := &model.Breaker{
		Threshold: rapid.IntRange(1, 4).Draw(t, "threshold"),
		Timeout:   time.Duration(rapid.IntRange(1, 10).Draw(t, "timeout")) * time.Second,
		Probes:    rapid.IntRange(1, 4).Draw(t, "probes"),
		// The clock moves by a second, or by about the open timeout: a
		// probe over one step of a second is judged exactly at the
		// threshold of a second, and passes.
		SlowProbe: rapid.SampledFrom([]time.Duration{0, time.Second, 1500 * time.Millisecond}).Draw(t, "slow probe"),
	}
	// CloseAfter apart from HalfOpenProbes in some runs: below, equal,
	// above (probes one after another).
	md.CloseAfter = rapid.IntRange(0, 5).Draw(t, "close after")
	// ProbeTimeout: off, the default (OpenTimeout), or its own.
	probeTimeout := rapid.SampledFrom([]time.Duration{breaker.NoProbeTimeout, 0, 2 * time.Second}).Draw(t, "probe timeout")
	switch probeTimeout {
	case 0:
		md.ProbeTimeout = md.Timeout
	case breaker.NoProbeTimeout:
	default:
		md.ProbeTimeout = probeTimeout
	}
	// A ramp-up after closes by probes in some runs.
	md.Ramp = rapid.SampledFrom([]time.Duration{0, 3 * time.Second, 10 * time.Second}).Draw(t, "ramp")
	if recovery {
		md.Ramp = rapid.SampledFrom([]time.Duration{3 * time.Second, 10 * time.Second}).Draw(t, "ramp")
	}
	seen("threshold=" + strconv.Itoa(md.Threshold))
	seen("probes=" + strconv.Itoa(md.Probes))
	var inner policy.Policy = policy.Consecutive(md.Threshold)
	if md.SlowProbe > 0 {
		seen("slowprobe=" + md.SlowProbe.String())
		inner = slowProbes{policy.Consecutive(md.Threshold), md.SlowProbe}
	}
	pol := &racingReset{Policy: inner}
	// The shedder, when the run has one, sheds what the "shed" step says:
	// the breaker's handling of shedding, whatever the throttle's math.
	shedder := recovery || rapid.Bool().Draw(t, "shedder")
	withShedder := func(p policy.Policy) policy.Policy {
		if shedder {
			return &shedding{Policy: p, on: &md.Shed}
		}
		return p
	}
	top := withShedder(pol)
	if shedder {
		seen("shedder")
	}
	clk := newManualClock(rapid.SampledFrom(clockStarts()).Draw(t, "clock"))
	var (
		events []model.Event
		last   breaker.Transition
	)
	var log []model.Transition
	b, err := breaker.New(breaker.Config[int]{
		Policy:         top,
		RampUp:         md.Ramp,
		OpenTimeout:    md.Timeout,
		HalfOpenProbes: md.Probes,
		CloseAfter:     md.CloseAfter,
		ProbeTimeout:   probeTimeout,
		Clock:          clk,
		OnTransition: func(tr breaker.Transition) {
			if len(events) > 0 && (tr.From != last.To || tr.Generation <= last.Generation) {
				t.Fatalf("transition %+v does not follow %+v", tr, last)
			}
			if tr.To == breaker.Open && tr.Mode != breaker.ModeForcedOpen && tr.Until.IsZero() {
				t.Fatalf("transition %+v to a timed open period has no Until", tr)
			}
			if tr.To != breaker.Open && !tr.Until.IsZero() {
				t.Fatalf("transition %+v not to open has an Until", tr)
			}
			last = tr
			events = append(events, model.Event{From: model.State(tr.From), To: model.State(tr.To), Cause: model.Cause(tr.Cause), Mode: model.Mode(tr.Mode)})
			seen("cause " + tr.Cause.String())
		},
		// Outcomes are reported as results: Done(int(outcome), nil).
		Classify: func(result int, _ error) breaker.Outcome { return breaker.Outcome(result) },
		OnStateChange: func(_ string, from, to breaker.State) {
			log = append(log, model.Transition{From: model.State(from), To: model.State(to)})
			seen(from.String() + ">" + to.String())
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	type call struct {
		real breaker.Permit[int]
		ref  model.Permit
	}
	var calls []call
	outcomes := rapid.SampledFrom([]breaker.Outcome{breaker.Success, breaker.Failure, breaker.Ignored})
	// raced is what the model must do, before a close, for what pol's hook
	// did while the close ran.
	var raced []func()
	closing := func() {
		for _, f := range raced {
			f()
		}
		raced = nil
	}

	// rejected checks a rejection that the model agrees with.
	rejected := func(t *rapid.T, err error) {
		var oe *breaker.OpenError
		if !errors.Is(err, breaker.ErrOpen) || !errors.As(err, &oe) {
			t.Fatalf("rejection %v does not wrap ErrOpen in an *OpenError", err)
		}
		if oe.State() != breaker.State(md.State) {
			t.Fatalf("rejection says %v, model %v", oe.State(), breaker.State(md.State))
		}
		if md.State == model.Open && !oe.Until().Equal(md.Until) {
			t.Fatalf("rejection says open until %v, model %v", oe.Until(), md.Until)
		}
		if oe.Ramping() != (md.Rejected == "ramp") || errors.Is(err, breaker.ErrRampUp) != oe.Ramping() {
			t.Fatalf("rejection %v: ramping %v, model rejected for %q", err, oe.Ramping(), md.Rejected)
		}
		if oe.Throttled() != (md.Rejected == "shed") || errors.Is(err, breaker.ErrThrottled) != oe.Throttled() {
			t.Fatalf("rejection %v: shed %v, model rejected for %q", err, oe.Throttled(), md.Rejected)
		}
		seen("rejected " + md.Rejected)
	}

	steps := map[string]func(*rapid.T){
		"allow": func(t *rapid.T) {
			p, err := b.Allow()
			mp, ok := md.Allow(clk.Now())
			switch {
			case ok && err != nil:
				t.Fatalf("breaker rejected a call the model lets through: %v", err)
			case !ok && err == nil:
				t.Fatalf("breaker let through a call the model rejects (model %v)", md.State)
			case !ok:
				rejected(t, err)
			default:
				calls = append(calls, call{p, mp})
			}
		},
		"done": func(t *rapid.T) {
			if len(calls) == 0 {
				t.Skip("no call in flight")
			}
			i := rapid.IntRange(0, len(calls)-1).Draw(t, "call")
			o := outcomes.Draw(t, "outcome")
			c := calls[i]
			calls = append(calls[:i], calls[i+1:]...)
			switch {
			case c.ref.Gen != md.Gen:
				seen("late")
			case c.ref.State == model.HalfOpen && o == breaker.Success && md.SlowProbe > 0 && clk.Now().Sub(c.ref.At) > md.SlowProbe:
				seen("slow probe")
			}
			c.real.Done(int(o), nil) // a success may close the circuit
			closing()
			md.Done(c.ref, model.Outcome(o), clk.Now())
		},
		"race next close": func(t *rapid.T) {
			type race struct {
				expire bool
				pick   int
				o      breaker.Outcome
			}
			// A success that would close the circuit waits for the
			// close in progress: it is reported after, by "done".
			plan := make([]race, rapid.IntRange(1, 3).Draw(t, "racers"))
			for i := range plan {
				plan[i] = race{
					expire: rapid.Bool().Draw(t, "expire"),
					pick:   rapid.IntRange(0, 7).Draw(t, "pick"),
					o:      rapid.SampledFrom([]breaker.Outcome{breaker.Failure, breaker.Ignored}).Draw(t, "outcome"),
				}
			}
			pol.hook = func() {
				for _, r := range plan {
					if r.expire {
						b.State()
						raced = append(raced, func() { md.Observe(clk.Now()) })
						continue
					}
					if len(calls) == 0 {
						continue
					}
					i := r.pick % len(calls)
					c := calls[i]
					calls = append(calls[:i], calls[i+1:]...)
					c.real.Done(int(r.o), nil)
					seen("raced a close")
					raced = append(raced, func() { md.Done(c.ref, model.Ignored, clk.Now()) })
				}
			}
		},
		"execute": func(t *rapid.T) {
			o := outcomes.Draw(t, "outcome")
			panics := rapid.Bool().Draw(t, "panics")
			ran := false
			var err error
			v := catch(func() {
				_, err = b.Execute(context.Background(), func(context.Context) (int, error) {
					ran = true
					if panics {
						panic(errProbePanic)
					}
					return int(o), nil
				})
			})
			mp, ok := md.Allow(clk.Now())
			closing() // the call's success may have closed the circuit
			switch {
			case ok != ran:
				t.Fatalf("fn ran: %v; the model lets the call through: %v", ran, ok)
			case !ok:
				rejected(t, err)
			case panics:
				if v != errProbePanic {
					t.Fatalf("recovered %v, want fn's panic", v)
				}
				seen("panic")
				md.Done(mp, model.Failure, clk.Now())
			default:
				if v != nil || err != nil {
					t.Fatalf("Execute = %v, panic %v; want fn's nil error", err, v)
				}
				md.Done(mp, model.Outcome(o), clk.Now())
			}
		},
		"execute canceled": func(t *rapid.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := b.Execute(ctx, func(context.Context) (int, error) {
				t.Fatalf("fn ran with a done context")
				return 0, nil
			})
			if err != context.Canceled {
				t.Fatalf("Execute with a done context = %v, want context.Canceled", err)
			}
			seen("canceled") // the model does nothing: not even look at the clock
		},
		"shed": func(t *rapid.T) {
			if !shedder {
				t.Skip("no shedder")
			}
			md.Shed = rapid.Bool().Draw(t, "shed")
		},
		"advance": func(t *rapid.T) {
			steps := []time.Duration{md.Timeout, md.Timeout - time.Nanosecond, time.Second}
			clk.Add(rapid.SampledFrom(steps).Draw(t, "step"))
		},
		"trip": func(t *rapid.T) {
			b.Trip()
			md.Trip(clk.Now())
		},
		"trip for": func(t *rapid.T) {
			d := rapid.SampledFrom([]time.Duration{-1, 0, time.Second, md.Timeout, 3 * md.Timeout}).Draw(t, "for")
			b.TripFor(d)
			md.TripFor(d, clk.Now())
		},
		"force open": func(t *rapid.T) {
			b.ForceOpen()
			md.ForceOpen(clk.Now())
			seen("forced")
		},
		"disable": func(t *rapid.T) {
			b.Disable()
			md.Disable(clk.Now())
			seen("disabled")
		},
		"reset": func(t *rapid.T) {
			b.Reset()
			closing()
			md.Reset(clk.Now())
		},
		"adopt open": func(t *rapid.T) {
			d := rapid.SampledFrom([]time.Duration{-1, 0, time.Second, md.Timeout, 3 * md.Timeout}).Draw(t, "for")
			b.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: d})
			md.AdoptOpen(d, clk.Now())
		},
		"adopt close": func(t *rapid.T) {
			b.Adopt(breaker.Adoption{Kind: breaker.AdoptClose})
			closing()
			md.AdoptClose(clk.Now())
		},
		"adopt force open": func(t *rapid.T) {
			b.Adopt(breaker.Adoption{Kind: breaker.AdoptForceOpen})
			md.AdoptForceOpen(clk.Now())
		},
		"adopt disable": func(t *rapid.T) {
			b.Adopt(breaker.Adoption{Kind: breaker.AdoptDisable})
			md.AdoptDisable(clk.Now())
		},
		"adopt clear mode": func(t *rapid.T) {
			b.Adopt(breaker.Adoption{Kind: breaker.AdoptClearMode})
			closing()
			md.AdoptClearMode(clk.Now())
		},
		"reconfigure": func(t *rapid.T) {
			threshold := rapid.IntRange(1, 4).Draw(t, "new threshold")
			timeout := time.Duration(rapid.IntRange(1, 10).Draw(t, "new timeout")) * time.Second
			probes := rapid.IntRange(1, 4).Draw(t, "new probes")
			closeAfter := rapid.IntRange(0, 5).Draw(t, "new close after")
			pt := rapid.SampledFrom([]time.Duration{breaker.NoProbeTimeout, 0, 2 * time.Second}).Draw(t, "new probe timeout")
			var inner policy.Policy = policy.Consecutive(threshold)
			if md.SlowProbe > 0 {
				inner = slowProbes{policy.Consecutive(threshold), md.SlowProbe}
			}
			pol = &racingReset{Policy: inner}
			err := b.Reconfigure(breaker.Settings{Policy: withShedder(pol), OpenTimeout: timeout, HalfOpenProbes: probes, CloseAfter: closeAfter, ProbeTimeout: pt}, "test", "model")
			if err != nil {
				t.Fatal(err)
			}
			mpt := pt
			switch pt {
			case 0:
				mpt = timeout
			case breaker.NoProbeTimeout:
				mpt = 0
			}
			md.Reconfigure(threshold, timeout, probes, closeAfter, mpt, clk.Now())
			seen("reconfigured")
		},
		"state": func(t *rapid.T) {
			if got, want := b.State(), md.Observe(clk.Now()); got != breaker.State(want) {
				t.Fatalf("State() = %v, model %v", got, breaker.State(want))
			}
		},
		"": func(t *rapid.T) {
			if md.Ramping {
				seen("ramping")
			}
			if m := b.Metrics(); m.Mode != breaker.Mode(md.Mode) {
				t.Fatalf("Metrics().Mode = %v, model %v", m.Mode, md.Mode)
			}
			if len(events) != len(md.Events) {
				t.Fatalf("OnTransition:\n breaker %v\n model   %v", events, md.Events)
			}
			for i := range events {
				if events[i] != md.Events[i] {
					t.Fatalf("OnTransition %d:\n breaker %v\n model   %v", i, events, md.Events)
				}
			}
			if len(log) != len(md.Log) {
				t.Fatalf("transitions:\n breaker %v\n model   %v", log, md.Log)
			}
			for i := range log {
				if log[i] != md.Log[i] {
					t.Fatalf("transitions:\n breaker %v\n model   %v", log, md.Log)
				}
			}
		},
	}
	// Calls, reports and short steps of time again, so that runs reach
	// what takes many calls in a row: a ramp after a close, shedding.
	steps["allow again"], steps["done again"], steps["execute again"] = steps["allow"], steps["done"], steps["execute"]
	steps["advance a little"] = func(*rapid.T) { clk.Add(300 * time.Millisecond) }
	if recovery {
		for k := range steps {
			if strings.HasPrefix(k, "adopt") || k == "execute canceled" || k == "force open" {
				delete(steps, k)
			}
		}
	}
	t.Repeat(steps)
}

// racingReset wraps the policy of checkModel's breaker with a hook that
// runs inside its Reset, where a close waits without the breaker's lock:
// the test does there what other goroutines do while a close runs. Unwrap
// keeps the terms of the policy it wraps.
type racingReset struct {
	policy.Policy
	hook func()
}

func (p *racingReset) Unwrap() policy.Policy { return p.Policy }

func (p *racingReset) Reset() {
	if h := p.hook; h != nil {
		p.hook = nil
		h()
	}
	p.Policy.Reset()
}

// shedding wraps checkModel's policy with a shedder that sheds while *on
// is set, as the model's Shed says.
type shedding struct {
	policy.Policy
	on *bool
}

func (p *shedding) Bind(b *policy.Binding) error {
	t, err := b.Child(p.Policy)
	if t.Judge != nil {
		b.JudgeProbes(t.Judge)
	}
	b.Shed(p)
	return err
}

func (p *shedding) Shed(time.Time) bool { return *p.on }

// Unwrap lets a Reconfigure's TakeOver reach the policy inside.
func (p *shedding) Unwrap() policy.Policy { return p.Policy }

// slowProbes is Consecutive with a judge of half-open probes that fails
// those slower than threshold, as policy.Slow judges them; the model's
// SlowProbe.
type slowProbes struct {
	*policy.ConsecutivePolicy
	threshold time.Duration
}

func (p slowProbes) Bind(b *policy.Binding) error {
	b.Need(policy.NeedDuration)
	b.JudgeProbes(p)
	return nil
}

func (p slowProbes) ProbeFailed(c policy.Call) bool { return c.Failed || c.Duration() > p.threshold }

// Unwrap lets a Reconfigure find the Consecutive inside, to take over its
// streak (Bind does not look: slowProbes binds itself).
func (p slowProbes) Unwrap() policy.Policy { return p.ConsecutivePolicy }

// TestBreakerMatchesModelRealClock drives a breaker on the real clock,
// where the end of an open period is flagged by a timer rather than seen
// by reading the clock on every call, against the model at time.Now().
// Open periods last an hour or have ended at once (TripFor and AdoptOpen
// of zero or less), so the test never races the clock: after a period of
// zero, the next call must find the circuit half-open, timer or not.
func TestBreakerMatchesModelRealClock(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		md := &model.Breaker{
			Threshold: rapid.IntRange(1, 3).Draw(t, "threshold"),
			Timeout:   time.Hour,
			Probes:    rapid.IntRange(1, 3).Draw(t, "probes"),
		}
		b, err := breaker.New(breaker.Config[int]{
			Policy:         policy.Consecutive(md.Threshold),
			OpenTimeout:    md.Timeout,
			HalfOpenProbes: md.Probes,
			ProbeTimeout:   breaker.NoProbeTimeout,
			Classify:       func(result int, _ error) breaker.Outcome { return breaker.Outcome(result) },
		})
		if err != nil {
			t.Fatal(err)
		}
		type call struct {
			real breaker.Permit[int]
			ref  model.Permit
		}
		var calls []call
		periods := rapid.SampledFrom([]time.Duration{-1, 0, time.Hour})
		t.Repeat(map[string]func(*rapid.T){
			"allow": func(t *rapid.T) {
				p, err := b.Allow()
				mp, ok := md.Allow(time.Now())
				switch {
				case ok != (err == nil):
					t.Fatalf("breaker: %v; model lets the call through: %v (model %v)", err, ok, md.State)
				case ok:
					calls = append(calls, call{p, mp})
				default:
					var oe *breaker.OpenError
					if !errors.As(err, &oe) || oe.State() != breaker.State(md.State) {
						t.Fatalf("rejection %v, model %v", err, md.State)
					}
				}
			},
			"done": func(t *rapid.T) {
				if len(calls) == 0 {
					t.Skip("no call in flight")
				}
				i := rapid.IntRange(0, len(calls)-1).Draw(t, "call")
				o := rapid.SampledFrom([]breaker.Outcome{breaker.Success, breaker.Failure, breaker.Ignored}).Draw(t, "outcome")
				c := calls[i]
				calls = append(calls[:i], calls[i+1:]...)
				c.real.Done(int(o), nil)
				md.Done(c.ref, model.Outcome(o), time.Now())
			},
			"trip": func(t *rapid.T) {
				b.Trip()
				md.Trip(time.Now())
			},
			"trip for": func(t *rapid.T) {
				d := periods.Draw(t, "for")
				b.TripFor(d)
				md.TripFor(d, time.Now())
			},
			"adopt open": func(t *rapid.T) {
				d := periods.Draw(t, "for")
				b.Adopt(breaker.Adoption{Kind: breaker.AdoptOpen, For: d})
				md.AdoptOpen(d, time.Now())
			},
			"adopt close": func(t *rapid.T) {
				b.Adopt(breaker.Adoption{Kind: breaker.AdoptClose})
				md.AdoptClose(time.Now())
			},
			"force open": func(t *rapid.T) {
				b.ForceOpen()
				md.ForceOpen(time.Now())
			},
			"reset": func(t *rapid.T) {
				b.Reset()
				md.Reset(time.Now())
			},
			"reconfigure": func(t *rapid.T) {
				// The open period in force keeps its end, and its timer:
				// after a period of zero, the next call finds the circuit
				// half-open.
				threshold := rapid.IntRange(1, 3).Draw(t, "new threshold")
				probes := rapid.IntRange(1, 3).Draw(t, "new probes")
				if err := b.Reconfigure(breaker.Settings{Policy: policy.Consecutive(threshold), OpenTimeout: time.Hour, HalfOpenProbes: probes, ProbeTimeout: breaker.NoProbeTimeout}, "", ""); err != nil {
					t.Fatal(err)
				}
				md.Reconfigure(threshold, time.Hour, probes, 0, 0, time.Now())
			},
			"": func(t *rapid.T) {
				// Metrics, unlike State, moves nothing on: the next call
				// must see the end of the period by itself.
				if got, want := b.Metrics().State, breaker.State(md.Observe(time.Now())); got != want {
					t.Fatalf("Metrics().State = %v, model %v", got, want)
				}
			},
		})
	})
}
