package middleware_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/middleware"
	"go.uber.org/goleak"
)

// mustRetry is middleware.Retry for settings a test knows are valid.
func mustRetry(t testing.TB, opts ...middleware.RetryOption) core.Middleware {
	t.Helper()
	mw, err := middleware.Retry(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

// mustTimeout is middleware.Timeout for settings a test knows are valid.
func mustTimeout(t testing.TB, d time.Duration, opts ...middleware.TimeoutOption) core.Middleware {
	t.Helper()
	mw, err := middleware.Timeout(d, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

// mustWorker is core.NewWorker for options a test knows are valid.
func mustWorker(t testing.TB, q *core.Queue, h core.Handler, opts ...core.WorkerOption) *core.Worker {
	t.Helper()
	w, err := core.NewWorker(q, h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// mustMem is a fresh in-memory backend.
func mustMem(t testing.TB, opts ...memqueue.Option) *memqueue.Backend {
	t.Helper()
	b, err := memqueue.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantInvalid fails unless err is a configuration error naming field.
func wantInvalid(t testing.TB, err error, field string) {
	t.Helper()
	var ie *core.InvalidError
	if !errors.As(err, &ie) || ie.Field != field || !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("error %v; want an *core.InvalidError naming %s", err, field)
	}
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// go-redis keeps a pool reaper per client until Close; clients are
		// closed by t.Cleanup, but the reaper may still be on its way out.
		goleak.IgnoreTopFunction("time.Sleep"),
	)
}

// msg is a message as a worker would hand it over.
func msg(id string, attempt int) *core.Message {
	return &core.Message{
		ID:         id,
		Queue:      "test",
		Payload:    []byte(`{"n":1}`),
		Attempt:    attempt,
		EnqueuedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

// handlerFunc shortens core.HandlerFunc literals.
type handlerFunc = core.HandlerFunc

// fixedClock answers the times it is given in turn, then the last one.
type fixedClock struct {
	mu    sync.Mutex
	times []time.Time
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.times[0]
	if len(c.times) > 1 {
		c.times = c.times[1:]
	}
	return t
}

// within fails t if ch does not deliver within d.
func within[T any](t *testing.T, d time.Duration, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s: nothing within %s", what, d)
		panic("unreachable")
	}
}

var bg = context.Background()
