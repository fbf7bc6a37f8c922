package metrics

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
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
	byName sync.Map // name -> *queueSeries, for names with a label of their own; stored under mu
	shared sync.Map // OtherQueue or InvalidQueue -> its *queueSeries
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
//
// A histogram observation carries the trace id of a sampled span in ctx as
// its exemplar; a bucket takes a new exemplar at most every
// [exemplarEvery], since it keeps only its latest one for the next scrape.
func (m *Metrics) Middleware() core.Middleware {
	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, msg *core.Message) core.Result {
			s := m.series(msg.Queue)
			start := m.cfg.clock.Now()
			if msg.Attempt == 1 && !msg.EnqueuedAt.IsZero() {
				s.histogram(&s.queueing, m.queueingDur, m.cfg.queueingBuckets).observe(ctx, max(0, start.Sub(msg.EnqueuedAt).Seconds()), start)
			}
			s.inFlight.Inc()
			res := core.Fail(nil) // what a panic counts as
			defer func() {
				s.inFlight.Dec()
				end := m.cfg.clock.Now()
				s.record(m, ctx, res, end.Sub(start).Seconds(), end)
			}()
			res = next.Handle(ctx, msg)
			return res
		})
	}
}

// queueSeries are the handler metrics of one queue label, looked up once
// so that a handling touches no label maps.
type queueSeries struct {
	handled [len(outcomes)]prometheus.Counter
	// The histograms' series are made on first use, as the client
	// library's WithLabelValues would: a queue that never had an error
	// reports no error durations.
	handleDur   [len(outcomes)]atomic.Pointer[exemplarHistogram]
	queueing    atomic.Pointer[exemplarHistogram]
	inFlight    prometheus.Gauge
	retries     prometheus.Counter
	deadLetters prometheus.Counter
	enqueued    sync.Map // result class -> prometheus.Counter
	label       string
	// shared: the label stands for other names (see sharedSeries), and
	// its handled counters are looked up on use.
	shared bool
}

// series answers the handler metrics of the queue name's label. A name
// that has no label of its own (_other, _invalid) gets a series whose
// handled counters and duration histograms are made on first use, so that
// only the outcomes seen are reported for those.
func (m *Metrics) series(name string) *queueSeries {
	if s, ok := m.byName.Load(name); ok {
		return s.(*queueSeries)
	}
	label := m.queueLabel(name)
	if label != name {
		return m.sharedSeries(label)
	}
	// A name with a label of its own is its label, and one queueLabel
	// remembers (bounded): kept by name, made once under mu.
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.byName.Load(name); ok {
		return s.(*queueSeries)
	}
	s := &queueSeries{
		label:       label,
		inFlight:    m.inFlight.WithLabelValues(label),
		retries:     m.retries.WithLabelValues(label),
		deadLetters: m.deadLetters.WithLabelValues(label),
	}
	for i, o := range outcomes {
		s.handled[i] = m.handled.WithLabelValues(label, o)
	}
	m.byName.Store(name, s)
	return s
}

// sharedSeries is series for the labels that stand for other names. There
// are two such labels, so each is made once and kept.
func (m *Metrics) sharedSeries(label string) *queueSeries {
	if s, ok := m.shared.Load(label); ok {
		return s.(*queueSeries)
	}
	s, _ := m.shared.LoadOrStore(label, &queueSeries{
		inFlight:    m.inFlight.WithLabelValues(label),
		retries:     m.retries.WithLabelValues(label),
		deadLetters: m.deadLetters.WithLabelValues(label),
		label:       label,
		shared:      true,
	})
	return s.(*queueSeries)
}

// histogram answers *p, made on first use from vec with the queue's label
// and extra label values.
func (s *queueSeries) histogram(p *atomic.Pointer[exemplarHistogram], vec *prometheus.HistogramVec, bounds []float64, extra ...string) *exemplarHistogram {
	if h := p.Load(); h != nil {
		return h
	}
	h := newExemplarHistogram(vec.WithLabelValues(append([]string{s.label}, extra...)...), bounds)
	if !p.CompareAndSwap(nil, h) {
		return p.Load()
	}
	return h
}

func (s *queueSeries) record(m *Metrics, ctx context.Context, res core.Result, seconds float64, now time.Time) {
	outcome := outcomeIndex(res)
	if s.shared {
		m.handled.WithLabelValues(s.label, outcomes[outcome]).Inc()
	} else {
		s.handled[outcome].Inc()
	}
	s.histogram(&s.handleDur[outcome], m.handleDur, m.cfg.handleBuckets, outcomes[outcome]).observe(ctx, seconds, now)
	switch outcome {
	case outcomeRetry:
		s.retries.Inc()
	case outcomeError:
		s.deadLetters.Inc()
	}
}

// exemplarEvery is how often a histogram bucket may take a new exemplar.
// Prometheus keeps one exemplar per bucket, the latest, until the next
// scrape: making one for every observation (a label map, the trace id in
// hex, a protobuf with a timestamp) would cost more than the rest of the
// middleware together, for exemplars nobody reads.
const exemplarEvery = 100 * time.Millisecond

// exemplarHistogram is one histogram with, per bucket, when it last took an
// exemplar.
type exemplarHistogram struct {
	h       prometheus.Observer
	bounds  []float64
	lastSet []atomic.Int64 // unix nanoseconds, one per bucket and +Inf
}

func newExemplarHistogram(o prometheus.Observer, bounds []float64) *exemplarHistogram {
	return &exemplarHistogram{h: o, bounds: bounds, lastSet: make([]atomic.Int64, len(bounds)+1)}
}

// observe records v, with the trace id of ctx's sampled span as an
// exemplar if v's bucket has gone without a new one for exemplarEvery.
func (e *exemplarHistogram) observe(ctx context.Context, v float64, now time.Time) {
	eo, ok := e.h.(prometheus.ExemplarObserver)
	if !ok {
		e.h.Observe(v)
		return
	}
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsSampled() {
		e.h.Observe(v)
		return
	}
	last := &e.lastSet[sort.SearchFloat64s(e.bounds, v)]
	t, n := now.UnixNano(), last.Load()
	if t-n < int64(exemplarEvery) && t >= n || !last.CompareAndSwap(n, t) {
		e.h.Observe(v)
		return
	}
	eo.ObserveWithExemplar(v, prometheus.Labels{"trace_id": sc.TraceID().String()})
}

// PublishMiddleware counts enqueues by queue and result.
func (m *Metrics) PublishMiddleware() core.PublishMiddleware {
	return func(next core.Sender) core.Sender {
		return core.SenderFunc(func(ctx context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
			res, err := next.Send(ctx, reqs)
			var s *queueSeries
			for i := range reqs {
				result := "failed"
				if err == nil && i < len(res) {
					result = res[i].Class()
				}
				if s == nil || i > 0 && reqs[i].Queue != reqs[i-1].Queue {
					s = m.series(reqs[i].Queue)
				}
				s.enqueue(m, result).Inc()
			}
			return res, err
		})
	}
}

// enqueue answers the enqueued counter of result on s's queue.
func (s *queueSeries) enqueue(m *Metrics, result string) prometheus.Counter {
	if c, ok := s.enqueued.Load(result); ok {
		return c.(prometheus.Counter)
	}
	c, _ := s.enqueued.LoadOrStore(result, m.enqueued.WithLabelValues(s.label, result))
	return c.(prometheus.Counter)
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

// labelValue keeps label values valid UTF-8, which the client library
// requires.
func labelValue(s string) string {
	if !utf8.ValidString(s) {
		return InvalidQueue
	}
	return s
}
