package topology

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
)

// Every constructor of the library that these tests call is called here,
// so that a change of their signatures is adapted in one place.

func newBackend(t testing.TB, c redis.UniversalClient, opts ...redisqueue.Option) *redisqueue.Backend {
	t.Helper()
	b, err := redisqueue.New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newWorker makes a worker that recovers quickly from a lost node: short
// locks (messages a dead primary had locked come back soon) and a short
// backoff after backend errors.
func newWorker(t testing.TB, b core.Backend, queue string, h core.HandlerFunc) *core.Worker {
	t.Helper()
	w, err := core.NewWorker(core.NewQueue(b, queue), h,
		core.WithDefaultLockDuration(2*time.Second),
		core.WithErrorBackoff(20*time.Millisecond, 250*time.Millisecond),
		core.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	return w
}
