package metrics_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/metrics"
)

// faulty fails the first Dequeue calls and reports the first ack as
// refused by the fence, as a Redis outage and a lost lock would.
type faulty struct {
	core.Backend
	dequeueFails atomic.Int64
	refuse       atomic.Bool
}

func (f *faulty) Dequeue(ctx context.Context, p core.DequeueParams) (core.DequeueResult, error) {
	if f.dequeueFails.Add(-1) >= 0 {
		return core.DequeueResult{}, errors.New("connection refused")
	}
	return f.Backend.Dequeue(ctx, p)
}

func (f *faulty) Ack(ctx context.Context, queue string, acks []core.Ack) ([]error, error) {
	errs, err := f.Backend.Ack(ctx, queue, acks)
	if err == nil && f.refuse.CompareAndSwap(true, false) {
		errs[0] = core.ErrLockLost
	}
	return errs, err
}

func TestWorkerCollector(t *testing.T) {
	mem, err := memqueue.New()
	if err != nil {
		t.Fatal(err)
	}
	f := &faulty{Backend: mem}
	f.dequeueFails.Store(3)
	f.refuse.Store(true)
	ctx := context.Background()
	if _, err := core.NewPublisher(f).Enqueue(ctx, "jobs", []byte("x")); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	w, err := core.NewWorker(core.NewQueue(f, "jobs"), core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		return core.Success()
	}), core.WithErrorBackoff(time.Millisecond, 2*time.Millisecond), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(m.WorkerCollector(w))
	running := func() float64 { t.Helper(); return gathered(t, reg, "redghost_worker_running") }
	if r := running(); r != 0 {
		t.Fatalf("running %v before Start, want 0", r)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if r := running(); r != 1 {
		t.Fatalf("running %v after Start, want 1", r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for w.Stats().Sleeps == 0 || w.Stats().LockLost == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("worker stats %+v", w.Stats())
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if r := running(); r != 0 {
		t.Fatalf("running %v after Stop, want 0", r)
	}
	want := `
# HELP redghost_worker_backend_errors_total Backend calls (dequeue, wait, acknowledge, heartbeat) that failed and were retried with backoff.
# TYPE redghost_worker_backend_errors_total counter
redghost_worker_backend_errors_total{queue="jobs"} 3
# HELP redghost_worker_locks_lost_total Messages whose lock was lost while the worker held them, each counted once: another worker may have handled them too.
# TYPE redghost_worker_locks_lost_total counter
redghost_worker_locks_lost_total{queue="jobs"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"redghost_worker_backend_errors_total", "redghost_worker_locks_lost_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.WorkerCollector(w), "redghost_worker_idle_waits_total"); n != 1 {
		t.Fatalf("idle waits series = %d, want 1", n)
	}
}
