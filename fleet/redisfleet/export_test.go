package redisfleet

import "time"

// Advance moves the time the scripts of s read on by d.
func Advance(s *Store, d time.Duration) { s.offset.Add(d.Microseconds()) }

// Keys returns the keys the scripts of s touch for the circuit name.
func Keys(s *Store, name string) []string { return s.keys(name) }

// SetTime sets the offset of the time the scripts of s read so that the
// server's time reads now: a simulation on a virtual clock resets it at
// every step of its clock.
func SetTime(s *Store, now time.Time) { s.offset.Store(time.Until(now).Microseconds()) }
