// Package goid tells goroutines apart, for the few places that must know
// whether a call comes from inside a callback they are running: a group
// delivering OnCreate, a fleet coordinator applying a record. Such a call
// must not wait for the work its own goroutine is in the middle of, while a
// call from any other goroutine should.
//
// Go does not expose a goroutine's identity; the first line of a stack
// trace ("goroutine 42 [running]:") carries it. Reading it costs about a
// microsecond, so it is only read on slow paths, never per call.
package goid

import "runtime"

// Current returns the id of the calling goroutine, or 0 if the stack
// trace does not start the expected way (then no two goroutines are told
// apart, and callers must treat 0 as "unknown").
func Current() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	const prefix = "goroutine "
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return 0
	}
	var id int64
	for _, c := range b[len(prefix):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int64(c-'0')
	}
	return id
}
