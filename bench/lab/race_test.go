//go:build race

package main

// raceEnabled is true when the tests are built with -race, which makes the
// simulation several times slower. It runs on one goroutine, so the
// race detector has nothing to find in the lab's full default run; tests
// then run a part of it.
const raceEnabled = true
