package metrics_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/queuetest"
	"github.com/redghost/redghost/metrics"
)

// statsBackend answers QueueStats from a map; every other call panics
// (the embedded nil interface).
type statsBackend struct {
	core.Backend
	stats map[string]core.QueueStats
	slow  string // this queue blocks until ctx ends
}

func (b *statsBackend) QueueStats(ctx context.Context, queue string) (core.QueueStats, error) {
	if queue == b.slow {
		<-ctx.Done()
		return core.QueueStats{}, ctx.Err()
	}
	st, ok := b.stats[queue]
	if !ok {
		return core.QueueStats{}, errors.New("no such queue")
	}
	return st, nil
}

func TestQueueCollector(t *testing.T) {
	b := &statsBackend{
		stats: map[string]core.QueueStats{"emails": {Queued: 5, Locked: 2, Backoff: 1, Done: 3, Total: 11, Dead: 4, OldestReady: 90 * time.Second}},
		slow:  "stuck",
	}
	m, reg := newMetrics(t, metrics.WithScrapeTimeout(50*time.Millisecond), metrics.WithLogger(slog.New(slog.DiscardHandler)))
	reg.MustRegister(m.QueueCollector(core.NewQueue(b, "emails"), core.NewQueue(b, "stuck")))

	start := time.Now()
	want := `
# HELP redghost_queue_messages Messages in the queue by status (queued, locked, backoff, done, dead), read at scrape time.
# TYPE redghost_queue_messages gauge
redghost_queue_messages{queue="emails",status="backoff"} 1
redghost_queue_messages{queue="emails",status="dead"} 4
redghost_queue_messages{queue="emails",status="done"} 3
redghost_queue_messages{queue="emails",status="locked"} 2
redghost_queue_messages{queue="emails",status="queued"} 5
# HELP redghost_queue_oldest_message_age_seconds How long the queue's longest-waiting queued message has been ready to handle (since enqueued, or since its delay, backoff or lock expired or it was retried); 0 when nothing is queued. Read at scrape time.
# TYPE redghost_queue_oldest_message_age_seconds gauge
redghost_queue_oldest_message_age_seconds{queue="emails"} 90
# HELP redghost_queue_up 1 if the queue's stats were read at this scrape, 0 if the backend failed or timed out.
# TYPE redghost_queue_up gauge
redghost_queue_up{queue="emails"} 1
redghost_queue_up{queue="stuck"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "redghost_queue_messages", "redghost_queue_oldest_message_age_seconds", "redghost_queue_up"); err != nil {
		t.Error(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("scrape took %s despite a 50 ms timeout", d)
	}
}

func TestNewQueueCollectorDefaults(t *testing.T) {
	b := &statsBackend{stats: map[string]core.QueueStats{"a": {Queued: 1, Total: 1}}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewQueueCollector(0, core.NewQueue(b, "a")))
	if n := testutil.CollectAndCount(reg, "redghost_queue_messages"); n != 5 {
		t.Errorf("%d series, want 5 statuses", n)
	}
}

// The oldest message's age comes from the backend's own clock, and drops
// to 0 when a worker has taken every queued message.
func TestQueueCollectorOldestMessageAge(t *testing.T) {
	clock := queuetest.NewManualClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	b, err := memqueue.New(memqueue.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	m, reg := newMetrics(t)
	q := core.NewQueue(b, "reports")
	reg.MustRegister(m.QueueCollector(q))
	age := func() float64 {
		t.Helper()
		return gathered(t, reg, "redghost_queue_oldest_message_age_seconds")
	}
	if a := age(); a != 0 {
		t.Errorf("empty queue: age %v, want 0", a)
	}
	pub := core.NewPublisher(b)
	if _, err := pub.Enqueue(t.Context(), q.Name(), []byte("first")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(42 * time.Second)
	if _, err := pub.Enqueue(t.Context(), q.Name(), []byte("second")); err != nil {
		t.Fatal(err)
	}
	if a := age(); a != 42 {
		t.Errorf("age %v, want 42 (the first message's wait)", a)
	}
	if _, err := b.Dequeue(t.Context(), core.DequeueParams{Queue: q.Name(), Max: 2, Lock: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if a := age(); a != 0 {
		t.Errorf("nothing queued: age %v, want 0", a)
	}
}

// gathered is the value of the one sample of name in reg, a gauge or a
// counter.
func gathered(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no single sample of %s", name)
	return 0
}
