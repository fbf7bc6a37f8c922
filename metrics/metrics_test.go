package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/trace"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/metrics"
	"github.com/redghost/redghost/middleware"
)

// fixedClock answers now, then now+step, ... for handling durations.
type fixedClock struct{ now time.Time }

func (c *fixedClock) Now() time.Time { c.now = c.now.Add(250 * time.Millisecond); return c.now }

func newMetrics(t *testing.T, opts ...metrics.Option) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

func handleWith(m *metrics.Metrics, ctx context.Context, msg *core.Message, res core.Result) {
	m.Middleware()(core.HandlerFunc(func(context.Context, *core.Message) core.Result { return res })).Handle(ctx, msg)
}

func family(t *testing.T, reg *prometheus.Registry, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	t.Fatalf("no metric family %s", name)
	return nil
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func sampledCtx(t *testing.T) (context.Context, string) {
	t.Helper()
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	return trace.ContextWithSpanContext(context.Background(), sc), tid.String()
}

func TestHandledOutcomes(t *testing.T) {
	clk := &fixedClock{now: time.Unix(1000, 0)}
	m, reg := newMetrics(t, metrics.WithClock(clk))
	msg := &core.Message{ID: "a", Queue: "emails", Attempt: 1, EnqueuedAt: time.Unix(990, 0)}
	handleWith(m, context.Background(), msg, core.Success())
	handleWith(m, context.Background(), &core.Message{ID: "b", Queue: "emails", Attempt: 2}, core.Retry(time.Second))
	handleWith(m, context.Background(), &core.Message{ID: "c", Queue: "emails", Attempt: 3}, core.Fail(errors.New("boom")))
	handleWith(m, context.Background(), &core.Message{ID: "d", Queue: "emails", Attempt: 1}, core.Result{Outcome: 9})
	// A breaker's rejection is a retry whose error matches ErrBreakerOpen.
	handleWith(m, context.Background(), &core.Message{ID: "e", Queue: "emails", Attempt: 1},
		core.RetryErr(time.Minute, fmt.Errorf("smtp: %w", middleware.ErrBreakerOpen)))

	want := `
# HELP redghost_messages_handled_total Messages handled, by queue and outcome (success, retry, error, rejected: by a circuit breaker, without calling the handler).
# TYPE redghost_messages_handled_total counter
redghost_messages_handled_total{outcome="error",queue="emails"} 2
redghost_messages_handled_total{outcome="rejected",queue="emails"} 1
redghost_messages_handled_total{outcome="retry",queue="emails"} 1
redghost_messages_handled_total{outcome="success",queue="emails"} 1
# HELP redghost_retries_total Retry outcomes, by queue; circuit breaker rejections are not retries.
# TYPE redghost_retries_total counter
redghost_retries_total{queue="emails"} 1
# HELP redghost_dead_letters_total Error outcomes, each of which leaves a dead letter, by queue.
# TYPE redghost_dead_letters_total counter
redghost_dead_letters_total{queue="emails"} 2
# HELP redghost_messages_in_flight Handlers running now, by queue.
# TYPE redghost_messages_in_flight gauge
redghost_messages_in_flight{queue="emails"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"redghost_messages_handled_total", "redghost_retries_total", "redghost_dead_letters_total", "redghost_messages_in_flight"); err != nil {
		t.Error(err)
	}

	// Queueing: only first attempts with an enqueue time; 10 s old plus the clock's step.
	q := family(t, reg, "redghost_queueing_duration_seconds").GetMetric()
	if len(q) != 1 || q[0].GetHistogram().GetSampleCount() != 1 {
		t.Fatalf("queueing histogram %v, want one sample", q)
	}
	if got := q[0].GetHistogram().GetSampleSum(); got != 10.25 {
		t.Errorf("queueing sum %v, want 10.25", got)
	}
	// Handling: each handling takes one clock step (250 ms).
	for _, hm := range family(t, reg, "redghost_handle_duration_seconds").GetMetric() {
		h := hm.GetHistogram()
		if h.GetSampleSum() != 0.25*float64(h.GetSampleCount()) {
			t.Errorf("%v: sum %v for %d samples, want 250 ms each", labels(hm), h.GetSampleSum(), h.GetSampleCount())
		}
	}
}

func TestInFlightAndPanic(t *testing.T) {
	m, reg := newMetrics(t)
	var during float64
	h := m.Middleware()(core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		during = testutil.ToFloat64(mustGauge(t, reg, "redghost_messages_in_flight", "jobs"))
		panic("bug")
	}))
	func() {
		defer func() {
			if recover() != "bug" {
				t.Error("the panic did not go on up the chain")
			}
		}()
		h.Handle(context.Background(), &core.Message{ID: "x", Queue: "jobs", Attempt: 2})
	}()
	if during != 1 {
		t.Errorf("in flight during the handler = %v, want 1", during)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP redghost_dead_letters_total Error outcomes, each of which leaves a dead letter, by queue.
# TYPE redghost_dead_letters_total counter
redghost_dead_letters_total{queue="jobs"} 1
# HELP redghost_messages_in_flight Handlers running now, by queue.
# TYPE redghost_messages_in_flight gauge
redghost_messages_in_flight{queue="jobs"} 0
`), "redghost_dead_letters_total", "redghost_messages_in_flight"); err != nil {
		t.Error(err)
	}
}

