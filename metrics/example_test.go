package metrics_test

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/metrics"
)

func Example() {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		panic(err)
	}
	h := m.Middleware()(core.HandlerFunc(func(ctx context.Context, msg *core.Message) core.Result {
		if msg.Attempt < 2 {
			return core.Retry(0)
		}
		return core.Success()
	}))
	h.Handle(context.Background(), &core.Message{ID: "m1", Queue: "emails", Attempt: 1})
	h.Handle(context.Background(), &core.Message{ID: "m1", Queue: "emails", Attempt: 2})

	// Serve with OpenMetrics so that the exemplars reach Prometheus.
	_ = promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true})

	fmt.Println(testutil.CollectAndCount(reg, "redghost_messages_handled_total"), "outcome series")
	fmt.Println(testutil.ToFloat64(prometheusCounter(reg, "redghost_retries_total")), "retry")
	// Output:
	// 3 outcome series
	// 1 retry
}

// prometheusCounter reads one single-series family back as a collector.
func prometheusCounter(reg *prometheus.Registry, name string) prometheus.Collector {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name {
			v := mf.GetMetric()[0].GetCounter().GetValue()
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "v"}, func() float64 { return v })
		}
	}
	return nil
}
