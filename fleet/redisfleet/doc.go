// Package redisfleet is a [fleet.Store] over Redis: the circuits of a
// fleet kept in Redis and changed by Lua scripts, so that many instances
// of a service share them.
//
// Each step of [fleet.Store] is one script, run with EVALSHA (go-redis
// falls back to EVAL when the server lost its scripts), that reads the time
// from the server with TIME: open periods and probe leases are measured on
// one clock, and instances are told remaining durations, so their own
// clocks need not agree. The keys of one circuit share a hash tag
// ("tw:{name}:..."), so each script touches one slot of a Redis Cluster;
// every step sets them to expire after the fleet's Retention. A
// [fleet.Coordinator] sends the flushes of all its breakers in one
// pipeline, one round trip per interval, and reads the events of all of
// them through one subscription.
//
// A record the scripts cannot read (a malformed field, a newer protocol
// version) is left as it is, and the step fails with a
// [*fleet.RecordError] that names the field.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true, MaxRetries: -1})
//	co, err := fleet.New(fleet.Config{Store: redisfleet.New(rdb, redisfleet.Options{})})
package redisfleet
