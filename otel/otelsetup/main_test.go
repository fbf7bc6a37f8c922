package otelsetup_test

import (
	"testing"

	"github.com/redghost/redghost/internal/redistest"
)

// TestMain stops the shared redis-server and checks that no test left a
// goroutine behind (workers stopped, tracer providers shut down).
func TestMain(m *testing.M) {
	redistest.Main(m)
}
