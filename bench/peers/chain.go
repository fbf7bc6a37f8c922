package peers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/metrics"
	"github.com/redghost/redghost/middleware"
	rgotel "github.com/redghost/redghost/otel"
)

// Chains are the middleware configurations of the -chain rows, by name:
// the README's whole chain, and each of its middleware alone.
var Chains = []string{"bare", "all", "otel", "otel-1pct", "timeout", "timeout-inline", "metrics", "breaker", "retry", "logging", "recover"}

// chain is one middleware configuration around the worker's handler, and
// the publisher middleware that goes with it.
type chain struct {
	handler core.Middleware          // nil: none
	publish []core.PublishMiddleware // on the producer side
	close   func()
}

// discardExporter drops the spans: the SDK does all its work (sampling,
// recording, batching) and nothing leaves the process.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// quietLogger is a production logger at Info: the Debug line of every
// success is not written.
var quietLogger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))

// propagators are the ones otelsetup.Setup installs: the publisher writes
// the trace context into each message and the worker reads it back and
// links its producer, as in a traced service.
var propagators = rgotel.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))

// buildChain builds the named configuration, with a fresh tracer provider
// (an SDK one with a batch processor) and a fresh Prometheus registry.
func buildChain(name string) (*chain, error) {
	tp := func(s sdktrace.Sampler) *sdktrace.TracerProvider {
		return sdktrace.NewTracerProvider(sdktrace.WithSampler(s),
			sdktrace.WithSpanProcessor(sdktrace.NewBatchSpanProcessor(discardExporter{})))
	}
	c := &chain{close: func() {}}
	withTP := func(p *sdktrace.TracerProvider) {
		c.close = func() { _ = p.Shutdown(context.Background()) }
	}
	switch name {
	case "bare":
	case "all":
		p := tp(sdktrace.AlwaysSample())
		withTP(p)
		m, err := metrics.New(prometheus.NewRegistry())
		if err != nil {
			return nil, err
		}
		retry, err := middleware.Retry(middleware.WithRetryMaxAttempts(8))
		if err != nil {
			return nil, err
		}
		breaker, err := middleware.CircuitBreaker(middleware.WithBreakerOpenTimeout(30 * time.Second))
		if err != nil {
			return nil, err
		}
		timeout, err := middleware.Timeout(10 * time.Second)
		if err != nil {
			return nil, err
		}
		c.handler = middleware.Chain(
			rgotel.Middleware(rgotel.WithTracerProvider(p), propagators),
			m.Middleware(),
			middleware.Logging(quietLogger),
			middleware.Recover(),
			retry, breaker, timeout,
		)
		c.publish = []core.PublishMiddleware{rgotel.PublishMiddleware(rgotel.WithTracerProvider(p), propagators), m.PublishMiddleware()}
	case "otel", "otel-1pct":
		s := sdktrace.AlwaysSample()
		if name == "otel-1pct" {
			s = sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))
		}
		p := tp(s)
		withTP(p)
		c.handler = rgotel.Middleware(rgotel.WithTracerProvider(p), propagators)
		c.publish = []core.PublishMiddleware{rgotel.PublishMiddleware(rgotel.WithTracerProvider(p), propagators)}
	case "timeout", "timeout-inline":
		var opts []middleware.TimeoutOption
		if name == "timeout-inline" {
			opts = append(opts, middleware.WithTimeoutInline())
		}
		mw, err := middleware.Timeout(10*time.Second, opts...)
		if err != nil {
			return nil, err
		}
		c.handler = mw
	case "metrics":
		m, err := metrics.New(prometheus.NewRegistry())
		if err != nil {
			return nil, err
		}
		c.handler = m.Middleware()
	case "breaker":
		mw, err := middleware.CircuitBreaker(middleware.WithBreakerOpenTimeout(30 * time.Second))
		if err != nil {
			return nil, err
		}
		c.handler = mw
	case "retry":
		mw, err := middleware.Retry(middleware.WithRetryMaxAttempts(8))
		if err != nil {
			return nil, err
		}
		c.handler = mw
	case "logging":
		c.handler = middleware.Logging(quietLogger)
	case "recover":
		c.handler = middleware.Recover()
	default:
		return nil, fmt.Errorf("unknown chain %q", name)
	}
	return c, nil
}

// chained is ours with a middleware configuration: its worker's handler
// wrapped in the chain, its publisher in the chain's publisher middleware.
type chained struct {
	*Ours
	c   *chain
	pub *core.Publisher
}

// withChain answers sys with the named chain, if sys is ours.
func withChain(sys System, name string) (*chained, error) {
	o, ok := sys.(*Ours)
	if !ok {
		return nil, fmt.Errorf("%s has no middleware", sys.Name())
	}
	c, err := buildChain(name)
	if err != nil {
		return nil, err
	}
	return &chained{Ours: o, c: c, pub: core.NewPublisher(o.b, core.WithPublishMiddleware(c.publish...))}, nil
}

func (s *chained) Enqueue(ctx context.Context, queue string, payload []byte) error {
	_, err := s.pub.Enqueue(ctx, queue, payload)
	return err
}

