module github.com/tripwire-go/tripwire

go 1.24

require (
	github.com/benbjohnson/clock v1.3.5
	pgregory.net/rapid v1.3.0
)
