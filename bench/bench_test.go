package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
)

// payloadSize is the size of every benchmark message.
const payloadSize = 100

var payload = func() []byte {
	p := make([]byte, payloadSize)
	for i := range p {
		p[i] = 'x'
	}
	return p
}()

// rig is one private redis-server with our backend on it.
type rig struct {
	rdb *redis.Client
	b   *redisqueue.Backend
	pub *core.Publisher
	seq atomic.Int64
}

func newRig(tb testing.TB) *rig {
	srv := redistest.Start(tb)
	rdb := srv.Client(tb)
	// fresh flushes Redis between runs, which the backend would report as
	// lost queue data.
	b, err := redisqueue.New(rdb, redisqueue.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		tb.Fatal(err)
	}
	return &rig{rdb: rdb, b: b, pub: core.NewPublisher(b)}
}

// fresh empties Redis and names a queue no run has used.
func (r *rig) fresh(tb testing.TB) string {
	tb.Helper()
	if err := r.rdb.FlushAll(context.Background()).Err(); err != nil {
		tb.Fatal(err)
	}
	return "bench-" + strconv.FormatInt(r.seq.Add(1), 10)
}

// fill enqueues n messages in batches of 1000.
func (r *rig) fill(tb testing.TB, queue string, n int) {
	tb.Helper()
	fillWith(tb, r.pub, queue, n)
}

// fillWith enqueues n messages onto queue through pub, in batches of 1000.
func fillWith(tb testing.TB, pub *core.Publisher, queue string, n int) {
	tb.Helper()
	ctx := context.Background()
	for i := 0; i < n; i += 1000 {
		reqs := make([]core.EnqueueRequest, min(1000, n-i))
		for j := range reqs {
			reqs[j] = core.EnqueueRequest{Queue: queue, Payload: payload}
		}
		res, err := pub.EnqueueBatch(ctx, reqs)
		if err != nil {
			tb.Fatal(err)
		}
		for _, x := range res {
			if x.Err != nil {
				tb.Fatal(x.Err)
			}
		}
	}
}

// drain starts a worker with concurrency handlers on a queue holding n
// messages and answers how long it took until the n-th handler returned.
// It fails tb if that takes longer than timeout.
func (r *rig) drain(tb testing.TB, queue string, n, concurrency int, timeout time.Duration, opts ...core.WorkerOption) time.Duration {
	tb.Helper()
	return r.drainWith(tb, queue, n, concurrency, timeout, nil, opts...)
}

// drainWith is drain with the handler wrapped in mw (none if nil).
func (r *rig) drainWith(tb testing.TB, queue string, n, concurrency int, timeout time.Duration, mw core.Middleware, opts ...core.WorkerOption) time.Duration {
	tb.Helper()
	return drainOn(tb, r.b, queue, n, concurrency, timeout, mw, opts...)
}

// drainOn is drainWith on the backend b.
func drainOn(tb testing.TB, b core.Backend, queue string, n, concurrency int, timeout time.Duration, mw core.Middleware, opts ...core.WorkerOption) time.Duration {
	tb.Helper()
	return timeDrain(tb, n, timeout, func(h core.Handler) (runner, error) {
		if mw != nil {
			h = mw(h)
		}
		return core.NewWorker(core.NewQueue(b, queue), h, append([]core.WorkerOption{core.WithConcurrency(concurrency)}, opts...)...)
	})
}

// runner is what a drain times: a worker or a pool.
type runner interface {
	Start(context.Context) error
	Stop(context.Context) error
}

