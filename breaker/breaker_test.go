package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/policy"
)

var errDependency = errors.New("dependency failed")

// rig is a breaker under test with its mock clock and the transitions it
// reported, as "from>to" strings.
type rig struct {
	t     *testing.T
	b     *breaker.Breaker[int]
	clk   *manualClock
	log   []string
	calls int // how many times a function passed to exec ran
}

func newRig(t *testing.T, cs clockStart, cfg breaker.Config[int]) *rig {
	t.Helper()
	r := &rig{t: t, clk: newManualClock(cs)}
	cfg.Clock = r.clk
	user := cfg.OnStateChange
	cfg.OnStateChange = func(name string, from, to breaker.State) {
		r.log = append(r.log, from.String()+">"+to.String())
		if user != nil {
			user(name, from, to)
		}
	}
	b, err := breaker.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r.b = b
	return r
}

// exec runs one call that returns err, and returns the breaker's error.
func (r *rig) exec(err error) error {
	_, got := r.b.Execute(context.Background(), func(context.Context) (int, error) {
		r.calls++
		return 0, err
	})
	return got
}

func (r *rig) wantState(want breaker.State) {
	r.t.Helper()
	if got := r.b.State(); got != want {
		r.t.Fatalf("State() = %v, want %v", got, want)
	}
}

func (r *rig) wantLog(want ...string) {
	r.t.Helper()
	if strings.Join(r.log, " ") != strings.Join(want, " ") {
		r.t.Fatalf("transitions = %v, want %v", r.log, want)
	}
}

func wantRejected(t *testing.T, err error) *breaker.OpenError {
	t.Helper()
	var oe *breaker.OpenError
	if !errors.Is(err, breaker.ErrOpen) || !errors.As(err, &oe) {
		t.Fatalf("err = %v, want a rejection wrapping ErrOpen", err)
	}
	return oe
}

func TestDefaults(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		r := newRig(t, cs, breaker.Config[int]{Name: "db"})
		if r.b.Name() != "db" {
			t.Errorf("Name() = %q", r.b.Name())
		}
		for range breaker.DefaultFailures - 1 {
			r.exec(errDependency)
		}
		r.wantState(breaker.Closed)
		r.exec(errDependency)
		r.wantState(breaker.Open)
		r.wantLog("closed>open")

		oe := wantRejected(t, r.exec(nil))
		if r.calls != breaker.DefaultFailures {
			t.Fatalf("fn ran %d times; an open breaker must not run it", r.calls)
		}
		if want := r.clk.Now().Add(breaker.DefaultOpenTimeout); !oe.Until().Equal(want) || oe.Name() != "db" || oe.State() != breaker.Open {
			t.Fatalf("OpenError = %+v, want db open until %v", oe, want)
		}
		if got := oe.RetryAfter(r.clk.Now()); got != breaker.DefaultOpenTimeout {
			t.Fatalf("RetryAfter = %v", got)
		}
		if !strings.Contains(oe.Error(), `"db"`) || !strings.HasPrefix(oe.Error(), "breaker: ") {
			t.Fatalf("Error() = %q", oe.Error())
		}

		r.clk.Add(breaker.DefaultOpenTimeout - time.Millisecond)
		wantRejected(t, r.exec(nil))
		r.clk.Add(time.Millisecond)
		// Half-open as soon as the timeout has passed, before any call.
		r.wantState(breaker.HalfOpen)
		r.wantLog("closed>open", "open>half-open")

		var permits []breaker.Permit[int]
		for range breaker.DefaultHalfOpenProbes {
			p, err := r.b.Allow()
			if err != nil {
				t.Fatalf("probe rejected: %v", err)
			}
			permits = append(permits, p)
		}
		oe = wantRejected(t, func() error { _, err := r.b.Allow(); return err }())
		if oe.State() != breaker.HalfOpen {
			t.Fatalf("rejection in half-open says %v", oe.State())
		}
		for _, p := range permits {
			r.wantState(breaker.HalfOpen)
			p.Done(0, nil)
		}
		r.wantState(breaker.Closed)
		r.wantLog("closed>open", "open>half-open", "half-open>closed")
	})
}

