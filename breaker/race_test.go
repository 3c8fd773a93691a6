//go:build race

package breaker_test

// raceEnabled is true in a -race build. The race detector makes sync.Pool
// drop what it is given at random, so allocation counts mean nothing then.
const raceEnabled = true
