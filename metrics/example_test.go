package metrics_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/metrics"
	"github.com/redghost/redghost/middleware"
	rgotel "github.com/redghost/redghost/otel"
)

// Everything wired together: the worker's and the publisher's middleware,
// the queue-depth and worker collectors, the breaker's state changes, and
// exemplars served in the OpenMetrics format. The mail server is down, so
// the breaker opens.
func Example() {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	// A bad option (here none) comes back as an error, before anything is
	// registered.
	m, err := metrics.New(reg, metrics.WithQueues("emails"), metrics.WithBreakers("smtp"))
	if err != nil {
		log.Fatal(err)
	}

	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	q := core.NewQueue(b, "emails")
	opened := make(chan struct{})
	breaker, err := middleware.CircuitBreaker(
		middleware.WithBreakerName("smtp"),
		middleware.WithBreakerReadyToTrip(func(c middleware.BreakerCounts) bool { return c.ConsecutiveFailures >= 2 }),
		middleware.WithBreakerOnStateChange(m.BreakerStateChanged),
		middleware.WithBreakerOnStateChange(func(_ string, _, to middleware.BreakerState) {
			if to == middleware.BreakerOpen {
				close(opened)
			}
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	// Tracing first, so that the metrics middleware finds the span for its
	// exemplars.
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(ctx) }()
	h := middleware.Chain(rgotel.Middleware(rgotel.WithTracerProvider(tp)), m.Middleware(), breaker)(
		core.HandlerFunc(func(ctx context.Context, msg *core.Message) core.Result {
			return core.RetryErr(time.Minute, errors.New("smtp: connection refused"))
		}))
	w, err := core.NewWorker(q, h, core.WithConcurrency(1), core.WithMaxWait(10*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	reg.MustRegister(m.QueueCollector(q), m.WorkerCollector(w))

	pub := core.NewPublisher(b, core.WithPublishMiddleware(m.PublishMiddleware()))
	for _, id := range []string{"welcome-1", "welcome-2"} {
		if _, err := pub.Enqueue(ctx, "emails", []byte("hi"), core.WithID(id)); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Start(ctx); err != nil {
		log.Fatal(err)
	}
	<-opened
	if err := w.Stop(ctx); err != nil {
		log.Fatal(err)
	}

	// Exemplars are sent only in the OpenMetrics format: enable it, and
	// Prometheus asks for it.
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept", "application/openmetrics-text")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var lines []string
	exemplars := 0
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		line := sc.Text()
		if strings.HasPrefix(line, "redghost_handle_duration_seconds_bucket") && strings.Contains(line, `# {trace_id="`) {
			exemplars++
		}
		for _, p := range []string{"redghost_enqueued_total{", "redghost_messages_handled_total{", "redghost_circuit_breaker_", "redghost_queue_messages{"} {
			if strings.HasPrefix(line, p) && !strings.HasSuffix(line, " 0.0") {
				lines = append(lines, line)
			}
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	fmt.Println("exemplars with a trace id:", exemplars > 0)
	// Output:
	// redghost_circuit_breaker_state{name="smtp"} 2.0
	// redghost_circuit_breaker_transitions_total{from="closed",name="smtp",to="open"} 1.0
	// redghost_enqueued_total{queue="emails",result="added"} 2.0
	// redghost_messages_handled_total{outcome="retry",queue="emails"} 2.0
	// redghost_queue_messages{queue="emails",status="backoff"} 2.0
	// exemplars with a trace id: true
}
