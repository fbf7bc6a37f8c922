package metrics

import (
	"context"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"go.opentelemetry.io/otel/trace"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
)

// Metrics holds the Red Ghost metrics of one registry. It is safe for
// concurrent use; build one per process and share it between workers and
// publishers.
type Metrics struct {
	cfg config

	handled      *prometheus.CounterVec
	handleDur    *prometheus.HistogramVec
	queueingDur  *prometheus.HistogramVec
	inFlight     *prometheus.GaugeVec
	retries      *prometheus.CounterVec
	deadLetters  *prometheus.CounterVec
	enqueued     *prometheus.CounterVec
	breakerState *prometheus.GaugeVec
	breakerMoves *prometheus.CounterVec

	mu     sync.Mutex
	queues sync.Map // name -> label value, for names already decided
	nseen  int
}

// New builds the metrics and registers them with reg (nil:
// prometheus.DefaultRegisterer). A bad option (an empty namespace, a bound
// below 1, buckets out of order, a nil clock or logger) is an error matching
// [core.ErrInvalid] whose Field names the option. It also fails if any of
// the metrics is already registered, for example by another New with the
// same namespace.
func New(reg prometheus.Registerer, opts ...Option) (*Metrics, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	ns := cfg.namespace
	m := &Metrics{
		cfg: cfg,
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "messages_handled_total",
			Help: "Messages handled, by queue and outcome (success, retry, error, rejected: by a circuit breaker, without calling the handler).",
		}, []string{"queue", "outcome"}),
		handleDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "handle_duration_seconds",
			Help:    "Time spent in the handler, by queue and outcome.",
			Buckets: cfg.handleBuckets,
		}, []string{"queue", "outcome"}),
		queueingDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "queueing_duration_seconds",
			Help:    "Age of a message at its first handling, by queue.",
			Buckets: cfg.queueingBuckets,
		}, []string{"queue"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "messages_in_flight",
			Help: "Handlers running now, by queue.",
		}, []string{"queue"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "retries_total",
			Help: "Retry outcomes, by queue; circuit breaker rejections are not retries.",
		}, []string{"queue"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "dead_letters_total",
			Help: "Error outcomes, each of which leaves a dead letter, by queue.",
		}, []string{"queue"}),
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "enqueued_total",
			Help: "Enqueues by queue and result (added, updated, already_queued, locked, backoff, invalid, failed).",
		}, []string{"queue", "result"}),
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "circuit_breaker_state",
			Help: "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
		}, []string{"name"}),
		breakerMoves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "circuit_breaker_transitions_total",
			Help: "Circuit breaker state changes, by breaker and states.",
		}, []string{"name", "from", "to"}),
	}
	for _, c := range []prometheus.Collector{m.handled, m.handleDur, m.queueingDur, m.inFlight,
		m.retries, m.deadLetters, m.enqueued, m.breakerState, m.breakerMoves} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("redghost/metrics: register: %w", err)
		}
	}
	for _, name := range cfg.breakers {
		name = labelValue(name)
		m.breakerState.WithLabelValues(name).Set(float64(middleware.BreakerClosed))
		for _, move := range breakerMoves {
			m.breakerMoves.WithLabelValues(name, move[0].String(), move[1].String())
		}
	}
	return m, nil
}

// breakerMoves are the state changes a circuit breaker makes.
var breakerMoves = [...][2]middleware.BreakerState{
	{middleware.BreakerClosed, middleware.BreakerOpen},
	{middleware.BreakerOpen, middleware.BreakerHalfOpen},
	{middleware.BreakerHalfOpen, middleware.BreakerOpen},
	{middleware.BreakerHalfOpen, middleware.BreakerClosed},
}

