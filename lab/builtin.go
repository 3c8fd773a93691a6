package lab

import "time"

// Builtin returns the lab's built-in scenarios, a fresh copy each time.
// They share one setting, so that their figures compare: five minutes of
// 50 calls a second with jittered arrivals, a dependency that answers in
// 50 ms on average and fails 1% of calls when healthy, calls of a second or
// more counted as slow, and a breaker that stays open for 10 s and closes
// after 3 good probes.
func Builtin() []Scenario {
	base := func(name, description string, phases ...Phase) Scenario {
		return Scenario{
			Name:           name,
			Description:    description,
			Duration:       5 * time.Minute,
			Rate:           50,
			Jitter:         0.5,
			Errors:         0.01,
			Latency:        50 * time.Millisecond,
			SlowCall:       time.Second,
			OpenTimeout:    10 * time.Second,
			HalfOpenProbes: 3,
			Phases:         phases,
		}
	}
	healthy := Steady(50 * time.Millisecond)
	phase := func(name string, start, end time.Duration, errors Ramp[float64], latency Ramp[time.Duration]) Phase {
		return Phase{Name: name, Start: start, End: end, Errors: errors, Latency: latency}
	}
	var flaps []Phase
	for start := 60 * time.Second; start < 240*time.Second; start += 30 * time.Second {
		flaps = append(flaps, phase("down", start, start+15*time.Second, Steady(1.0), healthy))
	}
	return []Scenario{
		base("healthy", "No fault: 1% background errors. Every trip is a false alarm."),
		base("outage", "Hard outage: every call fails from 1m to 3m.",
			phase("down", time.Minute, 3*time.Minute, Steady(1.0), healthy)),
		base("brownout", "Brownout: 30% of calls fail from 1m, rising to 50% by 4m.",
			phase("brownout", time.Minute, 4*time.Minute, Linear(0.3, 0.5), healthy)),
		base("latency-spike", "Latency spike: calls take 2s on average from 1m to 3m, but do not fail.",
			phase("slow", time.Minute, 3*time.Minute, Steady(0.01), Steady(2*time.Second))),
		base("flapping", "Flapping: the dependency is down for 15s of every 30s, from 1m to 4m.", flaps...),
		base("slow-recovery", "Slow recovery: down from 1m to 2m, then errors fall steadily back to 1% by 4m.",
			phase("down", time.Minute, 2*time.Minute, Steady(1.0), healthy),
			phase("recovery", 2*time.Minute, 4*time.Minute, Linear(1.0, 0.01), healthy)),
	}
}
