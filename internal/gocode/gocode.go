// Package gocode writes values as Go source, for the places that print a
// configuration as code a user can paste: package spec's GoCode and the
// lab's -tune answer.
package gocode

import (
	"strconv"
	"time"
)

// Duration writes d as a Go expression in its largest whole unit:
// "10 * time.Second", "time.Minute", "1500 * time.Millisecond".
func Duration(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{time.Hour, "time.Hour"}, {time.Minute, "time.Minute"}, {time.Second, "time.Second"}, {time.Millisecond, "time.Millisecond"}, {time.Microsecond, "time.Microsecond"}} {
		if d%u.d == 0 {
			if d == u.d {
				return u.name
			}
			return strconv.FormatInt(int64(d/u.d), 10) + " * " + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + " * time.Nanosecond"
}
