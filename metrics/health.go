package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/redghost/redghost/core"
)

// HealthCollector is a [prometheus.Collector] of what a backend sees of
// the store under it ([core.HealthChecker]): whether the store may evict
// queue keys (accepted messages could vanish without an error) and how
// often it found a queue's data gone (a restart without persistence, a
// flush). It reads [core.HealthChecker.Health] at scrape time, which costs
// no round trip.
type HealthCollector struct {
	backend  core.HealthChecker
	evicting *prometheus.Desc
	losses   *prometheus.Desc
}

var _ prometheus.Collector = (*HealthCollector)(nil)

// HealthCollector returns a collector of b's view of its store, or nil
// when b does not watch its store (the in-memory backend). Register it
// with the same registerer:
//
//	if c := m.HealthCollector(b); c != nil {
//		reg.MustRegister(c)
//	}
func (m *Metrics) HealthCollector(b core.Backend) *HealthCollector {
	hc, ok := b.(core.HealthChecker)
	if !ok {
		return nil
	}
	ns := m.cfg.namespace
	return &HealthCollector{
		backend: hc,
		evicting: prometheus.NewDesc(prometheus.BuildFQName(ns, "backend", "evicting"),
			"1 when the store's memory policy may delete queue keys (Redis maxmemory-policy allkeys-*): accepted messages can vanish. Run Redis with noeviction.",
			[]string{"policy"}, nil),
		losses: prometheus.NewDesc(prometheus.BuildFQName(ns, "backend", "data_losses_total"),
			"Times the backend found a queue's data gone from the store (a restart without persistence, a flush).",
			nil, nil),
	}
}

// Describe sends the collector's descriptors.
func (c *HealthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.evicting
	ch <- c.losses
}

// Collect reads the backend's last view of its store.
func (c *HealthCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.backend.Health()
	evicting := 0.0
	if h.Evicting {
		evicting = 1
	}
	policy := h.EvictionPolicy
	if policy == "" {
		policy = "unknown"
	}
	ch <- prometheus.MustNewConstMetric(c.evicting, prometheus.GaugeValue, evicting, policy)
	ch <- prometheus.MustNewConstMetric(c.losses, prometheus.CounterValue, float64(h.DataLosses))
}