func TestHalfOpen(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		half := func(t *testing.T, probes int) *rig {
			r := newRig(t, cs, breaker.Config[int]{OpenTimeout: time.Second, HalfOpenProbes: probes})
			r.b.Trip()
			r.clk.Add(time.Second)
			r.wantState(breaker.HalfOpen)
			return r
		}
		t.Run("failed probe opens again", func(t *testing.T) {
			r := half(t, 2)
			if err := r.exec(errDependency); !errors.Is(err, errDependency) {
				t.Fatalf("probe returned %v", err)
			}
			r.wantState(breaker.Open)
			oe := wantRejected(t, r.exec(nil))
			if want := r.clk.Now().Add(time.Second); !oe.Until().Equal(want) {
				t.Fatalf("reopened until %v, want %v", oe.Until(), want)
			}
			r.wantLog("closed>open", "open>half-open", "half-open>open")
		})
		t.Run("ignored probe frees its slot and counts for nothing", func(t *testing.T) {
			r := half(t, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The caller gives up during the probe: Ignored.
			_, err := r.b.Execute(ctx, func(ctx context.Context) (int, error) {
				cancel()
				return 0, ctx.Err()
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v", err)
			}
			r.wantState(breaker.HalfOpen)
			if err := r.exec(nil); err != nil {
				t.Fatalf("slot not freed: %v", err)
			}
			r.wantState(breaker.Closed)
		})
		t.Run("successes close only when all probes succeeded", func(t *testing.T) {
			r := half(t, 3)
			for i := 0; i < 2; i++ {
				if err := r.exec(nil); err != nil {
					t.Fatal(err)
				}
				r.wantState(breaker.HalfOpen)
			}
			r.exec(nil)
			r.wantState(breaker.Closed)
		})
		t.Run("a freed slot admits another probe", func(t *testing.T) {
			r := half(t, 2)
			p1, _ := r.b.Allow()
			p2, _ := r.b.Allow()
			wantRejected(t, func() error { _, err := r.b.Allow(); return err }())
			p1.Done(0, nil)
			p3, err := r.b.Allow()
			if err != nil {
				t.Fatalf("a slot freed by a success must admit a probe: %v", err)
			}
			p2.Done(0, nil)
			r.wantState(breaker.Closed)
			p3.Done(0, errDependency) // late: from the half-open period that ended
			r.wantState(breaker.Closed)
		})
	})
}

func TestLateResultsChangeNothing(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		tests := []struct {
			name   string
			during func(*rig)    // what happens while the call runs
			err    error         // the call's result
			want   breaker.State // state afterwards
			setup  func(*rig)    // before the call
			check  func(*testing.T, *rig)
		}{
			{
				name:   "failure after Reset",
				setup:  func(r *rig) { r.exec(errDependency) },
				during: func(r *rig) { r.b.Reset() },
				err:    errDependency,
				want:   breaker.Closed,
				check: func(t *testing.T, r *rig) {
					// Threshold 2: one stale failure must not have counted.
					r.exec(errDependency)
					r.wantState(breaker.Closed)
				},
			},
			{
				name:   "success after Trip",
				during: func(r *rig) { r.b.Trip() },
				want:   breaker.Open,
			},
			{
				name: "failure after trip and close",
				during: func(r *rig) {
					r.b.Trip()
					r.clk.Add(time.Second)
					r.exec(nil) // the one probe closes the circuit
				},
				err:  errDependency,
				want: breaker.Closed,
				check: func(t *testing.T, r *rig) {
					r.exec(errDependency)
					r.wantState(breaker.Closed)
				},
			},
			{
				name: "probe failure after the half-open period ended",
				setup: func(r *rig) {
					r.b.Trip()
					r.clk.Add(time.Second)
				},
				during: func(r *rig) { r.b.Reset() },
				err:    errDependency,
				want:   breaker.Closed,
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := newRig(t, cs, breaker.Config[int]{Policy: policy.Consecutive(2), OpenTimeout: time.Second, HalfOpenProbes: 1})
				if tt.setup != nil {
					tt.setup(r)
				}
				_, _ = r.b.Execute(context.Background(), func(context.Context) (int, error) {
					tt.during(r)
					return 0, tt.err
				})
				r.wantState(tt.want)
				if tt.check != nil {
					tt.check(t, r)
				}
			})
		}
	})
}

