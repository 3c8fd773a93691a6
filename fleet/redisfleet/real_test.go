package redisfleet_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/fleet/fleettest"
	"github.com/tripwire-go/tripwire/fleet/redisfleet"
	"github.com/tripwire-go/tripwire/fleet/redisfleet/internal/redistest"
)

// TestConformanceRedis runs the suite on a real redis-server: its Lua is
// not miniredis's. The server's clock cannot be set, so the scripts' time
// is moved on by an offset, and each case gets a prefix of its own.
func TestConformanceRedis(t *testing.T) {
	srv := redistest.Start(t)
	var n atomic.Int64
	fleettest.Run(t, fleettest.Harness{
		New: func(t *testing.T, start time.Time) (fleet.Store, func(time.Duration)) {
			s := redisfleet.New(srv.Client(t), redisfleet.Options{Prefix: "c" + strconv.FormatInt(n.Add(1), 10)})
			redisfleet.Advance(s, time.Until(start))
			return s, func(d time.Duration) { redisfleet.Advance(s, d) }
		},
		Drop: func(t *testing.T, s fleet.Store, name string) {
			if err := srv.Client(t).FlushAll(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
		},
		KeepsTime: true,
		Slack:     time.Second,
	})
}

// TestHostileRecords: what a script finds in Redis that it cannot read
// gives a RecordError naming the field, changes nothing, and panics
// nowhere.
func TestHostileRecords(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx := context.Background()
	s := redisfleet.New(c, redisfleet.Options{})
	p := fleettest.Params()
	for _, tc := range []struct {
		field, value, want string
	}{
		{"v", "2", "Version"},
		{"v", "x", "v"},
		{"gen", "1e400", "gen"},
		{"gen", "-3", "gen"},
		{"until", "soon", "until"},
		{"mode", "7", "mode"},
		{"open", "2", "open"},
		{"inc", "", "inc"},
	} {
		t.Run(tc.field+"="+tc.value, func(t *testing.T) {
			if err := c.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Trip(ctx, "dep", fleet.TripRequest{Instance: "a"}, p); err != nil {
				t.Fatal(err)
			}
			if err := c.HSet(ctx, "tw:{dep}:r", tc.field, tc.value).Err(); err != nil {
				t.Fatal(err)
			}
			before, _ := c.HGetAll(ctx, "tw:{dep}:r").Result()
			_, err := s.Trip(ctx, "dep", fleet.TripRequest{Instance: "b"}, p)
			var re *fleet.RecordError
			if !errors.As(err, &re) || !errors.Is(err, fleet.ErrProtocol) || re.Field != tc.want {
				t.Fatalf("Trip on a record with %s=%q: %v, want a RecordError on %s", tc.field, tc.value, err, tc.want)
			}
			after, _ := c.HGetAll(ctx, "tw:{dep}:r").Result()
			if len(before) != len(after) || before["gen"] != after["gen"] || before["v"] != after["v"] {
				t.Fatalf("the script changed a record it could not read: %v → %v", before, after)
			}
		})
	}
	t.Run("not a hash", func(t *testing.T) {
		_ = c.FlushAll(ctx)
		_ = c.Set(ctx, "tw:{dep}:r", "junk", 0)
		if _, err := s.Trip(ctx, "dep", fleet.TripRequest{Instance: "a"}, p); err == nil {
			t.Fatal("Trip over a string key succeeded")
		}
	})
	t.Run("empty name", func(t *testing.T) {
		if _, err := s.Trip(ctx, "", fleet.TripRequest{Instance: "a"}, p); err == nil {
			t.Fatal("Trip of an unnamed circuit succeeded")
		}
	})
}
