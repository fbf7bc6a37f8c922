package bench

import (
	"context"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/middleware"
)

// Timeout works differently under a worker (the handler on the worker's
// goroutine, a watchdog for the deadlines) than called directly (a runner
// goroutine per handling), so BenchmarkMiddleware's direct calls do not
// show what a worker's user pays for it. These measure it under a worker,
// on the in-memory backend so that the middleware is a larger share.

// memFill answers a fresh in-memory backend whose queue "timeout" holds n
// messages.
func memFill(tb testing.TB, n int) *memqueue.Backend {
	tb.Helper()
	b, err := memqueue.New()
	if err != nil {
		tb.Fatal(err)
	}
	fillWith(tb, core.NewPublisher(b), "timeout", n)
	return b
}

// memDrainCPU drains the n messages of b's queue "timeout" with a worker
// of concurrency handlers running the no-op handler wrapped in mw (none if
// nil), and answers this process's CPU per message during the drain.
func memDrainCPU(tb testing.TB, b *memqueue.Backend, n, concurrency int, mw core.Middleware) time.Duration {
	tb.Helper()
	cpu := processCPU()
	drainOn(tb, b, "timeout", n, concurrency, time.Minute+time.Duration(n)*time.Millisecond, mw)
	return (processCPU() - cpu) / time.Duration(n)
}

// BenchmarkTimeoutOnAWorker drains b.N messages through a worker on the
// in-memory backend (concurrency 10), bare and with Timeout around the
// no-op handler, and reports the client CPU per message (cpu-µs/msg) and
// the allocations of the whole process: the difference is Timeout's cost
// on its worker path.
//
//	go test ./bench -run '^$' -bench TimeoutOnAWorker -benchtime 200000x -count 3
func BenchmarkTimeoutOnAWorker(b *testing.B) {
	for _, c := range []struct {
		name string
		mw   func() core.Middleware
	}{
		{"bare", func() core.Middleware { return nil }},
		{"timeout", func() core.Middleware { return must(middleware.Timeout(10 * time.Second)) }},
		{"timeout-inline", func() core.Middleware {
			return must(middleware.Timeout(10*time.Second, middleware.WithTimeoutInline()))
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.StopTimer()
			mb := memFill(b, b.N)
			mw := c.mw()
			b.StartTimer()
			cpu := memDrainCPU(b, mb, b.N, 10, mw)
			b.ReportMetric(float64(cpu.Nanoseconds())/1000, "cpu-µs/msg")
		})
	}
}

// inAHandler runs fn in the handler of a worker on the in-memory backend,
// with the handler's context: where a middleware runs under a worker.
func inAHandler(tb testing.TB, fn func(ctx context.Context)) {
	tb.Helper()
	b := memFill(tb, 1)
	timeDrain(tb, 1, time.Hour, func(h core.Handler) (runner, error) {
		return core.NewWorker(core.NewQueue(b, "timeout"), core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			fn(ctx)
			return h.Handle(ctx, m)
		}))
	})
}

// perMessage calls h n times as a worker would (see handleEach), in a
// worker's handler on one goroutine, and answers the CPU time of this
// process per call.
func perMessage(tb testing.TB, h core.Handler, n int) time.Duration {
	var d time.Duration
	inAHandler(tb, func(ctx context.Context) {
		m := benchMessage("")
		cpu := processCPU()
		handleEach(tb, ctx, h, m, n)
		d = (processCPU() - cpu) / time.Duration(n)
	})
	return d
}

// handleEach calls h n times with m, each call in a fresh cancellable
// context derived from ctx, a worker's handler context, as the worker
// makes one per message. It stops at a call that does not succeed, and
// fails tb (it runs in a worker's handler, not on the test's goroutine).
func handleEach(tb testing.TB, ctx context.Context, h core.Handler, m *core.Message, n int) {
	for range n {
		c, cancel := context.WithCancelCause(ctx)
		res := h.Handle(c, m)
		cancel(nil)
		if res.Outcome != core.OutcomeSuccess {
			tb.Errorf("outcome %v: %v", res.Outcome, res.Err)
			return
		}
	}
}

// BenchmarkTimeoutPerMessage is BenchmarkMiddleware's timeout case under
// a worker: each call in a fresh per-message context derived from a
// worker's handler context ("none" is the handler alone, likewise). The
// "waits" cases' handler asks for ctx.Done once, as one that waits on I/O
// does.
//
//	go test ./bench -run '^$' -bench TimeoutPerMessage -benchmem -count 3
func BenchmarkTimeoutPerMessage(b *testing.B) {
	for _, c := range []struct {
		name string
		h    core.Handler
	}{
		{"none", noop},
		{"timeout", must(middleware.Timeout(10 * time.Second))(noop)},
		{"timeout-inline", must(middleware.Timeout(10*time.Second, middleware.WithTimeoutInline()))(noop)},
		{"none-waits", waits},
		{"timeout-waits", must(middleware.Timeout(10 * time.Second))(waits)},
		{"timeout-inline-waits", must(middleware.Timeout(10*time.Second, middleware.WithTimeoutInline()))(waits)},
	} {
		b.Run(c.name, func(b *testing.B) {
			inAHandler(b, func(ctx context.Context) {
				m := benchMessage("")
				b.ReportAllocs()
				b.ResetTimer()
				handleEach(b, ctx, c.h, m, b.N)
				b.StopTimer()
			})
		})
	}
}

// waits is a no-op handler that asks for ctx.Done, as a handler waiting
// on I/O does.
var waits = core.HandlerFunc(func(ctx context.Context, _ *core.Message) core.Result {
	select {
	case <-ctx.Done():
		return core.Retry(0)
	default:
		return core.Success()
	}
})
