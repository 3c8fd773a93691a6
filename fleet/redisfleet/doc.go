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
//
// # Redis Cluster
//
// Give New a *redis.ClusterClient. The keys of a circuit share the hash
// tag {name}, so each script runs on the one master that holds them, and a
// flush is one pipelined round trip to each master involved, in parallel.
// A name that starts with "}", or a prefix that holds "{}", would give the
// keys an empty tag, which spreads them over slots: the steps of such a
// circuit are refused with an error that says so. When a step gets no
// answer (a timeout, a broken connection), the store asks the cluster
// client to read its slot map again: go-redis otherwise learns of a
// failover only from the old master's MOVED replies, which a master that
// hangs or is cut off never sends, or after ClusterStateReloadInterval (a
// minute by default), and every step of that master's circuits would fail
// until then.
//
// Events use classic pub/sub (the scripts PUBLISH, a process SUBSCRIBEs
// once), not sharded pub/sub (SPUBLISH, SSUBSCRIBE). A process subscribes
// once for all its circuits, before it knows them, to one channel; a
// sharded channel would have to carry each circuit's hash tag in its name,
// and a process would need a subscription on every master, made again
// after each failover. A cluster carries a classic message to every node
// over its bus: records change a few times an outage, so that costs little,
// and a message lost meanwhile is made up by the next flush.
//
//	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true, MaxRetries: -1})
package redisfleet