func TestPanics(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		type boom struct{ v int }
		catch := func(f func()) (v any) {
			defer func() { v = recover() }()
			f()
			return nil
		}
		t.Run("closed: counts as a failure, value intact", func(t *testing.T) {
			r := newRig(t, cs, breaker.Config[int]{Policy: policy.Consecutive(1)})
			v := catch(func() {
				r.b.Execute(context.Background(), func(context.Context) (int, error) { panic(boom{42}) })
			})
			if v != (boom{42}) {
				t.Fatalf("recovered %#v, want the original value", v)
			}
			r.wantState(breaker.Open)
		})
		t.Run("half-open: frees the slot and opens", func(t *testing.T) {
			r := newRig(t, cs, breaker.Config[int]{OpenTimeout: time.Second, HalfOpenProbes: 1})
			r.b.Trip()
			r.clk.Add(time.Second)
			catch(func() {
				r.b.Execute(context.Background(), func(context.Context) (int, error) { panic("probe") })
			})
			r.wantState(breaker.Open)
			r.clk.Add(time.Second)
			if err := r.exec(nil); err != nil {
				t.Fatalf("slot leaked by the panic: %v", err)
			}
			r.wantState(breaker.Closed)
		})
		t.Run("panicking Classify counts as a failure", func(t *testing.T) {
			r := newRig(t, cs, breaker.Config[int]{
				Policy:   policy.Consecutive(1),
				Classify: func(int, error) breaker.Outcome { panic("classify") },
			})
			if v := catch(func() { r.exec(nil) }); v != "classify" {
				t.Fatalf("recovered %v", v)
			}
			r.wantState(breaker.Open)
		})
	})
}

func TestClassification(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		live := context.Background()
		tests := []struct {
			name    string
			ctxDone bool  // cancel the caller's ctx during the call
			err     error // what fn returns
			want    breaker.State
		}{
			{"nil error is a success", false, nil, breaker.Closed},
			{"an error is a failure", false, errDependency, breaker.Open},
			{"caller's cancellation is ignored", true, context.Canceled, breaker.Closed},
			{"wrapped caller's cancellation is ignored", true, fmt.Errorf("get: %w", context.Canceled), breaker.Closed},
			{"Canceled while the caller is live is a failure", false, context.Canceled, breaker.Open},
			{"caller's deadline is a failure", true, context.DeadlineExceeded, breaker.Open},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := newRig(t, cs, breaker.Config[int]{Policy: policy.Consecutive(1)})
				ctx, cancel := context.WithCancel(live)
				defer cancel()
				_, err := r.b.Execute(ctx, func(context.Context) (int, error) {
					if tt.ctxDone {
						cancel()
					}
					return 0, tt.err
				})
				if err != tt.err {
					t.Fatalf("Execute returned %v, want fn's own %v", err, tt.err)
				}
				r.wantState(tt.want)
			})
		}
		t.Run("context already done", func(t *testing.T) {
			for _, open := range []bool{false, true} {
				r := newRig(t, cs, breaker.Config[int]{Policy: policy.Consecutive(1)})
				if open {
					r.b.Trip()
				}
				_, err := r.b.Execute(canceled, func(context.Context) (int, error) {
					t.Fatal("fn ran with a done context")
					return 0, nil
				})
				if !errors.Is(err, context.Canceled) || errors.Is(err, breaker.ErrOpen) {
					t.Fatalf("err = %v, want ctx.Err()", err)
				}
				if open {
					r.wantLog("closed>open")
				} else {
					r.wantState(breaker.Closed)
					r.wantLog()
				}
			}
		})
		t.Run("Permit.Done has no ctx rule", func(t *testing.T) {
			r := newRig(t, cs, breaker.Config[int]{Policy: policy.Consecutive(1)})
			p, _ := r.b.Allow()
			p.Done(0, context.Canceled)
			r.wantState(breaker.Open)
		})
		t.Run("by result value", func(t *testing.T) {
			r := newRig(t, cs, breaker.Config[int]{
				Policy: policy.Consecutive(2),
				Classify: func(status int, err error) breaker.Outcome {
					switch {
					case err != nil || status >= 500:
						return breaker.Failure
					case status == 404:
						return breaker.Ignored
					}
					return breaker.Success
				},
			})
			for _, status := range []int{503, 404, 200, 503, 404} {
				r.b.Execute(live, func(context.Context) (int, error) { return status, nil })
			}
			r.wantState(breaker.Closed) // 503, 200 and 503 are not two in a row
			r.b.Execute(live, func(context.Context) (int, error) { return 500, nil })
			r.wantState(breaker.Open)
		})
		t.Run("out-of-range outcome is a failure", func(t *testing.T) {
			r := newRig(t, cs, breaker.Config[int]{
				Policy:   policy.Consecutive(1),
				Classify: func(int, error) breaker.Outcome { return 99 },
			})
			r.exec(nil)
			r.wantState(breaker.Open)
		})
	})
}

