package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/redghost/redghost/core"
)

// WorkerCollector is a [prometheus.Collector] that reads workers' own
// counters at scrape time ([core.Worker.Stats]): what no handler middleware
// can see, because it happens around the handler: messages whose lock was
// lost (a message may then be handled twice), backend errors the worker
// backed off from, idle waits, and how many of the workers are running
// (started and not stopped).
type WorkerCollector struct {
	workers []*core.Worker
	label   func(string) string
	lost    *prometheus.Desc
	errs    *prometheus.Desc
	sleeps  *prometheus.Desc
	running *prometheus.Desc
}

var _ prometheus.Collector = (*WorkerCollector)(nil)

// WorkerCollector returns a collector of the workers' counters, labelled by
// queue as this Metrics labels queues. Register it with the same registerer:
//
//	reg.MustRegister(m.WorkerCollector(w1, w2))
//
// Workers of the same queue are added up.
func (m *Metrics) WorkerCollector(workers ...*core.Worker) *WorkerCollector {
	ns := m.cfg.namespace
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "worker", name), help, []string{"queue"}, nil)
	}
	return &WorkerCollector{
		workers: workers,
		label:   m.queueLabel,
		lost: desc("locks_lost_total",
			"Messages whose lock was lost while the worker held them, each counted once: another worker may have handled them too."),
		errs: desc("backend_errors_total",
			"Backend calls (dequeue, wait, acknowledge, heartbeat) that failed and were retried with backoff."),
		sleeps: desc("idle_waits_total",
			"Dequeues that found nothing to handle and waited for a wake-up."),
		running: desc("running",
			"Workers of the queue in this process that are running: started and not stopped."),
	}
}

// Describe sends the collector's descriptors.
func (c *WorkerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lost
	ch <- c.errs
	ch <- c.sleeps
	ch <- c.running
}

// Collect reads every worker's statistics.
func (c *WorkerCollector) Collect(ch chan<- prometheus.Metric) {
	type sums struct{ lost, errs, sleeps, running int64 }
	byQueue := map[string]*sums{}
	var order []string
	for _, w := range c.workers {
		q := c.label(w.Queue().Name())
		s := byQueue[q]
		if s == nil {
			s = &sums{}
			byQueue[q] = s
			order = append(order, q)
		}
		st := w.Stats()
		s.lost += st.LockLost
		s.errs += st.BackendErrors
		s.sleeps += st.Sleeps
		if st.Running {
			s.running++
		}
	}
	for _, q := range order {
		s := byQueue[q]
		ch <- prometheus.MustNewConstMetric(c.lost, prometheus.CounterValue, float64(s.lost), q)
		ch <- prometheus.MustNewConstMetric(c.errs, prometheus.CounterValue, float64(s.errs), q)
		ch <- prometheus.MustNewConstMetric(c.sleeps, prometheus.CounterValue, float64(s.sleeps), q)
		ch <- prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, float64(s.running), q)
	}
}
