package redisfleet

import "time"

// Advance moves the time the scripts of s read on by d.
func Advance(s *Store, d time.Duration) { s.offset.Add(d.Microseconds()) }

// Keys returns the keys the scripts of s touch for the circuit name.
func Keys(s *Store, name string) []string { return s.keys(name) }