func TestInvalidConfig(t *testing.T) {
	shared := policy.Consecutive(3)
	if _, err := breaker.New(breaker.Config[int]{Policy: shared}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		cfg   breaker.Config[int]
		names string // what the message must name
	}{
		{"negative OpenTimeout", breaker.Config[int]{OpenTimeout: -time.Second}, "OpenTimeout"},
		{"negative HalfOpenProbes", breaker.Config[int]{HalfOpenProbes: -1}, "HalfOpenProbes"},
		{"too many HalfOpenProbes", breaker.Config[int]{HalfOpenProbes: breaker.MaxHalfOpenProbes + 1}, "HalfOpenProbes"},
		{"zero failures", breaker.Config[int]{Policy: policy.Consecutive(0)}, "failures"},
		{"negative failures", breaker.Config[int]{Policy: policy.Consecutive(-3)}, "failures"},
		{"shared policy", breaker.Config[int]{Policy: shared}, "Policy"},
		{"nil clock pointer", breaker.Config[int]{Clock: (*clock.Mock)(nil)}, "Clock"},
		{"nil policy pointer", breaker.Config[int]{Policy: (*policy.ConsecutivePolicy)(nil)}, "Policy"},
		{"zero policy value", breaker.Config[int]{Policy: &policy.ConsecutivePolicy{}}, "failures"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := breaker.New(tt.cfg)
			if !errors.Is(err, breaker.ErrInvalidConfig) || b != nil {
				t.Fatalf("New = %v, %v; want an error wrapping ErrInvalidConfig", b, err)
			}
			if !strings.Contains(err.Error(), tt.names) || !strings.HasPrefix(err.Error(), "breaker: ") {
				t.Fatalf("error %q does not name %s", err, tt.names)
			}
			var ce *breaker.ConfigError
			if !errors.As(err, &ce) || !strings.Contains(ce.Field+": "+ce.Problem(), tt.names) {
				t.Fatalf("error %q: ConfigError %+v does not name %s", err, ce, tt.names)
			}
		})
	}
	t.Run("a rejected config does not use up its policy", func(t *testing.T) {
		p := policy.Consecutive(2)
		if _, err := breaker.New(breaker.Config[int]{Policy: p, OpenTimeout: -1}); err == nil {
			t.Fatal("accepted a negative OpenTimeout")
		}
		if _, err := breaker.New(breaker.Config[int]{Policy: p}); err != nil {
			t.Fatalf("policy unusable after a rejected config: %v", err)
		}
	})
	t.Run("shared policy error", func(t *testing.T) {
		_, err := breaker.New(breaker.Config[int]{Policy: shared})
		if !errors.Is(err, policy.ErrShared) {
			t.Fatalf("err = %v, want it to wrap policy.ErrShared", err)
		}
	})
}

