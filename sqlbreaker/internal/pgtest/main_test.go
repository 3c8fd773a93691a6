package pgtest

import (
	"testing"

	"go.uber.org/goleak"
)

// Neither the wrapper nor the tests may leave a goroutine behind: every
// *sql.DB is closed, and the driver's cancel watchers have ended.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
