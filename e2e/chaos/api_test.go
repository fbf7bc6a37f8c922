package chaos_test

import (
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
)

// Every call of the library's constructors is here, so that a change of
// their signatures is adapted in this one file.

// newBackend is the Redis backend the producer, the workers and the test
// itself use. It checks the store every second (default 5 s), so that a
// Redis that came back empty is reported within the scenario.
func newBackend(c redis.UniversalClient) (*redisqueue.Backend, error) {
	return redisqueue.New(c, redisqueue.WithHealthCheckInterval(time.Second))
}

// workerConfig is what a worker process is started with.
type workerConfig struct {
	concurrency int
	lock        time.Duration
}

// newWorker is the worker of a worker process.
func newWorker(q *core.Queue, h core.Handler, cfg workerConfig) (*core.Worker, error) {
	return core.NewWorker(q, h,
		core.WithConcurrency(cfg.concurrency),
		core.WithDefaultLockDuration(cfg.lock),
		core.WithMaxWait(200*time.Millisecond),
		core.WithErrorBackoff(20*time.Millisecond, 500*time.Millisecond),
	)
}
