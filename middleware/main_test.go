package middleware_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"go.uber.org/goleak"
)

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
