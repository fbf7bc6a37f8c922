package redisqueue

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core/queuetest"
	"github.com/redghost/redghost/internal/redistest"
)

func TestMain(m *testing.M) {
	redistest.Main(m)
}

var prefixes atomic.Int64

// newEnv makes a backend on the package's shared server with a key prefix
// of its own, so that parallel tests never see each other's keys.
func newEnv(t testing.TB, opts ...Option) (*Backend, *redis.Client, string) {
	t.Helper()
	srv := redistest.Shared(t)
	c := srv.Client(t)
	prefix := fmt.Sprintf("rgt%d", prefixes.Add(1))
	return mustNew(t, c, append([]Option{WithPrefix(prefix)}, opts...)...), c, prefix
}

// mustNew is New for options a test knows are valid.
func mustNew(t testing.TB, c redis.UniversalClient, opts ...Option) *Backend {
	t.Helper()
	b, err := New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformance(t *testing.T) {
	queuetest.Run(t, queuetest.Harness{Features: queuetest.Features{WaitDequeue: true, Schedules: true, MessageInspector: true, MultiWait: true}, New: func(t *testing.T) queuetest.Env {
		b, c, prefix := newEnv(t)
		return queuetest.Env{
			Backend: b,
			Advance: time.Sleep,
			Dump:    func() string { return redistest.Dump(t, c, prefix) },
		}
	}})
}
