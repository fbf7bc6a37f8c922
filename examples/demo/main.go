package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	otelapi "go.opentelemetry.io/otel"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/metrics"
	"github.com/redghost/redghost/middleware"
	rgotel "github.com/redghost/redghost/otel"
	"github.com/redghost/redghost/otel/otelsetup"
)

type config struct {
	redisURL    string
	prefix      string
	metricsAddr string
	rate        float64
	maxMessages int
	outageEvery time.Duration
	outageFor   time.Duration
	breakerOpen time.Duration
	traceChild  bool
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := parseConfig(os.Args[1:])
	if err != nil {
		logger.Error("demo: bad configuration", "error", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, logger); err != nil {
		logger.Error("demo: stopped with an error", "error", err)
		os.Exit(1)
	}
}

func parseConfig(args []string) (config, error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var c config
	fs.StringVar(&c.redisURL, "redis-url", env("REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis URL")
	fs.StringVar(&c.prefix, "prefix", env("REDIS_PREFIX", redisqueue.DefaultPrefix), "key prefix in Redis, as redghost -prefix")
	fs.StringVar(&c.metricsAddr, "metrics-addr", env("METRICS_ADDR", ":2112"), "address of the /metrics server")
	fs.Float64Var(&c.rate, "rate", envFloat("DEMO_RATE", 20), "messages published per second")
	fs.IntVar(&c.maxMessages, "max-messages", int(envFloat("DEMO_MAX_MESSAGES", 0)), "stop publishing after this many (0: never)")
	fs.DurationVar(&c.outageEvery, "outage-every", envDuration("DEMO_OUTAGE_EVERY", time.Minute), "how often the pretend SMTP server goes down")
	fs.DurationVar(&c.outageFor, "outage-for", envDuration("DEMO_OUTAGE_FOR", 10*time.Second), "how long it stays down")
	fs.DurationVar(&c.breakerOpen, "breaker-open", envDuration("DEMO_BREAKER_OPEN", 5*time.Second), "the circuit breaker's open timeout")
	fs.BoolVar(&c.traceChild, "trace-child", os.Getenv("DEMO_TRACE_CHILD") == "true", "process spans as children of send spans instead of links")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.rate <= 0 || c.outageEvery <= c.outageFor || c.breakerOpen <= 0 {
		return c, errors.New("need rate > 0, outage-every > outage-for and breaker-open > 0")
	}
	return c, nil
}

func run(ctx context.Context, cfg config, logger *slog.Logger) error {
	shutdownTracing, err := otelsetup.Setup(ctx, "redghost-demo")
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := shutdownTracing(sctx); err != nil {
			logger.Warn("demo: flushing spans", "error", err)
		}
	}()

	opt, err := redis.ParseURL(cfg.redisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	client := redis.NewClient(opt)
	defer client.Close()
	// Redis commands run under a span (the publish span below) show up in
	// the trace; the workers' own polling does not (see underSpan). The
	// commands' arguments, message payloads among them, stay out of the spans.
	if err := redisotel.InstrumentTracing(client,
		redisotel.WithTracerProvider(underSpan(otelapi.GetTracerProvider())),
		redisotel.WithDBStatement(false)); err != nil {
		return err
	}
	backend, err := redisqueue.New(client, redisqueue.WithPrefix(cfg.prefix))
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := metrics.New(reg, metrics.WithQueues(queueNames...), metrics.WithBreakers("smtp"), metrics.WithLogger(logger))
	if err != nil {
		return err
	}
	queues := make([]*core.Queue, len(queueNames))
	for i, name := range queueNames {
		queues[i] = core.NewQueue(backend, name)
	}
	reg.MustRegister(m.QueueCollector(queues...))

	ln, err := net.Listen("tcp", cfg.metricsAddr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := client.Ping(r.Context()).Err(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("demo: serving metrics", "addr", ln.Addr().String())
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	var tracing []rgotel.Option
	if cfg.traceChild {
		tracing = append(tracing, rgotel.WithChildOfProducer())
	}
	smtp := newSMTP(cfg.outageEvery, cfg.outageFor)
	var workers []*core.Worker
	for _, q := range queues {
		retry, err := middleware.Retry(middleware.WithRetryMaxAttempts(4), middleware.WithRetryBackoff(50*time.Millisecond, time.Second))
		if err != nil {
			return err
		}
		chain := middleware.Chain(
			rgotel.Middleware(tracing...),
			m.Middleware(),
			middleware.Recover(middleware.WithRecoverLogger(logger)),
			retry,
		)
		h := orders
		if q.Name() == "emails" {
			timeout, err := middleware.Timeout(2 * time.Second)
			if err != nil {
				return err
			}
			breaker, err := middleware.CircuitBreaker(
				middleware.WithBreakerName("smtp"),
				middleware.WithBreakerOpenTimeout(cfg.breakerOpen),
				middleware.WithBreakerReadyToTrip(func(c middleware.BreakerCounts) bool { return c.ConsecutiveFailures >= 3 }),
				// Only the mail server's trouble trips it: a bad or
				// panicking message says nothing about the server.
				middleware.WithBreakerIsFailure(func(_ context.Context, res core.Result) bool {
					return errors.Is(res.Err, errSMTPDown) || errors.Is(res.Err, middleware.ErrTimeout)
				}),
				middleware.WithBreakerOnStateChange(m.BreakerStateChanged),
				middleware.WithBreakerOnStateChange(func(name string, from, to middleware.BreakerState) {
					logger.Info("demo: circuit breaker", "name", name, "from", from.String(), "to", to.String())
				}),
			)
			if err != nil {
				return err
			}
			h = middleware.Chain(
				breaker,
				timeout,
			)(core.HandlerFunc(smtp.handleEmail))
		}
		w, err := core.NewWorker(q, chain(h), core.WithConcurrency(8), core.WithDefaultLockDuration(10*time.Second), core.WithLogger(logger))
		if err != nil {
			return err
		}
		if err := w.Start(ctx); err != nil {
			return err
		}
		workers = append(workers, w)
	}
	// Lock losses, backend errors and whether the workers run: what no
	// handler middleware sees.
	reg.MustRegister(m.WorkerCollector(workers...))

	pub := core.NewPublisher(backend, core.WithPublishMiddleware(rgotel.PublishMiddleware(tracing...), m.PublishMiddleware()))
	published := publish(ctx, pub, cfg, logger)
	logger.Info("demo: stopping", "published", published)

	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Stop(sctx); err != nil {
				logger.Warn("demo: worker stop", "error", err)
			}
		}()
	}
	wg.Wait()
	return nil
}

// publish sends messages at cfg.rate until ctx ends (or max-messages are
// sent) and answers how many it sent.
func publish(ctx context.Context, pub *core.Publisher, cfg config, logger *slog.Logger) int {
	t := time.NewTicker(time.Duration(float64(time.Second) / cfg.rate))
	defer t.Stop()
	var n int
	for {
		select {
		case <-ctx.Done():
			return n
		case <-t.C:
		}
		if cfg.maxMessages > 0 && n >= cfg.maxMessages {
			continue // keep handling until stopped
		}
		n++
		queue, job := nextJob(n)
		// The application's own span: the send span and the Redis call are
		// its children.
		pctx, span := tracer.Start(ctx, "demo publish "+job.Kind)
		if _, err := pub.Publish(pctx, queue, job, core.WithID(job.Kind+"-"+strconv.Itoa(n))); err != nil {
			logger.Warn("demo: publish", "queue", queue, "error", err)
		}
		span.End()
	}
}

var queueNames = []string{"orders", "emails"}

var tracer = otelapi.Tracer("github.com/redghost/redghost/examples/demo")

// Job is a demo message: its kind says what the handler does with it.
type Job struct {
	Kind string `json:"kind"`
	N    int    `json:"n"`
}

// Kinds of jobs, and how the handlers treat them.
const (
	KindOK       = "ok"       // success
	KindSlow     = "slow"     // success after up to 300 ms
	KindFlaky    = "flaky"    // retry on attempts 1 and 2, then success
	KindBad      = "bad"      // error outcome: dead-lettered
	KindPanic    = "panic"    // the handler panics: dead-lettered
	KindHopeless = "hopeless" // retries until its attempts run out: dead-lettered
)

// nextJob picks the queue and kind of the n-th message: two in three go to
// orders; of those, 70 % ok, 10 % slow, 12 % flaky, 5 % bad, 2 % hopeless,
// 1 % panic. Every email is ok; the pretend SMTP server decides the rest.
func nextJob(n int) (string, Job) {
	if n%3 == 0 {
		return "emails", Job{Kind: KindOK, N: n}
	}
	switch p := rand.IntN(100); {
	case n <= 2: // the first orders show a retry and a dead letter at once
		return "orders", Job{Kind: []string{KindFlaky, KindBad}[n-1], N: n}
	case p < 70:
		return "orders", Job{Kind: KindOK, N: n}
	case p < 80:
		return "orders", Job{Kind: KindSlow, N: n}
	case p < 92:
		return "orders", Job{Kind: KindFlaky, N: n}
	case p < 97:
		return "orders", Job{Kind: KindBad, N: n}
	case p < 99:
		return "orders", Job{Kind: KindHopeless, N: n}
	default:
		return "orders", Job{Kind: KindPanic, N: n}
	}
}

var (
	errTransient = errors.New("demo: inventory service busy")
	errPoison    = errors.New("demo: order refers to no customer")
	errSMTPDown  = errors.New("demo: smtp server unavailable")
)

var orders = core.Typed(func(ctx context.Context, j Job) core.Result {
	m := core.MessageFrom(ctx)
	switch j.Kind {
	case KindSlow:
		select {
		case <-time.After(time.Duration(rand.IntN(300)) * time.Millisecond):
		case <-ctx.Done():
			return core.RetryErr(0, ctx.Err())
		}
	case KindFlaky:
		if m.Attempt < 3 {
			return core.RetryErr(0, errTransient)
		}
	case KindBad:
		return core.Fail(errPoison)
	case KindHopeless:
		return core.RetryErr(0, errTransient)
	case KindPanic:
		panic(fmt.Sprintf("demo: order %d broke the handler", j.N))
	}
	return core.Success()
})

// smtp is a pretend mail server that is down for outageFor every outageEvery.
type smtp struct {
	start       time.Time
	every, down time.Duration
	sent        atomic.Int64
}

func newSMTP(every, down time.Duration) *smtp {
	return &smtp{start: time.Now(), every: every, down: down}
}

// up is false for the last outageFor of every period.
func (s *smtp) up() bool { return time.Since(s.start)%s.every < s.every-s.down }

func (s *smtp) handleEmail(ctx context.Context, m *core.Message) core.Result {
	time.Sleep(time.Duration(2+rand.IntN(8)) * time.Millisecond)
	if !s.up() {
		return core.RetryErr(0, errSMTPDown)
	}
	s.sent.Add(1)
	return core.Success()
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envFloat(key string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(key), 64); err == nil {
		return v
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return v
	}
	return def
}
