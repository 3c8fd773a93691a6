module github.com/tripwire-go/tripwire/bench/peers

go 1.26.0

require (
	github.com/afex/hystrix-go v0.0.0-20180502004556-fa1af6a1f4f5
	github.com/cenk/backoff v2.2.1+incompatible
	github.com/eapache/go-resiliency v1.7.0
	github.com/failsafe-go/failsafe-go v0.9.8
	github.com/rubyist/circuitbreaker v2.2.1+incompatible
	github.com/sony/gobreaker/v2 v2.4.0
	github.com/streadway/handy v0.0.0-20200128134331-0f66f006fb2e
	github.com/tripwire-go/tripwire v0.1.0
)

require (
	github.com/bits-and-blooms/bitset v1.24.4 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/facebookgo/clock v0.0.0-20150410010913-600d898af40a // indirect
	github.com/peterbourgon/g2s v0.0.0-20170223122336-d4e7ad98afea // indirect
	github.com/redis/go-redis/v9 v9.23.0
	github.com/smartystreets/goconvey v1.8.1 // indirect
	github.com/tripwire-go/tripwire/fleet/redisfleet v0.1.0
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/tripwire-go/tripwire => ../..

replace github.com/tripwire-go/tripwire/fleet/redisfleet => ../../fleet/redisfleet
