package spec_test

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/spec"
)

// TestSettingsReconfigure: a spec's Settings reconfigure a running
// breaker, with the spec as the settings' text, and a fresh policy each
// time, so that one Spec serves any number of breakers.
func TestSettingsReconfigure(t *testing.T) {
	s, err := spec.Parse("rate(0.3, 20, 10s)@open=30s,probes=1,backoff=5m")
	if err != nil {
		t.Fatal(err)
	}
	st := s.Settings()
	if st.Text != "rate(0.3,20,10s)@open=30s,probes=1,backoff=5m" || st.OpenTimeout != 30*time.Second || st.HalfOpenProbes != 1 || st.Backoff == nil || st.Backoff.Max != 5*time.Minute {
		t.Fatalf("Settings() = %+v", st)
	}
	if st.Policy == s.Settings().Policy {
		t.Fatalf("two calls of Settings share a policy")
	}
	for range 2 {
		b, err := breaker.New(breaker.Config[int]{})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Reconfigure(s.Settings(), "", ""); err != nil {
			t.Fatal(err)
		}
		if got := b.Settings(); got.Text != st.Text || got.OpenTimeout != 30*time.Second {
			t.Fatalf("breaker settings %+v", got)
		}
	}
}
