package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// BenchmarkEndToEndPool is BenchmarkEndToEnd with the backlog spread
// evenly over 10 queues and one core.Pool (every queue at priority 1)
// handling them all: compare it with BenchmarkEndToEnd, whose worker
// handles the same backlog in one queue.
func BenchmarkEndToEndPool(b *testing.B) {
	r := newRig(b)
	const queues = 10
	for _, c := range []int{10, 100} {
		b.Run("queues=10/concurrency="+strconv.Itoa(c), func(b *testing.B) {
			b.ReportAllocs()
			b.StopTimer()
			base := r.fresh(b)
			names := make([]string, queues)
			for i := range names {
				names[i] = fmt.Sprintf("%s-%d", base, i)
				r.fill(b, names[i], (i+1)*b.N/queues-i*b.N/queues)
			}
			b.StartTimer()
			d := r.drainPool(b, names, b.N, c, time.Duration(b.N)*time.Millisecond+time.Minute)
			b.StopTimer()
			report(b, b.N, d)
		})
	}
}

// drainPool is drain with a pool over queues, which hold n messages in
// all.
func (r *rig) drainPool(tb testing.TB, queues []string, n, concurrency int, timeout time.Duration) time.Duration {
	tb.Helper()
	var handled atomic.Int64
	done := make(chan struct{})
	h := core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		if handled.Add(1) == int64(n) {
			close(done)
		}
		return core.Success()
	})
	p, err := core.NewPool(r.b, core.WithConcurrency(concurrency))
	if err != nil {
		tb.Fatal(err)
	}
	for _, q := range queues {
		if err := p.Handle(q, h); err != nil {
			tb.Fatal(err)
		}
	}
	start := time.Now()
	if err := p.Start(context.Background()); err != nil {
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
	if err := p.Stop(ctx); err != nil {
		tb.Errorf("stop: %v", err)
	}
	if got := handled.Load(); got != int64(n) && !tb.Failed() {
		tb.Errorf("handled %d messages, want %d (a message was handled twice)", got, n)
	}
	return elapsed
}
