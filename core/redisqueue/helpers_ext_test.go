package redisqueue_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
)

// newBackend is redisqueue.New for options a test knows are valid.
func newBackend(t testing.TB, c redis.UniversalClient, opts ...redisqueue.Option) *redisqueue.Backend {
	t.Helper()
	b, err := redisqueue.New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newWorker is core.NewWorker for options a test knows are valid.
func newWorker(t testing.TB, q *core.Queue, h core.Handler, opts ...core.WorkerOption) *core.Worker {
	t.Helper()
	w, err := core.NewWorker(q, h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
