//go:build race

package lab

// raceEnabled is true when the tests are built with -race, which makes the
// simulation several times slower; tests then replay fewer calls.
const raceEnabled = true
