package redisqueue_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
	"github.com/redghost/redghost/internal/syncbuf"
)

// logBuffer is a concurrency-safe sink for a text slog.Logger.
type logBuffer struct{ syncbuf.Buffer }

// count answers how many logged lines hold s.
func (l *logBuffer) count(s string) int { return l.Count(s) }

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

func idleWorker(t *testing.T, b core.Backend, queue string, h core.Handler) *core.Worker {
	t.Helper()
	if h == nil {
		h = core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.Success() })
	}
	var discard logBuffer
	return newWorker(t, core.NewQueue(b, queue), h, core.WithConcurrency(2), core.WithDefaultLockDuration(time.Second),
		core.WithErrorBackoff(5*time.Millisecond, 50*time.Millisecond), core.WithLogger(discard.logger()))
}

// An evicting Redis (allkeys-lru) is warned about once, however many
// workers and enqueues meet it, and Health reports it.
func TestEvictingRedisWarnsOnce(t *testing.T) {
	srv := redistest.Start(t, redistest.WithArgs("--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"))
	var logs logBuffer
	b := newBackend(t, srv.Client(t), redisqueue.WithLogger(logs.logger()),
		redisqueue.WithHealthCheckInterval(10*time.Millisecond))
	ctx := context.Background()
	for i := range 2 {
		w := idleWorker(t, b, fmt.Sprintf("q%d", i), nil)
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer w.Stop(ctx)
	}
	for i := range 20 {
		if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q0", Payload: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			time.Sleep(15 * time.Millisecond) // let periodic checks run
		}
	}
	if n := logs.count("level=WARN msg=\"redisqueue: Redis may evict queue keys"); n != 1 {
		t.Errorf("warned %d times, want once; log:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "maxmemory_policy=allkeys-lru") {
		t.Errorf("the warning does not name the policy:\n%s", logs.String())
	}
	if h := b.Health(); h.EvictionPolicy != "allkeys-lru" || !h.Evicting || h.DataLosses != 0 {
		t.Errorf("Health = %+v", h)
	}
}

// Under EvictionRefuse an evicting Redis makes Worker.Start and Enqueue
// fail with ErrEvictionPolicy, writing nothing.
func TestEvictingRedisRefused(t *testing.T) {
	srv := redistest.Start(t, redistest.WithArgs("--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lfu"))
	client := srv.Client(t)
	b := newBackend(t, client, redisqueue.WithEvictionCheck(redisqueue.EvictionRefuse))
	ctx := context.Background()
	w := idleWorker(t, b, "q", nil)
	if err := w.Start(ctx); !errors.Is(err, redisqueue.ErrEvictionPolicy) || !strings.Contains(err.Error(), "allkeys-lfu") {
		t.Fatalf("Start answered %v, want ErrEvictionPolicy naming allkeys-lfu", err)
	}
	_, err := core.NewPublisher(b).Enqueue(ctx, "q", []byte("x"))
	if !errors.Is(err, redisqueue.ErrEvictionPolicy) {
		t.Fatalf("Enqueue answered %v, want ErrEvictionPolicy", err)
	}
	if st, err := b.QueueStats(ctx, "q"); err != nil || st.Total != 0 {
		t.Fatalf("a refused enqueue wrote: %+v, %v", st, err)
	}
	if _, err := b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 1, Lock: time.Second}); !errors.Is(err, redisqueue.ErrEvictionPolicy) {
		t.Fatalf("Dequeue answered %v, want ErrEvictionPolicy", err)
	}
	// Once the policy is fixed, the next check lets calls through.
	if err := client.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.CheckHealth(ctx, "q"); err != nil {
		t.Fatalf("CheckHealth after the fix: %v", err)
	}
	if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", Payload: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
}

// A noeviction Redis (the default) is not warned about.
func TestNoEvictionRedisQuiet(t *testing.T) {
	var logs logBuffer
	b := newBackend(t, redistest.Shared(t).Client(t), redisqueue.WithPrefix("quiet"),
		redisqueue.WithLogger(logs.logger()), redisqueue.WithEvictionCheck(redisqueue.EvictionRefuse))
	ctx := context.Background()
	if err := b.CheckHealth(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", Payload: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if h := b.Health(); h.EvictionPolicy != "noeviction" || h.Evicting {
		t.Errorf("Health = %+v", h)
	}
	if logs.String() != "" {
		t.Errorf("logged on a safe Redis:\n%s", logs.String())
	}
}

// A Redis restarted without persistence under a worker that holds locks
// comes back empty: the Backend reports the loss once, in its log and in
// Health.
func TestEmptiedRedisReported(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	var logs logBuffer
	b := newBackend(t, client, redisqueue.WithLogger(logs.logger()),
		redisqueue.WithHealthCheckInterval(20*time.Millisecond))
	ctx := context.Background()
	const queue = "lost"
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	w := idleWorker(t, b, queue, core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return core.Success()
	}))
	for i := range 10 {
		if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: queue, ID: fmt.Sprint("m", i), Payload: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = w.Stop(stopCtx)
	}()
	<-started // the worker holds locks

	srv.Kill()
	srv.Restart(t)
	const msg = "level=ERROR msg=\"redisqueue: Redis lost the queue's data"
	for deadline := time.Now().Add(10 * time.Second); logs.count(msg) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the loss was never reported; Health %+v; log:\n%s", b.Health(), logs.String())
		}
	}
	close(release)
	for i := range 5 { // later checks, enqueues and dequeues report nothing more
		if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: queue, ID: fmt.Sprint("n", i), Payload: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	if n := logs.count(msg); n != 1 {
		t.Errorf("reported %d times, want once; log:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "queue="+queue) {
		t.Errorf("the report does not name the queue:\n%s", logs.String())
	}
	if h := b.Health(); h.DataLosses != 1 {
		t.Errorf("Health = %+v, want one data loss", h)
	}
}

// Clearing a queue is not a loss.
func TestClearedQueueNotReported(t *testing.T) {
	var logs logBuffer
	b := newBackend(t, redistest.Shared(t).Client(t), redisqueue.WithPrefix("cleared"),
		redisqueue.WithLogger(logs.logger()), redisqueue.WithHealthCheckInterval(time.Millisecond))
	ctx := context.Background()
	for range 3 {
		if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", Payload: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
		if err := b.ClearQueues(ctx, "q"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if h := b.Health(); h.DataLosses != 0 || logs.String() != "" {
		t.Errorf("Health %+v; log:\n%s", h, logs.String())
	}
}

// infoCounter counts INFO commands, pipelined or not.
type infoCounter struct{ n atomic.Int64 }

func (h *infoCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *infoCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "info" {
			h.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (h *infoCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if cmd.Name() == "info" {
				h.n.Add(1)
			}
		}
		return next(ctx, cmds)
	}
}

// A user whose ACL denies INFO still enqueues, and the check is not sent
// again on every call.
func TestHealthWithoutInfoRights(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	if err := srv.Client(t).Do(ctx, "ACL", "SETUSER", "app", "on", ">pw", "~*", "+@all", "-info").Err(); err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "app", Password: "pw"})
	t.Cleanup(func() { client.Close() })
	infos := &infoCounter{}
	client.AddHook(infos)
	var logs logBuffer
	b := newBackend(t, client, redisqueue.WithLogger(logs.logger()))
	for range 5 {
		if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", Payload: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := infos.n.Load(); n != 1 {
		t.Errorf("INFO sent %d times for 5 enqueues, want once", n)
	}
	if h := b.Health(); h.EvictionPolicy != "" || h.DataLosses != 0 {
		t.Errorf("Health = %+v", h)
	}
}