// queueLabel maps a queue name to its label value, bounded as the package
// documentation says. A queue's series start at zero when it is first seen,
// so that rates are defined from the start.
func (m *Metrics) queueLabel(name string) string {
	if v, ok := m.queues.Load(name); ok {
		return v.(string)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.queues.Load(name); ok {
		return v.(string)
	}
	label := name
	switch {
	case core.ValidateQueueName(name) != nil:
		return InvalidQueue // not remembered: such names are unbounded
	case m.cfg.allow != nil && !m.cfg.allow[name]:
		return OtherQueue
	case m.cfg.allow == nil && m.nseen >= m.cfg.maxQueues:
		return OtherQueue
	}
	m.nseen++
	m.queues.Store(name, label)
	for _, o := range outcomes {
		m.handled.WithLabelValues(label, o)
	}
	m.retries.WithLabelValues(label)
	m.deadLetters.WithLabelValues(label)
	m.inFlight.WithLabelValues(label)
	return label
}

// Middleware counts and times handlings. It does not recover panics: a
// panic is counted as an error outcome and goes on up the chain.
func (m *Metrics) Middleware() core.Middleware {
	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, msg *core.Message) core.Result {
			q := m.queueLabel(msg.Queue)
			start := m.cfg.clock.Now()
			ex := exemplar(ctx)
			if msg.Attempt == 1 && !msg.EnqueuedAt.IsZero() {
				observe(m.queueingDur.WithLabelValues(q), max(0, start.Sub(msg.EnqueuedAt).Seconds()), ex)
			}
			inFlight := m.inFlight.WithLabelValues(q)
			inFlight.Inc()
			res := core.Fail(nil) // what a panic counts as
			defer func() {
				inFlight.Dec()
				m.record(q, res, m.cfg.clock.Now().Sub(start).Seconds(), ex)
			}()
			res = next.Handle(ctx, msg)
			return res
		})
	}
}

func (m *Metrics) record(q string, res core.Result, seconds float64, ex prometheus.Labels) {
	o := outcomeLabel(res)
	m.handled.WithLabelValues(q, o).Inc()
	observe(m.handleDur.WithLabelValues(q, o), seconds, ex)
	switch o {
	case outcomes[core.OutcomeRetry]:
		m.retries.WithLabelValues(q).Inc()
	case outcomes[core.OutcomeError]:
		m.deadLetters.WithLabelValues(q).Inc()
	}
}

// PublishMiddleware counts enqueues by queue and result.
func (m *Metrics) PublishMiddleware() core.PublishMiddleware {
	return func(next core.Sender) core.Sender {
		return core.SenderFunc(func(ctx context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
			res, err := next.Send(ctx, reqs)
			for i := range reqs {
				result := "failed"
				if err == nil && i < len(res) {
					result = res[i].Class()
				}
				m.enqueued.WithLabelValues(m.queueLabel(reqs[i].Queue), result).Inc()
			}
			return res, err
		})
	}
}

// BreakerStateChanged records a circuit breaker's state change. Pass it to
// the middleware package's WithBreakerOnStateChange.
func (m *Metrics) BreakerStateChanged(name string, from, to middleware.BreakerState) {
	name = labelValue(name)
	m.breakerState.WithLabelValues(name).Set(float64(to))
	m.breakerMoves.WithLabelValues(name, from.String(), to.String()).Inc()
}

// QueueCollector returns a collector of the queues' depth by status, with
// this Metrics' namespace, scrape timeout and logger. Register it with the
// same registry.
func (m *Metrics) QueueCollector(queues ...*core.Queue) *QueueCollector {
	return newQueueCollector(m.cfg.namespace, m.cfg.scrapeTimeout, m.cfg.logger, queues)
}

// exemplar is the trace id of the sampled span in ctx, if any.
func exemplar(ctx context.Context) prometheus.Labels {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsSampled() {
		return nil
	}
	return prometheus.Labels{"trace_id": sc.TraceID().String()}
}

func observe(o prometheus.Observer, v float64, ex prometheus.Labels) {
	if eo, ok := o.(prometheus.ExemplarObserver); ok && ex != nil {
		eo.ObserveWithExemplar(v, ex)
		return
	}
	o.Observe(v)
}

// labelValue keeps label values valid UTF-8, which the client library
// requires.
func labelValue(s string) string {
	if !utf8.ValidString(s) {
		return InvalidQueue
	}
	return s
}
