package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redghost/redghost/core"
)

// QueueCollector is a [prometheus.Collector] that reads the depth of its
// queues by status, and how long each queue's longest-waiting message has
// waited ([core.QueueStats.OldestReady]), from the backend at scrape time
// ([core.Queue.Stats], O(1) per queue), all queues at once, each within the
// timeout. A queue that cannot be read is left out of that scrape and
// reported by redghost_queue_up 0; the scrape itself does not fail.
type QueueCollector struct {
	queues   []*core.Queue
	timeout  time.Duration
	logger   *slog.Logger
	messages *prometheus.Desc
	oldest   *prometheus.Desc
	up       *prometheus.Desc
}

var _ prometheus.Collector = (*QueueCollector)(nil)

// NewQueueCollector returns a collector of the queues' depth with the
// default namespace; timeout bounds each scrape's wait for the backend
// (zero: [DefaultScrapeTimeout]). See also [Metrics.QueueCollector].
func NewQueueCollector(timeout time.Duration, queues ...*core.Queue) *QueueCollector {
	return newQueueCollector(DefaultNamespace, timeout, slog.Default(), queues)
}

func newQueueCollector(ns string, timeout time.Duration, logger *slog.Logger, queues []*core.Queue) *QueueCollector {
	if timeout <= 0 {
		timeout = DefaultScrapeTimeout
	}
	return &QueueCollector{
		queues:  queues,
		timeout: timeout,
		logger:  logger,
		messages: prometheus.NewDesc(prometheus.BuildFQName(ns, "queue", "messages"),
			"Messages in the queue by status (queued, locked, backoff, done, dead), read at scrape time.",
			[]string{"queue", "status"}, nil),
		oldest: prometheus.NewDesc(prometheus.BuildFQName(ns, "queue", "oldest_message_age_seconds"),
			"How long the queue's longest-waiting queued message has been ready to handle (since enqueued, or since its delay, backoff or lock expired or it was retried); 0 when nothing is queued. Read at scrape time.",
			[]string{"queue"}, nil),
		up: prometheus.NewDesc(prometheus.BuildFQName(ns, "queue", "up"),
			"1 if the queue's stats were read at this scrape, 0 if the backend failed or timed out.",
			[]string{"queue"}, nil),
	}
}

// Describe sends the collector's descriptors.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.messages
	ch <- c.oldest
	ch <- c.up
}

// Collect reads every queue's stats, in parallel, within the timeout.
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, q := range c.queues {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.collect(ctx, q, ch)
		}()
	}
	wg.Wait()
}

func (c *QueueCollector) collect(ctx context.Context, q *core.Queue, ch chan<- prometheus.Metric) {
	name := labelValue(q.Name())
	st, err := q.Stats(ctx)
	if err != nil {
		c.logger.Warn("redghost/metrics: queue stats not read", "queue", q.Name(), "error", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0, name)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1, name)
	for _, s := range []struct {
		status string
		n      int64
	}{{"queued", st.Queued}, {"locked", st.Locked}, {"backoff", st.Backoff}, {"done", st.Done}, {"dead", st.Dead}} {
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(s.n), name, s.status)
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, st.OldestReady.Seconds(), name)
}
