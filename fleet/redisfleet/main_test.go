package redisfleet_test

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	if os.Getenv(memberEnv) != "" {
		memberMain()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
