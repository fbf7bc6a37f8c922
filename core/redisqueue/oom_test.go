package redisqueue_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/internal/redistest"
)

// A full Redis (maxmemory, noeviction) refuses enqueues, but a worker
// still drains the queue with no manual step: dequeues, heartbeats and
// acks run when memory is over the limit. Once drained, enqueues work
// again.
func TestFullRedisDrains(t *testing.T) {
	srv := redistest.Start(t, redistest.WithArgs("--maxmemory", "4mb", "--maxmemory-policy", "noeviction"))
	client := srv.Client(t)
	b := newBackend(t, client)
	ctx := context.Background()
	const queue = "oom"

	payload := []byte(strings.Repeat("x", 1024))
	accepted := map[string]bool{}
	var oomErr error
	for i := 0; i < 100000 && oomErr == nil; i++ {
		id := fmt.Sprintf("m%06d", i)
		_, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: queue, ID: id, Payload: payload}})
		switch {
		case err == nil:
			accepted[id] = true
		case strings.Contains(err.Error(), "OOM"):
			oomErr = err
		default:
			t.Fatalf("enqueue %s: %v", id, err)
		}
	}
	if oomErr == nil {
		t.Fatal("Redis never filled up")
	}
	t.Logf("%d accepted, then: %v", len(accepted), oomErr)

	var mu sync.Mutex
	handled := map[string]bool{}
	h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		mu.Lock()
		handled[m.ID] = true
		mu.Unlock()
		return core.Success()
	})
	w := newWorker(t, core.NewQueue(b, queue), h, core.WithConcurrency(4), core.WithMaxBatch(50),
		core.WithDefaultLockDuration(time.Second), core.WithErrorBackoff(5*time.Millisecond, 50*time.Millisecond),
		core.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { // bounded: a stuck worker cannot ack
		stopCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_ = w.Stop(stopCtx)
	}()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(handled)
		mu.Unlock()
		st, err := b.QueueStats(ctx, queue)
		if n == len(accepted) && err == nil && st.Total == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("handled %d of %d; queue %+v (%v); worker %+v", n, len(accepted), st, err, w.Stats())
		}
	}
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: queue, Payload: payload}}); err != nil {
		t.Fatalf("enqueue after the drain: %v", err)
	}
}
