//go:build !race

package lab

// raceEnabled is true when the tests are built with -race; see race_test.go.
const raceEnabled = false
