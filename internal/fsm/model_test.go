package fsm

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/internal/model"
	"github.com/tripwire-go/tripwire/policy"
	"pgregory.net/rapid"
)

// permit is a call admitted by both the machine and the model.
type permit struct {
	w Word
	p model.Permit
}

// admit is the breaker's admission, written against the machine alone.
func admit(m *Machine, now time.Time) (Word, bool) {
	w := m.Expire(now)
	switch w.State() {
	case Closed:
		return w, !w.Ramping() || m.AdmitRamp(w, now)
	case HalfOpen:
		if m.Acquire(w, now) {
			return w, true
		}
		if m.Load() == w && m.Reclaim(w, now) {
			w = m.Load()
			return w, m.Acquire(w, now)
		}
	}
	return w, false
}

func report(m *Machine, p permit, o Outcome, now time.Time) {
	switch p.w.State() {
	case Closed:
		if o != Ignored && m.Record(p.w, policy.Call{Failed: o == Failure}) {
			m.TripFrom(p.w, now)
		}
	case HalfOpen:
		m.Release(p.w, o, now)
	}
}

// racer is the machine's policy in the model test: Consecutive, with a
// hook that runs inside its Reset, where a close waits without the
// machine's lock, so that a test can do there what other goroutines do
// while a Reset, an adopted close or the probes' close runs.
type racer struct {
	policy.Policy
	hook func()
}

func (p *racer) Reset() {
	if h := p.hook; h != nil {
		p.hook = nil
		h()
	}
	p.Policy.Reset()
}

// race is one thing done while a close resets the policy: a call admitted
// before the close finishes (failed or ignored; a success that would close
// the circuit waits for the close in progress, so it is reported after),
// or the open period's end is noticed.
type race struct {
	expire bool
	pick   int // the permit reported, modulo the permits in flight
	o      Outcome
}

