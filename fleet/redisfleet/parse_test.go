package redisfleet

import (
	"errors"
	"strings"
	"testing"

	"github.com/tripwire-go/tripwire/fleet"
)

// FuzzParse: whatever Redis hands back — an event payload or a script's
// reply — parsing gives a valid record or a RecordError, never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"1|inc|2|1|0|5000|1|0|0|r1|dep",
		"1|inc|2|1|0|9223372036854776|1|0|0||dep",
		"1|inc|2|2|0|0|1|3|0|a|b|c",
		"2|inc|2|1|0|5|1|0|0|dep",
		"1||2|1|0|5|1|0|0|dep",
		"1|inc|-1|1|0|5|1|0|0|dep",
		"1|inc|99999999999999999999|1|0|5|1|0|0|dep",
		"1|inc|2|1|9|5|1|0|0|dep",
		"", "|||||||||", "x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if rec, err := parseEvent(s); err == nil {
			if verr := rec.Validate(); verr != nil {
				t.Fatalf("parseEvent(%q) = %+v, invalid: %v", s, rec, verr)
			}
		} else if !errors.Is(err, fleet.ErrProtocol) {
			t.Fatalf("parseEvent(%q): %v is not a RecordError", s, err)
		}
		fields := strings.Split(s, "|")
		reply := make([]any, len(fields))
		for i, x := range fields {
			reply[i] = x
		}
		if _, rec, err := parseReply("dep", reply, nil); err == nil {
			if verr := rec.Validate(); verr != nil {
				t.Fatalf("parseReply(%q) = %+v, invalid: %v", s, rec, verr)
			}
		} else if !errors.Is(err, fleet.ErrProtocol) {
			t.Fatalf("parseReply(%q): %v is not a RecordError", s, err)
		}
	})
}
