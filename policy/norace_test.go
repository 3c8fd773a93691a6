//go:build !race

package policy_test

// raceEnabled: see race_test.go.
const raceEnabled = false
