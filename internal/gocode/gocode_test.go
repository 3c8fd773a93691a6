package gocode_test

import (
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/internal/gocode"
)

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute:             "time.Minute",
		10 * time.Second:        "10 * time.Second",
		1500 * time.Millisecond: "1500 * time.Millisecond",
		90 * time.Minute:        "90 * time.Minute",
		2 * time.Hour:           "2 * time.Hour",
		3:                       "3 * time.Nanosecond",
		-time.Second:            "-1 * time.Second",
	} {
		if got := gocode.Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}
