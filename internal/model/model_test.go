package model_test

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/model"
)

// The model is the reference for the real breaker, so its own reading of
// the contract is pinned here on one walk through every state.
func TestOneCycle(t *testing.T) {
	m := &model.Breaker{Threshold: 2, Timeout: time.Second, Probes: 2}
	now := time.Unix(0, 0)
	for range 2 {
		p, ok := m.Allow(now)
		if !ok {
			t.Fatal("closed breaker rejected a call")
		}
		m.Done(p, model.Failure, now)
	}
	if m.State != model.Open || !m.Until.Equal(now.Add(time.Second)) {
		t.Fatalf("after 2 failures: %v until %v", m.State, m.Until)
	}
	if _, ok := m.Allow(now.Add(time.Second - 1)); ok {
		t.Fatal("open breaker let a call through before the timeout")
	}
	now = now.Add(time.Second)
	p1, ok1 := m.Allow(now)
	p2, ok2 := m.Allow(now)
	if _, ok3 := m.Allow(now); !ok1 || !ok2 || ok3 {
		t.Fatalf("half-open admitted %v %v %v, want two probes and no third", ok1, ok2, ok3)
	}
	m.Done(p1, model.Success, now)
	m.Done(p2, model.Success, now)
	want := []model.Transition{{model.Closed, model.Open}, {model.Open, model.HalfOpen}, {model.HalfOpen, model.Closed}}
	if len(m.Log) != len(want) {
		t.Fatalf("log %v, want %v", m.Log, want)
	}
	for i := range want {
		if m.Log[i] != want[i] {
			t.Fatalf("log %v, want %v", m.Log, want)
		}
	}
}
