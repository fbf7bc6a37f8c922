package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/metrics"
	"github.com/redghost/redghost/middleware"
	rgotel "github.com/redghost/redghost/otel"
)

// productionChain is the chain recommended for a worker, outermost first;
// middleware/doc.go argues the order. The constructors whose settings can
// be wrong answer an error, so a bad setting stops the service at start.
func productionChain(logger *slog.Logger, m *metrics.Metrics) (core.Middleware, error) {
	retry, err := middleware.Retry(middleware.WithRetryMaxAttempts(8))
	if err != nil {
		return nil, err
	}
	breaker, err := middleware.CircuitBreaker(
		middleware.WithBreakerName("smtp"),
		middleware.WithBreakerOpenTimeout(30*time.Second),
		middleware.WithBreakerOnStateChange(m.BreakerStateChanged), // state as a metric
	)
	if err != nil {
		return nil, err
	}
	timeout, err := middleware.Timeout(10 * time.Second)
	if err != nil {
		return nil, err
	}
	return middleware.Chain(
		rgotel.Middleware(),        // CONSUMER span per attempt, linked to the producer's
		m.Middleware(),             // Prometheus: handled, durations with exemplars, in flight
		middleware.Logging(logger), // one line per outcome that is not a success
		middleware.Recover(middleware.WithRecoverLogger(logger)), // panic: error outcome with its stack, logged once
		retry,   // backoff with jitter; after 8 attempts an error (a dead letter)
		breaker, // a failing dependency is left alone; rejections spend no attempt
		timeout, // past 10 s a retry: the message is not lost
	), nil
}

// The recommended chain around a handler, and the publisher's own
// middleware: tracing puts its context in the headers, metrics count the
// enqueues.
func Example_production() {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		log.Fatal(err)
	}
	pub := core.NewPublisher(b, core.WithPublishMiddleware(
		rgotel.PublishMiddleware(),
		m.PublishMiddleware(),
	))

	chain, err := productionChain(logger, m)
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	sends := 0
	h := chain(core.HandlerFunc(func(ctx context.Context, msg *core.Message) core.Result {
		sends++
		if sends == 1 {
			return core.RetryErr(0, errors.New("smtp: connection refused"))
		}
		close(done)
		return core.Success()
	}))
	w, err := core.NewWorker(core.NewQueue(b, "users.email"), h)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := pub.Enqueue(ctx, "users.email", []byte("hi"), core.WithID("welcome-abc")); err != nil {
		log.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		log.Fatal(err)
	}
	<-done
	if err := w.Stop(ctx); err != nil {
		log.Fatal(err)
	}
	st := w.Stats()
	fmt.Printf("sent after %d attempts: %d success, %d retry\n", sends, st.Success, st.Retry)
	// Output:
	// sent after 2 attempts: 1 success, 1 retry
}