// mustGauge finds one gauge sample by queue label, as a collector for ToFloat64.
func mustGauge(t *testing.T, reg *prometheus.Registry, name, queue string) prometheus.Collector {
	t.Helper()
	for _, mm := range family(t, reg, name).GetMetric() {
		if labels(mm)["queue"] == queue {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, func() float64 { return mm.GetGauge().GetValue() })
		}
	}
	t.Fatalf("no %s{queue=%q}", name, queue)
	return nil
}

func TestExemplarsCarryTraceID(t *testing.T) {
	m, reg := newMetrics(t)
	ctx, traceID := sampledCtx(t)
	handleWith(m, ctx, &core.Message{ID: "a", Queue: "q", Attempt: 1, EnqueuedAt: time.Now().Add(-time.Second)}, core.Success())
	for _, name := range []string{"redghost_handle_duration_seconds", "redghost_queueing_duration_seconds"} {
		found := false
		for _, mm := range family(t, reg, name).GetMetric() {
			for _, b := range mm.GetHistogram().GetBucket() {
				if ex := b.GetExemplar(); ex != nil {
					for _, l := range ex.GetLabel() {
						if l.GetName() == "trace_id" && l.GetValue() == traceID {
							found = true
						}
					}
				}
			}
		}
		if !found {
			t.Errorf("%s: no exemplar with trace_id %s", name, traceID)
		}
	}

	// No span, no exemplar.
	m2, reg2 := newMetrics(t)
	handleWith(m2, context.Background(), &core.Message{ID: "a", Queue: "q", Attempt: 1}, core.Success())
	for _, mm := range family(t, reg2, "redghost_handle_duration_seconds").GetMetric() {
		for _, b := range mm.GetHistogram().GetBucket() {
			if b.GetExemplar() != nil {
				t.Errorf("exemplar %v without a span", b.GetExemplar())
			}
		}
	}
}

