package spec

import (
	"testing"
	"time"
)

// The recovery settings and the throttle read, print back canonically and
// reach the breaker's Config.
func TestRecoverySpec(t *testing.T) {
	s, err := Parse("any(throttle(2, 10s), consecutive(20)) @ retry-after-max=1m, backoff-forget=10m, ramp=30s, backoff=5m, open=30s")
	if err != nil {
		t.Fatal(err)
	}
	const want = "any(throttle(2,10s),consecutive(20))@open=30s,backoff=5m,ramp=30s,backoff-forget=10m,retry-after-max=1m"
	if got := s.String(); got != want {
		t.Fatalf("String() = %s, want %s", got, want)
	}
	back, err := Parse(want)
	if err != nil || !back.Equal(s) {
		t.Fatalf("round trip: %v, %v", back, err)
	}
	cfg := Config[int](s)
	if cfg.RampUp != 30*time.Second || cfg.MaxRetryAfter != time.Minute || cfg.Backoff.Forget != 10*time.Minute {
		t.Fatalf("Config: %+v", cfg)
	}
	if got := s.Policy.GoCode(); got != "policy.Any(policy.Throttle(2, 10 * time.Second), policy.Consecutive(20))" {
		t.Fatalf("GoCode() = %s", got)
	}
	for _, bad := range []string{"throttle(0.5,10s)", "throttle(2,0s)", "consecutive(5)@backoff-forget=1m", "consecutive(5)@ramp=-1s"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted it", bad)
		}
	}
}