func (s *chained) EnqueueBatch(ctx context.Context, queue string, payloads [][]byte) error {
	return enqueueBatch(ctx, s.pub, queue, payloads)
}

func (s *chained) StartWorker(ctx context.Context, queue string, concurrency int, h func([]byte)) (Worker, error) {
	return s.startWorker(ctx, queue, concurrency, h, s.c.handler)
}

func (s *chained) Close() error {
	s.c.close()
	return nil
}

// chainLabels name the -chain rows (bench/README.md has the details).
var chainLabels = map[string]string{
	"bare":           "bare worker",
	"all":            "README's whole chain (otel sampling all)",
	"otel":           "otel.Middleware, sampling all",
	"otel-1pct":      "otel.Middleware, sampling 1 %",
	"timeout":        "Timeout",
	"timeout-inline": "Timeout, WithTimeoutInline",
	"metrics":        "metrics Middleware",
	"breaker":        "CircuitBreaker",
	"retry":          "Retry",
	"logging":        "Logging at Info",
	"recover":        "Recover",
}

// chainBudgets are the client CPU per message each configuration may add
// to the bare worker's, in µs. Timeout's 0.3 is for WithTimeoutInline,
// which runs the handler on the worker's goroutine (no hand-off, no timer
// per message): about 0.2 µs in bench's BenchmarkTimeoutPerMessage on a
// quiet VM, where the default hand-off costs 0.9 (it is what lets the
// middleware outside Timeout see a stuck handler's timeout at the
// deadline).
var chainBudgets = map[string]float64{"all": 3, "otel": 1.5, "otel-1pct": 0.2, "timeout-inline": 0.3, "metrics": 0.3, "breaker": 0.2}

// chainWorkloads are the -chain table's rows: per configuration, a worker
// at concurrency 10 draining a pre-filled queue (filled through the
// configuration's publisher middleware, so that traced messages carry
// their producer's context), its rate and the client's CPU per message;
// then producers and the whole chain at once.
func chainWorkloads(c Config) []workload {
	n := func(c Config) int { return c.Messages }
	var ws []workload
	for _, name := range Chains {
		rate := line{label: "chain, pre-filled, c=10: " + chainLabels[name], unit: perSec}
		cpu := line{label: "  ↳ client CPU per msg", unit: micros}
		if name == "all" {
			rate.floor = &floor{text: "≥ 200,000 msgs/s; ≥ 55 % of bare", refKey: "chain-bare", ratio: true,
				check: func(o, bare float64, ok bool) (bool, bool) {
					if o < 200_000 {
						return false, true
					}
					return o >= 0.55*bare, ok
				}}
		}
		if b, ok := chainBudgets[name]; ok {
			cpu.floor = &floor{text: fmt.Sprintf("≤ bare + %g µs", b), refKey: "chain-bare", refLine: 1,
				check: func(o, bare float64, ok bool) (bool, bool) { return o <= bare+b, ok }}
		}
		ws = append(ws, workload{key: "chain-" + name, messages: n, oursOnly: true, chainRow: true,
			lines: []line{rate, cpu},
			run: func(ctx context.Context, e *env, s System, q string) (runResult, error) {
				cs, err := withChain(s, name)
				if err != nil {
					return runResult{}, err
				}
				defer cs.Close()
				return runEndToEnd(ctx, e, cs, q, 10, c.Messages)
			}})
	}
	ws = append(ws, workload{key: "chain-pubsub", messages: n, oursOnly: true, chainRow: true,
		lines: []line{
			{label: "chain, 50 goroutines enqueueing and a worker (c=10) at once: whole chain", unit: perSec, floor: minFloor(100_000)},
			{label: "  ↳ client CPU per msg (both sides)", unit: micros},
		},
		run: func(ctx context.Context, e *env, s System, q string) (runResult, error) {
			cs, err := withChain(s, "all")
			if err != nil {
				return runResult{}, err
			}
			defer cs.Close()
			return runPubSub(ctx, e, cs, q, 50, c.Messages)
		}})
	return ws
}

// runPubSub starts a worker (concurrency 10) on an empty queue, then
// enqueues n messages from goroutines goroutines, one per call, and times
// from the first enqueue until the worker has handled every message. It
// answers the rate and this process's CPU per message.
func runPubSub(ctx context.Context, e *env, sys System, queue string, goroutines, n int) (runResult, error) {
	tr := newTracker(n, time.Now(), false)
	w, err := sys.StartWorker(ctx, queue, 10, tr.handle)
	if err != nil {
		return runResult{}, err
	}
	ps := payloads(n)
	runtime.GC()
	m := e.meter(sys)
	if err := m.Start(ctx); err != nil {
		_ = stopWorker(w)
		return runResult{}, err
	}
	cpu0 := processCPU()
	start := time.Since(tr.base)
	perr := parallelSingle(ctx, sys, queue, ps, goroutines)
	return e.finishHandled(ctx, tr, m, w, n, start, cpu0, true, perr)
}