func TestTransitions(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		t.Run("Trip on open and Reset on closed report nothing", func(t *testing.T) {
			r := newRig(t, cs, breaker.Config[int]{})
			r.b.Reset()
			r.b.Trip()
			r.b.Trip()
			r.b.Reset()
			r.b.Reset()
			r.wantLog("closed>open", "open>closed")
		})
		t.Run("Trip from half-open", func(t *testing.T) {
			r := newRig(t, cs, breaker.Config[int]{OpenTimeout: time.Second})
			r.b.Trip()
			r.clk.Add(time.Second)
			r.b.Trip() // the timeout has passed: half-open first, then open again
			r.wantLog("closed>open", "open>half-open", "half-open>open")
			r.wantState(breaker.Open)
		})
		t.Run("Reset keeps the policy from counting old failures", func(t *testing.T) {
			r := newRig(t, cs, breaker.Config[int]{Policy: policy.Consecutive(2)})
			r.exec(errDependency)
			r.b.Reset()
			r.exec(errDependency)
			r.wantState(breaker.Closed)
		})
		t.Run("closing resets the policy", func(t *testing.T) {
			r := newRig(t, cs, breaker.Config[int]{Policy: policy.Consecutive(2), OpenTimeout: time.Second, HalfOpenProbes: 1})
			r.exec(errDependency)
			r.exec(errDependency)
			r.clk.Add(time.Second)
			r.exec(nil)
			r.wantState(breaker.Closed)
			r.exec(errDependency)
			r.wantState(breaker.Closed)
		})
		t.Run("delivered before the call returns", func(t *testing.T) {
			var seen []breaker.State
			r := newRig(t, cs, breaker.Config[int]{
				Policy: policy.Consecutive(1),
				OnStateChange: func(_ string, _, to breaker.State) {
					seen = append(seen, to)
				},
			})
			r.exec(errDependency)
			if len(seen) != 1 || seen[0] != breaker.Open {
				t.Fatalf("after the tripping call returned, callbacks saw %v", seen)
			}
		})
	})
}

// TestOnStateChangeCallsBackNoDeadlock is the regression test for the
// deadlock of gobreaker v2, whose OnStateChange runs under the breaker's
// lock: a callback that calls the breaker must simply work.
func TestOnStateChangeCallsBackNoDeadlock(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		var r *rig
		var states []string
		r = newRig(t, cs, breaker.Config[int]{
			Policy:      policy.Consecutive(1),
			OpenTimeout: time.Second,
			OnStateChange: func(_ string, from, to breaker.State) {
				states = append(states, r.b.State().String())
				switch to {
				case breaker.Open:
					r.b.Trip() // no-op: already open
				case breaker.HalfOpen:
					r.b.Reset()
				}
			},
		})
		r.exec(errDependency)
		r.clk.Add(time.Second)
		r.wantState(breaker.Closed) // half-open, then the callback's Reset
		r.wantLog("closed>open", "open>half-open", "half-open>closed")
		if got := strings.Join(states, " "); got != "open half-open closed" {
			t.Fatalf("State() inside callbacks: %v", got)
		}
	})
}

func TestOnStateChangePanic(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		var r *rig
		once := true
		r = newRig(t, cs, breaker.Config[int]{
			Policy: policy.Consecutive(1),
			OnStateChange: func(_ string, _, to breaker.State) {
				if once {
					once = false
					panic("callback")
				}
			},
		})
		func() {
			defer func() {
				if v := recover(); v != "callback" {
					t.Fatalf("recovered %v", v)
				}
			}()
			r.exec(errDependency)
		}()
		// The transition happened; the breaker still works and still reports.
		r.wantState(breaker.Open)
		r.b.Reset()
		r.wantLog("closed>open", "open>closed")
	})
}

func TestPermitMisuse(t *testing.T) {
	eachClockStart(t, clockStarts(), func(t *testing.T, cs clockStart) {
		var zero breaker.Permit[int]
		zero.Done(0, errDependency) // does nothing, does not panic

		r := newRig(t, cs, breaker.Config[int]{Policy: policy.Consecutive(2), OpenTimeout: time.Second, HalfOpenProbes: 2})
		p, _ := r.b.Allow()
		p.Done(0, errDependency)
		p.Done(0, errDependency)
		copyOfP := p
		copyOfP.Done(0, errDependency)
		r.wantState(breaker.Closed) // counted once

		r.b.Trip()
		r.clk.Add(time.Second)
		p1, _ := r.b.Allow()
		p2, _ := r.b.Allow()
		p1.Done(0, nil)
		p1.Done(0, nil) // must neither free p2's slot nor count a second success
		r.wantState(breaker.HalfOpen)
		p3, err := r.b.Allow()
		if err != nil {
			t.Fatalf("p1's slot not freed: %v", err)
		}
		wantRejected(t, func() error { _, err := r.b.Allow(); return err }())
		p2.Done(0, nil)
		r.wantState(breaker.Closed)
		p3.Done(0, errDependency) // late: changes nothing
		r.wantState(breaker.Closed)
	})
}
