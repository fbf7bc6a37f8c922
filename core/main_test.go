package core_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every worker a test starts must be gone when the tests end: pollers,
// handlers, the acknowledger, the heartbeat and the monitor.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
