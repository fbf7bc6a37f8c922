package redisqueue_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
)

// Redis dies under a running worker and a publisher, and comes back (with
// its append-only file). Nothing is lost: every message acknowledged as
// enqueued is handled, the publisher's calls during the outage fail with an
// error instead of vanishing, and the worker backs off and recovers without
// a restart. Messages in flight at the crash may be handled twice (at least
// once), never more than the worker held.
func TestWorkerSurvivesRedisCrash(t *testing.T) {
	srv := redistest.Start(t, redistest.WithAppendOnly())
	client := redis.NewClient(&redis.Options{
		Addr: srv.Addr(), DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 2 * time.Second, WriteTimeout: time.Second, MaxRetries: -1,
	})
	t.Cleanup(func() { client.Close() })
	b, err := redisqueue.New(client)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const queue, n = "crash", 3000

	pub := core.NewPublisher(b)
	accepted := map[string]bool{}
	publish := func(from, to int) (failed int) {
		for i := from; i < to; i++ {
			id := fmt.Sprintf("m%05d", i)
			if _, err := pub.Enqueue(ctx, queue, []byte(id), core.WithID(id)); err != nil {
				failed++
				continue
			}
			accepted[id] = true
		}
		return failed
	}
	if f := publish(0, n/2); f != 0 {
		t.Fatalf("%d enqueues failed before the crash", f)
	}

	var mu sync.Mutex
	handled := map[string]int{}
	total := 0
	h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		time.Sleep(50 * time.Microsecond)
		mu.Lock()
		handled[m.ID]++
		total++
		mu.Unlock()
		return core.Success()
	})
	const concurrency, prefetch, batch = 20, 100, 100
	w, err := core.NewWorker(core.NewQueue(b, queue), h, core.WithConcurrency(concurrency),
		core.WithPrefetch(prefetch), core.WithMaxBatch(batch), core.WithDefaultLockDuration(2*time.Second),
		core.WithErrorBackoff(5*time.Millisecond, 100*time.Millisecond),
		core.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Stop(ctx)

	progress := func() int { mu.Lock(); defer mu.Unlock(); return total }
	deadline := time.Now().Add(20 * time.Second)
	for progress() < n/6 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d handled before the crash", progress())
		}
		time.Sleep(time.Millisecond)
	}

	srv.Kill()
	if f := publish(n/2, n/2+50); f != 50 {
		t.Errorf("%d of 50 enqueues during the outage reported success", 50-f)
	}
	time.Sleep(300 * time.Millisecond)
	srv.Restart(t)
	// go-redis's pool, after failing to dial, dials again in the background
	// about once a second; a publisher retries until it answers.
	for deadline := time.Now().Add(10 * time.Second); client.Ping(ctx).Err() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the client never reconnected")
		}
	}
	if f := publish(n/2+50, n); f != 0 {
		t.Fatalf("%d enqueues failed after the restart", f)
	}

	deadline = time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		missing := 0
		for id := range accepted {
			if handled[id] == 0 {
				missing++
			}
		}
		mu.Unlock()
		st, err := b.QueueStats(ctx, queue)
		if missing == 0 && err == nil && st.Total == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d accepted messages never handled; queue %+v (%v)", missing, st, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	twice := 0
	for id, c := range handled {
		if !accepted[id] {
			t.Errorf("handled %s, which was never accepted", id)
		}
		if c > 2 {
			t.Errorf("%s handled %d times", id, c)
		}
		if c == 2 {
			twice++
		}
	}
	// Only what the worker held when Redis died (in handlers, held ahead of
	// them, or acknowledged but not yet confirmed) can come back twice.
	if limit := concurrency + prefetch + batch; twice > limit {
		t.Errorf("%d messages handled twice, more than the %d the worker could hold", twice, limit)
	}
	if st := w.Stats(); st.BackendErrors == 0 {
		t.Errorf("the worker saw no backend errors across a crash: %+v", st)
	}
	t.Logf("accepted %d, handled %d times in all, %d twice, worker stats %+v", len(accepted), total, twice, w.Stats())
}