// TestMachineMatchesModel drives the machine and the reference model with
// the same random steps. Besides the steps one caller makes one after the
// other, "race next close" makes calls admitted before a close (a Reset,
// an adopted close, the probes' close) finish while it runs, and the open
// period end meanwhile: the model takes the finished calls as late (they
// free their slot and change nothing) and the end of the period as
// noticed before the close.
func TestMachineMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		md := &model.Breaker{
			Threshold: rapid.IntRange(1, 4).Draw(t, "threshold"),
			Timeout:   time.Duration(rapid.IntRange(1, 10).Draw(t, "timeout")) * time.Second,
			Probes:    rapid.IntRange(1, 4).Draw(t, "probes"),
		}
		// From an epoch: today, past 2038, the ends of int64 nanoseconds;
		// those with a monotonic reading also see the wall clock step.
		now := epochs.Gen(epochs.All()).Draw(t, "epoch").At
		// CloseAfter apart from Probes in some runs, above it in some.
		md.CloseAfter = rapid.IntRange(0, 5).Draw(t, "close after")
		closeAfter := md.CloseAfter
		// A probe timeout in some runs: around the open timeout.
		md.ProbeTimeout = time.Duration(rapid.SampledFrom([]int{0, 0, 1, 3}).Draw(t, "probe timeout")) * time.Second
		if closeAfter == 0 {
			closeAfter = md.Probes
		}
		// A ramp-up after closes by probes in some runs; the wall steps
		// below must not move it.
		md.Ramp = time.Duration(rapid.SampledFrom([]int{0, 0, 2, 5}).Draw(t, "ramp")) * time.Second
		var opened []time.Duration
		pol := &racer{Policy: policy.Consecutive(md.Threshold)}
		m := New(Config{
			Policy:       pol,
			OpenFor:      func(int) time.Duration { return md.Timeout },
			Probes:       md.Probes,
			CloseAfter:   closeAfter,
			ProbeTimeout: md.ProbeTimeout,
			Ramp:         md.Ramp,
			Opened:       func(_ Word, d time.Duration) { opened = append(opened, d) },
			Notify:       true,
		}, now)
		var log []Transition
		var permits []permit
		lastGen := m.Load().Gen()
		// raced is what the model must do, before a close, for what the
		// hook of pol did while the close ran.
		var raced []func()
		closing := func() {
			for _, f := range raced {
				f()
			}
			raced = nil
		}
		// endedAtOnce checks the word of an open period of d <= 0: it
		// must carry the due flag, so that a breaker on the real clock
		// reads the clock at the next call, instead of rejecting calls
		// until a timer flags it.
		endedAtOnce := func(t *rapid.T, d time.Duration) {
			if w := m.Load(); d <= 0 && !w.Due() {
				t.Fatalf("an open period of %v: word %v not due", d, w.State())
			}
		}

		t.Repeat(map[string]func(*rapid.T){
			"admit": func(t *rapid.T) {
				w, ok := admit(m, now)
				mp, mok := md.Allow(now)
				if ok != mok {
					t.Fatalf("admit at state %v: machine %v, model %v", w.State(), ok, mok)
				}
				if ok {
					permits = append(permits, permit{w: w, p: mp})
				}
			},
			"report": func(t *rapid.T) {
				if len(permits) == 0 {
					t.Skip("no call in flight")
				}
				i := rapid.IntRange(0, len(permits)-1).Draw(t, "permit")
				o := Outcome(rapid.IntRange(0, 2).Draw(t, "outcome"))
				p := permits[i]
				permits = append(permits[:i], permits[i+1:]...)
				report(m, p, o, now) // a success may close the circuit
				closing()
				md.Done(p.p, model.Outcome(o), now)
			},
			"race next close": func(t *rapid.T) {
				plan := make([]race, rapid.IntRange(1, 3).Draw(t, "racers"))
				for i := range plan {
					plan[i] = race{
						expire: rapid.Bool().Draw(t, "expire"),
						pick:   rapid.IntRange(0, 7).Draw(t, "pick"),
						o:      rapid.SampledFrom([]Outcome{Failure, Ignored}).Draw(t, "outcome"),
					}
				}
				pol.hook = func() {
					for _, r := range plan {
						if r.expire {
							m.Expire(now)
							raced = append(raced, func() { md.Observe(now) })
							continue
						}
						if len(permits) == 0 {
							continue
						}
						i := r.pick % len(permits)
						p := permits[i]
						permits = append(permits[:i], permits[i+1:]...)
						report(m, p, r.o, now)
						raced = append(raced, func() { md.Done(p.p, model.Ignored, now) })
					}
				}
			},
			"advance": func(t *rapid.T) {
				// Steps around the timeout matter most: draw them often.
				steps := []time.Duration{md.Timeout, md.Timeout - time.Nanosecond, md.Timeout + time.Nanosecond}
				d := rapid.OneOf(
					rapid.SampledFrom(steps),
					rapid.Map(rapid.Int64Range(0, int64(2*md.Timeout)), func(n int64) time.Duration { return time.Duration(n) }),
				).Draw(t, "step")
				now = now.Add(d)
			},
			"step wall": func(t *rapid.T) {
				// NTP or a resumed VM moves the wall clock alone: the
				// machine compares monotonic readings and must not see it.
				d := rapid.SampledFrom([]time.Duration{-time.Hour, time.Hour}).Draw(t, "wall step")
				if w := now.Round(0).Add(d); !epochs.HasMono(now) || w.Year() < 1900 || w.Year() > 2150 {
					t.Skip("no monotonic reading to keep")
				}
				now = epochs.StepWall(now, d)
			},
			"trip": func(t *rapid.T) {
				m.Trip(now, CauseManual)
				md.Trip(now)
			},
			"trip for": func(t *rapid.T) {
				d := time.Duration(rapid.OneOf(rapid.Int64Range(-1, 0), rapid.Int64Range(-1, int64(2*md.Timeout))).Draw(t, "for"))
				m.TripFor(d, now, CauseManual)
				endedAtOnce(t, d)
				md.TripFor(d, now)
			},
			"force open": func(t *rapid.T) {
				m.ForceOpen(now, CauseManual)
				md.ForceOpen(now)
			},
			"disable": func(t *rapid.T) {
				m.Disable(now, CauseManual)
				md.Disable(now)
			},
			"reset": func(t *rapid.T) {
				m.Reset(now, CauseManual)
				closing()
				md.Reset(now)
			},
			"adopt open": func(t *rapid.T) {
				d := time.Duration(rapid.OneOf(rapid.Int64Range(-1, 0), rapid.Int64Range(-1, int64(2*md.Timeout))).Draw(t, "for"))
				m.TripFor(d, now, CauseExternal)
				endedAtOnce(t, d)
				md.AdoptOpen(d, now)
			},
			"adopt close": func(t *rapid.T) {
				m.Close(now, CauseExternal)
				closing()
				md.AdoptClose(now)
			},
			"adopt force open": func(t *rapid.T) {
				m.ForceOpen(now, CauseExternal)
				md.AdoptForceOpen(now)
			},
			"adopt disable": func(t *rapid.T) {
				m.Disable(now, CauseExternal)
				md.AdoptDisable(now)
			},
			"adopt clear mode": func(t *rapid.T) {
				m.ClearMode(now, CauseExternal)
				closing()
				md.AdoptClearMode(now)
			},
			"reconfigure": func(t *rapid.T) {
				threshold := rapid.IntRange(1, 4).Draw(t, "new threshold")
				timeout := time.Duration(rapid.IntRange(1, 10).Draw(t, "new timeout")) * time.Second
				probes := rapid.IntRange(1, 4).Draw(t, "new probes")
				ca := rapid.IntRange(0, 5).Draw(t, "new close after")
				pt := time.Duration(rapid.SampledFrom([]int{0, 0, 1, 3}).Draw(t, "new probe timeout")) * time.Second
				next := &racer{Policy: policy.Consecutive(threshold)}
				machineCA := ca
				if machineCA == 0 {
					machineCA = probes
				}
				prev := pol
				m.Reconfigure(Config{Policy: next, OpenFor: func(int) time.Duration { return timeout }, Probes: probes, CloseAfter: machineCA, ProbeTimeout: pt},
					now, func() { policy.TakeOver(next.Policy, prev.Policy, now) })
				pol = next
				if w := m.Load(); w.State() == Open && !m.Until().After(now) && !m.Status().Forced && !w.Due() {
					t.Fatalf("a reconfigured open period that has ended: word not due")
				}
				md.Reconfigure(threshold, timeout, probes, ca, pt, now)
			},
			"": func(t *rapid.T) {
				m.Flush(func(tr Transition) { log = append(log, tr) })
				w := m.Load()
				if w.State() != State(md.State) {
					t.Fatalf("state: machine %v, model %v", w.State(), State(md.State))
				}
				if w.Gen() < lastGen {
					t.Fatalf("generation went down: %d after %d", w.Gen(), lastGen)
				}
				if w.Ramping() != md.Ramping {
					t.Fatalf("ramping: machine %v, model %v", w.Ramping(), md.Ramping)
				}
				lastGen = w.Gen()
				st := m.Status()
				if st.InFlight > md.Probes {
					t.Fatalf("%d probes in flight, limit %d", st.InFlight, md.Probes)
				}
				if w.State() == HalfOpen && (st.InFlight != md.InFlight || st.Succeeded != md.Succeeded) {
					t.Fatalf("probes: machine %d in flight %d succeeded, model %d %d",
						st.InFlight, st.Succeeded, md.InFlight, md.Succeeded)
				}
				if w.State() == Open && !m.Until().Equal(md.Until) {
					t.Fatalf("open until %v, model %v", m.Until(), md.Until)
				}
				if st.Mode != Mode(md.Mode) {
					t.Fatalf("mode %v, model %v", st.Mode, md.Mode)
				}
				if w.Muted() != (md.Mode == model.ModeDisabled) {
					t.Fatalf("word muted %v in mode %v", w.Muted(), md.Mode)
				}
				if len(log) != len(md.Events) {
					t.Fatalf("transitions:\n machine %v\n model   %v", log, md.Events)
				}
				for i, tr := range log {
					e := md.Events[i]
					if tr.From != State(e.From) || tr.To != State(e.To) || tr.Cause != Cause(e.Cause) || tr.Mode != Mode(e.Mode) {
						t.Fatalf("transition %d:\n machine %+v\n model   %+v", i, tr, e)
					}
					if tr.To == Open && tr.Mode != ModeForcedOpen && tr.Until.IsZero() {
						t.Fatalf("transition %d to a timed open period has no Until: %+v", i, tr)
					}
					if i > 0 {
						if prev := log[i-1]; tr.From != prev.To || tr.Gen <= prev.Gen {
							t.Fatalf("transition %d does not follow %d:\n %+v\n %+v", i, i-1, tr, prev)
						}
					}
				}
			},
		})
	})
}
