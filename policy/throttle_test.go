package policy_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
)

func TestThrottleProbability(t *testing.T) {
	epochs.Run(t, epochs.All(), func(t *testing.T, start time.Time) {
		p := policy.Throttle(2, 10*time.Second)
		if _, err := policy.Bind(p); err != nil {
			t.Fatal(err)
		}
		if q := p.ShedProbability(start); q != 0 {
			t.Fatalf("no calls: sheds %v", q)
		}
		// 30 requests, 10 accepted: (30 - 2·10) / 31.
		for i := range 30 {
			if p.Record(policy.Call{Failed: i >= 10, At: start}) {
				t.Fatal("a throttle tripped")
			}
		}
		if q, want := p.ShedProbability(start), 10.0/31; math.Abs(q-want) > 1e-12 {
			t.Fatalf("sheds %v, want %v", q, want)
		}
		// All failing: capped below 1, a trickle always runs.
		for range 1000 {
			p.Record(policy.Call{Failed: true, At: start})
		}
		if q := p.ShedProbability(start); q != 1-policy.ThrottleTrickle {
			t.Fatalf("all failing: sheds %v, want %v", q, 1-policy.ThrottleTrickle)
		}
		// The window moves on: the old calls are forgotten.
		if q := p.ShedProbability(start.Add(11 * time.Second)); q != 0 {
			t.Fatalf("after the window: sheds %v", q)
		}
		if !strings.Contains(p.Explain(start).Text, "shedding 95.0%") {
			t.Fatalf("account %q", p.Explain(start).Text)
		}
		p.Reset()
		if q := p.ShedProbability(start); q != 0 {
			t.Fatalf("after Reset: sheds %v", q)
		}
	})
}

func TestThrottleShedsWithItsRand(t *testing.T) {
	start := epochs.Today
	u := 0.0
	p := policy.Throttle(1, time.Minute).WithRand(func() float64 { return u })
	policy.Bind(p)
	for range 9 {
		p.Record(policy.Call{Failed: true, At: start})
	}
	p.Record(policy.Call{At: start}) // 10 requests, 1 accept: (10-1)/11
	u = 0.81
	if !p.Shed(start) {
		t.Fatal("u=0.81 < 9/11: not shed")
	}
	u = 0.82
	if p.Shed(start) {
		t.Fatal("u=0.82 > 9/11: shed")
	}
	u = math.NaN() // a broken source sheds, at most the capped share
	if !p.Shed(start) {
		t.Fatal("NaN: not shed")
	}
}

func TestThrottleArgs(t *testing.T) {
	for _, tc := range []struct {
		p    policy.Policy
		want string
	}{
		{policy.Throttle(0.5, time.Second), "Throttle.k"},
		{policy.Throttle(math.Inf(1), time.Second), "Throttle.k"},
		{policy.Throttle(math.NaN(), time.Second), "Throttle.k"},
		{policy.Throttle(2, 0), "Throttle.over"},
	} {
		_, err := policy.Bind(tc.p)
		var ae *policy.ArgError
		if !errors.As(err, &ae) || ae.Field != tc.want {
			t.Errorf("%v: %v, want an ArgError naming %s", tc.p, err, tc.want)
		}
	}
	// Shared with a second breaker: refused.
	p := policy.Throttle(2, time.Second)
	policy.Bind(p)
	if _, err := policy.Bind(p); !errors.Is(err, policy.ErrShared) {
		t.Fatalf("second Bind: %v", err)
	}
	// Inside Any, its shedder reaches the terms.
	terms, err := policy.Bind(policy.Any(policy.Throttle(2, time.Second), policy.Consecutive(3)))
	if err != nil || terms.Shedder == nil || terms.Needs&policy.NeedTime == 0 {
		t.Fatalf("Any with a throttle: %+v, %v", terms, err)
	}
}
