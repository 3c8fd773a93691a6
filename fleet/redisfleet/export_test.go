package redisfleet

import "time"

// Advance moves the time the scripts of s read on by d.
func Advance(s *Store, d time.Duration) { s.offset.Add(d.Microseconds()) }
