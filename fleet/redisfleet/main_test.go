package redisfleet_test

import (
	"os"
	"testing"

	"github.com/tripwire-go/tripwire/fleet/redisfleet/internal/redistest"
)

func TestMain(m *testing.M) {
	if os.Getenv(memberEnv) != "" {
		memberMain()
		os.Exit(0)
	}
	// Stops the cluster the tests share, if one started it.
	os.Exit(redistest.Main(m))
}
