//go:build race

package policy_test

// raceEnabled: the race detector slows atomics tenfold, so the tests that
// hammer a policy from many goroutines do fewer rounds under it.
const raceEnabled = true
