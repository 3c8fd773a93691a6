package redisfleet_test

import (
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/fleet/fleettest"
	"github.com/tripwire-go/tripwire/fleet/redisfleet"
)

// newMini starts a miniredis whose TIME reads start and returns a store
// over it, the server, and a function that moves its clock on.
func newMini(t *testing.T, start time.Time) (*redisfleet.Store, *miniredis.Miniredis, func(time.Duration)) {
	t.Helper()
	m := miniredis.RunT(t)
	now := start
	m.SetTime(now)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	adv := func(d time.Duration) {
		now = now.Add(d)
		m.SetTime(now)
		m.FastForward(d)
	}
	return redisfleet.New(c, redisfleet.Options{}), m, adv
}

func TestConformanceMiniredis(t *testing.T) {
	mini := map[fleet.Store]*miniredis.Miniredis{}
	fleettest.Run(t, fleettest.Harness{
		New: func(t *testing.T, start time.Time) (fleet.Store, func(time.Duration)) {
			s, m, adv := newMini(t, start)
			mini[s] = m
			return s, adv
		},
		Drop: func(t *testing.T, s fleet.Store, name string) { mini[s].FlushAll() },
	})
}