func TestQueueLabelsBounded(t *testing.T) {
	m, reg := newMetrics(t, metrics.WithMaxQueues(2))
	for _, q := range []string{"a", "b", "c", "d", "a", "bad{name}", ""} {
		handleWith(m, context.Background(), &core.Message{ID: "x", Queue: q, Attempt: 2}, core.Success())
	}
	got := map[string]float64{}
	for _, mm := range family(t, reg, "redghost_messages_handled_total").GetMetric() {
		if l := labels(mm); l["outcome"] == "success" {
			got[l["queue"]] += mm.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"a": 2, "b": 1, metrics.OtherQueue: 2, metrics.InvalidQueue: 2}
	if len(got) != len(want) {
		t.Errorf("queues %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("queue %q: %v, want %v (all %v)", k, got[k], v, got)
		}
	}

	m, reg = newMetrics(t, metrics.WithQueues("emails"))
	handleWith(m, context.Background(), &core.Message{ID: "x", Queue: "emails", Attempt: 2}, core.Success())
	handleWith(m, context.Background(), &core.Message{ID: "x", Queue: "user-12345", Attempt: 2}, core.Success())
	n := testutil.CollectAndCount(reg, "redghost_messages_handled_total")
	if n != 5 { // 4 outcomes of emails, started at zero, and _other's success
		t.Errorf("%d handled series, want 5", n)
	}
}

func TestPublishResults(t *testing.T) {
	m, reg := newMetrics(t)
	errs := []error{nil, core.ErrAlreadyQueued, core.ErrLocked, core.ErrBackoff, &core.InvalidError{Field: "id"}, errors.New("io")}
	backend := core.SenderFunc(func(_ context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
		res := make([]core.EnqueueResult, len(reqs))
		for i := range reqs {
			res[i] = core.EnqueueResult{ID: reqs[i].ID, Err: errs[i%len(errs)], Action: core.Added}
			if i == len(errs) {
				res[i] = core.EnqueueResult{ID: reqs[i].ID, Action: core.Updated}
			}
		}
		return res, nil
	})
	send := m.PublishMiddleware()(backend)
	reqs := make([]core.EnqueueRequest, len(errs)+1)
	for i := range reqs {
		reqs[i] = core.EnqueueRequest{Queue: "q", ID: "id"}
	}
	if _, err := send.Send(context.Background(), reqs); err != nil {
		t.Fatal(err)
	}
	down := core.SenderFunc(func(context.Context, []core.EnqueueRequest) ([]core.EnqueueResult, error) {
		return nil, errors.New("unreachable")
	})
	_, _ = m.PublishMiddleware()(down).Send(context.Background(), reqs[:2])

	want := `
# HELP redghost_enqueued_total Enqueues by queue and result (added, updated, already_queued, locked, backoff, invalid, failed).
# TYPE redghost_enqueued_total counter
redghost_enqueued_total{queue="q",result="added"} 1
redghost_enqueued_total{queue="q",result="already_queued"} 1
redghost_enqueued_total{queue="q",result="backoff"} 1
redghost_enqueued_total{queue="q",result="failed"} 3
redghost_enqueued_total{queue="q",result="invalid"} 1
redghost_enqueued_total{queue="q",result="locked"} 1
redghost_enqueued_total{queue="q",result="updated"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "redghost_enqueued_total"); err != nil {
		t.Error(err)
	}
}

func TestBreakerState(t *testing.T) {
	m, reg := newMetrics(t, metrics.WithBreakers("smtp"), metrics.WithNamespace("app"))
	m.BreakerStateChanged("payments", middleware.BreakerClosed, middleware.BreakerOpen)
	m.BreakerStateChanged("payments", middleware.BreakerOpen, middleware.BreakerHalfOpen)
	want := `
# HELP app_circuit_breaker_state Circuit breaker state: 0 closed, 1 half-open, 2 open.
# TYPE app_circuit_breaker_state gauge
app_circuit_breaker_state{name="payments"} 1
app_circuit_breaker_state{name="smtp"} 0
# HELP app_circuit_breaker_transitions_total Circuit breaker state changes, by breaker and states.
# TYPE app_circuit_breaker_transitions_total counter
app_circuit_breaker_transitions_total{from="closed",name="payments",to="open"} 1
app_circuit_breaker_transitions_total{from="open",name="payments",to="half-open"} 1
app_circuit_breaker_transitions_total{from="closed",name="smtp",to="open"} 0
app_circuit_breaker_transitions_total{from="half-open",name="smtp",to="closed"} 0
app_circuit_breaker_transitions_total{from="half-open",name="smtp",to="open"} 0
app_circuit_breaker_transitions_total{from="open",name="smtp",to="half-open"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "app_circuit_breaker_state", "app_circuit_breaker_transitions_total"); err != nil {
		t.Error(err)
	}
}

func TestNewTwiceOnOneRegistryFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := metrics.New(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.New(reg); err == nil {
		t.Error("second New on the same registry succeeded")
	}
	if _, err := metrics.New(reg, metrics.WithNamespace("other")); err != nil {
		t.Errorf("New with another namespace: %v", err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opt   metrics.Option
		field string
	}{
		{metrics.WithNamespace(""), "WithNamespace"},
		{metrics.WithMaxQueues(0), "WithMaxQueues"},
		{metrics.WithClock(nil), "WithClock"},
		{metrics.WithLogger(nil), "WithLogger"},
		{metrics.WithScrapeTimeout(0), "WithScrapeTimeout"},
		{metrics.WithHandleBuckets(0.1, 0.1), "WithHandleBuckets"},
		{metrics.WithQueueingBuckets(1, math.NaN()), "WithQueueingBuckets"},
	} {
		reg := prometheus.NewRegistry()
		m, err := metrics.New(reg, tc.opt)
		var ie *core.InvalidError
		if m != nil || !errors.Is(err, core.ErrInvalid) || !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("%s: metrics %v, err %v; want an invalid-input error naming it", tc.field, m != nil, err)
		}
		if mfs, _ := reg.Gather(); len(mfs) != 0 {
			t.Errorf("%s: a refused New registered %d metrics", tc.field, len(mfs))
		}
	}
}

func TestMetricNamesLint(t *testing.T) {
	m, reg := newMetrics(t, metrics.WithBreakers("b"))
	ctx, _ := sampledCtx(t)
	handleWith(m, ctx, &core.Message{ID: "a", Queue: "q", Attempt: 1, EnqueuedAt: time.Now()}, core.Success())
	_, _ = m.PublishMiddleware()(core.SenderFunc(func(_ context.Context, r []core.EnqueueRequest) ([]core.EnqueueResult, error) {
		return []core.EnqueueResult{{ID: "a", Action: core.Added}}, nil
	})).Send(context.Background(), []core.EnqueueRequest{{Queue: "q", ID: "a"}})
	m.BreakerStateChanged("b", middleware.BreakerClosed, middleware.BreakerOpen)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// Behind a real circuit breaker, the handlings it rejects while open are
// counted as rejected, not as retries: the retry rate stays the handler's.
func TestBreakerRejectionsAreNotRetries(t *testing.T) {
	m, reg := newMetrics(t)
	breaker, err := middleware.CircuitBreaker(middleware.WithBreakerName("smtp"),
		middleware.WithBreakerOpenTimeout(time.Hour),
		middleware.WithBreakerReadyToTrip(func(c middleware.BreakerCounts) bool { return c.ConsecutiveFailures >= 2 }),
		middleware.WithBreakerOnStateChange(m.BreakerStateChanged))
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	h := middleware.Chain(m.Middleware(), breaker)(core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		calls++
		return core.RetryErr(0, errors.New("smtp: 421 try later"))
	}))
	for i := range 5 {
		h.Handle(context.Background(), &core.Message{ID: fmt.Sprint(i), Queue: "emails", Attempt: 1})
	}
	if calls != 2 {
		t.Fatalf("handler called %d times, want 2 (then the breaker opened)", calls)
	}
	want := `
# HELP redghost_retries_total Retry outcomes, by queue; circuit breaker rejections are not retries.
# TYPE redghost_retries_total counter
redghost_retries_total{queue="emails"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "redghost_retries_total"); err != nil {
		t.Error(err)
	}
	got := map[string]float64{}
	for _, mm := range family(t, reg, "redghost_messages_handled_total").GetMetric() {
		got[labels(mm)["outcome"]] = mm.GetCounter().GetValue()
	}
	if got["retry"] != 2 || got["rejected"] != 3 {
		t.Errorf("handled by outcome %v, want retry 2 and rejected 3", got)
	}
	if v := gathered(t, reg, "redghost_circuit_breaker_state"); v != float64(middleware.BreakerOpen) {
		t.Errorf("breaker state %v, want open", v)
	}
}

// A bucket takes a new exemplar at most every 100 ms: a second handling in
// the same bucket at the same instant keeps the first one's, a later one
// replaces it.
func TestExemplarsRefreshedPerBucket(t *testing.T) {
	clk := &stillClock{now: time.Unix(1000, 0)}
	m, reg := newMetrics(t, metrics.WithClock(clk))
	traced := func(hexID string) context.Context {
		tid, _ := trace.TraceIDFromHex(hexID)
		sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
		return trace.ContextWithSpanContext(context.Background(),
			trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	}
	exemplarOf := func() string {
		t.Helper()
		for _, mm := range family(t, reg, "redghost_handle_duration_seconds").GetMetric() {
			if labels(mm)["outcome"] != "success" {
				continue
			}
			for _, b := range mm.GetHistogram().GetBucket() {
				for _, l := range b.GetExemplar().GetLabel() {
					if l.GetName() == "trace_id" {
						return l.GetValue()
					}
				}
			}
		}
		return ""
	}
	first, second := "11111111111111111111111111111111", "22222222222222222222222222222222"
	handleWith(m, traced(first), &core.Message{ID: "a", Queue: "q", Attempt: 2}, core.Success())
	if got := exemplarOf(); got != first {
		t.Fatalf("exemplar %q, want %q", got, first)
	}
	handleWith(m, traced(second), &core.Message{ID: "b", Queue: "q", Attempt: 2}, core.Success())
	if got := exemplarOf(); got != first {
		t.Fatalf("exemplar %q right after the first, want it kept (%q)", got, first)
	}
	clk.now = clk.now.Add(100 * time.Millisecond)
	handleWith(m, traced(second), &core.Message{ID: "b", Queue: "q", Attempt: 2}, core.Success())
	if got := exemplarOf(); got != second {
		t.Fatalf("exemplar %q 100 ms later, want %q", got, second)
	}
}

// stillClock stands still until the test moves it.
type stillClock struct{ now time.Time }

func (c *stillClock) Now() time.Time { return c.now }
