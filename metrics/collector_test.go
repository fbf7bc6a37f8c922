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
		stats: map[string]core.QueueStats{"emails": {Queued: 5, Locked: 2, Backoff: 1, Done: 3, Total: 11, Dead: 4}},
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
# HELP redghost_queue_up 1 if the queue's stats were read at this scrape, 0 if the backend failed or timed out.
# TYPE redghost_queue_up gauge
redghost_queue_up{queue="emails"} 1
redghost_queue_up{queue="stuck"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "redghost_queue_messages", "redghost_queue_up"); err != nil {
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