// timeDrain builds a runner around a handler that counts, starts it, and
// answers how long it took until the n-th handler returned. It fails tb if
// that takes longer than timeout, or if a message was handled twice.
func timeDrain(tb testing.TB, n int, timeout time.Duration, build func(h core.Handler) (runner, error)) time.Duration {
	tb.Helper()
	var handled atomic.Int64
	done := make(chan struct{})
	w, err := build(core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		if handled.Add(1) == int64(n) {
			close(done)
		}
		return core.Success()
	}))
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	if err := w.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	var elapsed time.Duration
	select {
	case <-done:
		elapsed = time.Since(start)
	case <-time.After(timeout):
		tb.Errorf("handled %d of %d messages in %s", handled.Load(), n, timeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Stop(ctx); err != nil {
		tb.Errorf("stop: %v", err)
	}
	if got := handled.Load(); got != int64(n) && !tb.Failed() {
		tb.Errorf("handled %d messages, want %d (a message was handled twice)", got, n)
	}
	return elapsed
}

func report(b *testing.B, n int, d time.Duration) {
	if d > 0 {
		b.ReportMetric(float64(n)/d.Seconds(), "msgs/s")
	}
}

// BenchmarkEndToEnd pre-fills b.N messages (untimed), then times a worker
// with a no-op handler from its start until it has handled them all.
// Its floor on a 2-core machine: 50,000 msgs/s.
func BenchmarkEndToEnd(b *testing.B) { benchEndToEnd(b, nil) }

// BenchmarkEndToEndNoPrefetch is BenchmarkEndToEnd with a worker that takes
// no more messages than it has free handlers: what prefetching buys.
func BenchmarkEndToEndNoPrefetch(b *testing.B) {
	benchEndToEnd(b, func(c int) []core.WorkerOption {
		return []core.WorkerOption{core.WithPrefetch(0), core.WithMaxBatch(c)}
	})
}

func benchEndToEnd(b *testing.B, opts func(concurrency int) []core.WorkerOption) {
	r := newRig(b)
	for _, c := range []int{10, 100} {
		b.Run("concurrency="+strconv.Itoa(c), func(b *testing.B) {
			b.ReportAllocs()
			b.StopTimer()
			q := r.fresh(b)
			r.fill(b, q, b.N)
			var o []core.WorkerOption
			if opts != nil {
				o = opts(c)
			}
			b.StartTimer()
			d := r.drain(b, q, b.N, c, time.Duration(b.N)*time.Millisecond+time.Minute, o...)
			b.StopTimer()
			report(b, b.N, d)
		})
	}
}

// BenchmarkEnqueue: one goroutine, one message per call.
func BenchmarkEnqueue(b *testing.B) {
	r := newRig(b)
	q := r.fresh(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := r.pub.Enqueue(ctx, q, payload); err != nil {
			b.Fatal(err)
		}
	}
	report(b, b.N, time.Since(start))
}

// BenchmarkEnqueueParallel: 50 goroutines, one message per call.
func BenchmarkEnqueueParallel(b *testing.B) {
	const goroutines = 50
	r := newRig(b)
	q := r.fresh(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if _, err := r.pub.Enqueue(ctx, q, payload); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	report(b, b.N, time.Since(start))
}

// BenchmarkEnqueueBatch: one goroutine, batches of 100 and 1000 messages
// per EnqueueBatch call.
func BenchmarkEnqueueBatch(b *testing.B) {
	r := newRig(b)
	ctx := context.Background()
	for _, size := range []int{100, 1000} {
		b.Run("size="+strconv.Itoa(size), func(b *testing.B) {
			q := r.fresh(b)
			reqs := make([]core.EnqueueRequest, size)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i += size {
				batch := reqs[:min(size, b.N-i)]
				for j := range batch {
					batch[j] = core.EnqueueRequest{Queue: q, Payload: payload}
				}
				res, err := r.pub.EnqueueBatch(ctx, batch)
				if err != nil {
					b.Fatal(err)
				}
				if res[0].Err != nil {
					b.Fatal(res[0].Err)
				}
			}
			report(b, b.N, time.Since(start))
		})
	}
}

// TestBenchmarkHarness runs the end-to-end path small, so that a broken
// benchmark shows up in an ordinary test run.
func TestBenchmarkHarness(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	for _, c := range []int{10, 100} {
		q := r.fresh(t)
		r.fill(t, q, 2000)
		d := r.drain(t, q, 2000, c, time.Minute)
		t.Logf("concurrency %d: 2000 messages in %s (%.0f msgs/s)", c, d, 2000/d.Seconds())
	}
}

// TestEndToEndFloor checks the end-to-end floor, 50,000 msgs/s with
// 100k messages, when RG_BENCH_FLOOR is set (a busy machine would make it
// flaky in ordinary runs).
func TestEndToEndFloor(t *testing.T) {
	if os.Getenv("RG_BENCH_FLOOR") == "" {
		t.Skip("set RG_BENCH_FLOOR=1 to check the 50,000 msgs/s floor")
	}
	const n, floor = 100_000, 50_000
	r := newRig(t)
	for _, c := range []int{10, 100} {
		q := r.fresh(t)
		r.fill(t, q, n)
		d := r.drain(t, q, n, c, 2*time.Minute)
		rate := n / d.Seconds()
		t.Logf("concurrency %d: %.0f msgs/s", c, rate)
		if rate < floor {
			t.Errorf("concurrency %d: %s", c, fmt.Sprintf("%.0f msgs/s, below the %d floor", rate, floor))
		}
	}
}
