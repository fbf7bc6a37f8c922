package core_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/queuetest"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
	"github.com/redghost/redghost/internal/syncbuf"
)

// backendEnv is one backend a worker test runs on, with a way to let time
// pass on the backend's clock.
type backendEnv struct {
	b core.Backend
	// pass lets d pass on the backend's clock: the in-memory backend's
	// manual clock moves at once; Redis's time passes for real.
	pass func(d time.Duration)
	// exit does to b what the end of the worker's process does: on Redis
	// it closes b's client, so that only what reached the server counts.
	// inspect then reads the queue (through a client of its own).
	exit    func()
	inspect core.Backend
}

var redisPrefixes atomic.Int64

// onBackends runs fn on the in-memory backend with a manual clock and on
// real Redis (the package's shared server, a key prefix per run).
func onBackends(t *testing.T, fn func(t *testing.T, env backendEnv)) {
	t.Run("memqueue", func(t *testing.T) {
		t.Parallel()
		clk := queuetest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		b := newMem(t, memqueue.WithClock(clk))
		fn(t, backendEnv{b: b, pass: clk.Advance, exit: func() {}, inspect: b})
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		srv := redistest.Shared(t)
		c := srv.Client(t)
		prefix := fmt.Sprintf("core%d", redisPrefixes.Add(1))
		fn(t, backendEnv{
			b:       newRedis(t, c, redisqueue.WithPrefix(prefix)),
			pass:    time.Sleep,
			exit:    func() { _ = c.Close() },
			inspect: newRedis(t, srv.Client(t), redisqueue.WithPrefix(prefix)),
		})
	})
}

// logBuffer collects a logger's lines.
type logBuffer struct{ syncbuf.Buffer }

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lines answers the lines that hold msg.
func (l *logBuffer) lines(msg string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, msg) {
			out = append(out, line)
		}
	}
	return out
}

// newRedis is redisqueue.New for options a test knows are valid.
func newRedis(t testing.TB, c redis.UniversalClient, opts ...redisqueue.Option) *redisqueue.Backend {
	t.Helper()
	b, err := redisqueue.New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
