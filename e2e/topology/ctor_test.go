package topology

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/queuetest"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
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

// conformance runs the backend conformance suite, with every feature the
// Redis backend claims, on c: each test on a backend of its own under
// the key prefix newPrefix answers.
func conformance(t *testing.T, c redis.UniversalClient, newPrefix func() string) {
	queuetest.Run(t, queuetest.Harness{Features: queuetest.Features{WaitDequeue: true, Schedules: true, MessageInspector: true, MultiWait: true}, New: func(t *testing.T) queuetest.Env {
		prefix := newPrefix()
		return queuetest.Env{
			Backend: newBackend(t, c, redisqueue.WithPrefix(prefix)),
			Advance: time.Sleep,
			Dump:    func() string { return redistest.Dump(t, c, prefix) },
		}
	}})
}
