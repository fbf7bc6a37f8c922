package core_test

import (
	"testing"

	"github.com/redghost/redghost/internal/redistest"
)

// Every worker a test starts must be gone when the tests end: pollers,
// handlers, the acknowledger, the heartbeat and the monitor; so must every
// Redis client (redistest.Main checks with goleak after stopping the
// shared server).
func TestMain(m *testing.M) { redistest.Main(m) }
