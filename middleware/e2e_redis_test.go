package middleware_test

import (
	"testing"

	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
)

// TestFullChainOnRedis runs the full-chain scenario (see runFullChain)
// against a private redis-server: poison message to the dead-letter list,
// a hanging handling retried, a failing dependency behind the breaker, and
// every message counted in and out.
func TestFullChainOnRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	b, err := redisqueue.New(srv.Client(t), redisqueue.WithPrefix("middleware-e2e"))
	if err != nil {
		t.Fatal(err)
	}
	runFullChain(t, b, "full-chain")
}
