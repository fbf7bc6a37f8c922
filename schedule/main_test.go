package schedule

import (
	"testing"

	"github.com/redghost/redghost/internal/redistest"
)

// TestMain stops the shared redis-server and checks that no scheduler or
// client was left running.
func TestMain(m *testing.M) { redistest.Main(m) }
