module github.com/tripwire-go/tripwire/sqlbreaker/internal/pgtest

go 1.24

require github.com/tripwire-go/tripwire v0.1.0

require go.uber.org/goleak v1.3.0

require (
	github.com/benbjohnson/clock v1.3.5 // indirect
	github.com/lib/pq v1.12.3
	pgregory.net/rapid v1.3.0 // indirect
)
