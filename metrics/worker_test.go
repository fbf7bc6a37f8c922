package metrics_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
)

// Through a real publisher, backend and worker: enqueues, outcomes and the
// queue's depth (dead letters included) as the collector reads them.
func TestThroughWorker(t *testing.T) {
	m, reg := newMetrics(t)
	b := memqueue.New()
	q := core.NewQueue(b, "jobs")
	reg.MustRegister(m.QueueCollector(q))
	pub := core.NewPublisher(b, core.WithPublishMiddleware(m.PublishMiddleware()))

	handled := make(chan string, 10)
	h := m.Middleware()(core.HandlerFunc(func(ctx context.Context, msg *core.Message) core.Result {
		defer func() { handled <- msg.ID }()
		switch {
		case msg.ID == "bad":
			return core.Fail(errors.New("poison"))
		case msg.ID == "flaky" && msg.Attempt == 1:
			return core.Retry(0)
		}
		return core.Success()
	}))
	w := core.NewWorker(q, h, core.WithMaxWait(10*time.Millisecond))
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"good", "bad", "flaky"} {
		if _, err := pub.Enqueue(context.Background(), "jobs", []byte("{}"), core.WithID(id)); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 { // good, bad, flaky twice
		select {
		case <-handled:
		case <-time.After(10 * time.Second):
			t.Fatal("handlings missing")
		}
	}
	if err := w.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP redghost_messages_handled_total Messages handled, by queue and outcome (success, retry, error).
# TYPE redghost_messages_handled_total counter
redghost_messages_handled_total{outcome="error",queue="jobs"} 1
redghost_messages_handled_total{outcome="retry",queue="jobs"} 1
redghost_messages_handled_total{outcome="success",queue="jobs"} 2
`), "redghost_messages_handled_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.CollectAndCount(reg, "redghost_queueing_duration_seconds"); got != 1 {
		t.Errorf("%d queueing series, want 1", got)
	}
	mf := family(t, reg, "redghost_queueing_duration_seconds")
	if n := mf.GetMetric()[0].GetHistogram().GetSampleCount(); n != 3 {
		t.Errorf("%d queueing samples, want 3 first attempts", n)
	}
	var dead float64
	for _, mm := range family(t, reg, "redghost_queue_messages").GetMetric() {
		if labels(mm)["status"] == "dead" {
			dead = mm.GetGauge().GetValue()
		}
	}
	if dead != 1 {
		t.Errorf("collector reads %v dead letters, want 1", dead)
	}
	enq := 0.0
	for _, mm := range family(t, reg, "redghost_enqueued_total").GetMetric() {
		enq += mm.GetCounter().GetValue()
	}
	if enq != 3 {
		t.Errorf("%v enqueues counted, want 3", enq)
	}
}
