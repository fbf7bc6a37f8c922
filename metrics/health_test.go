package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
)

// On an evicting Redis the gauge says so, with the policy, once the
// backend has looked; a restart that wiped the queue is counted.
func TestHealthCollectorOnRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.WithArgs("--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"))
	b, err := redisqueue.New(srv.Client(t), redisqueue.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	m, reg := newMetrics(t)
	c := m.HealthCollector(b)
	if c == nil {
		t.Fatal("no health collector for the Redis backend")
	}
	reg.MustRegister(c)
	ctx := context.Background()
	if err := b.CheckHealth(ctx, "jobs"); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP redghost_backend_evicting 1 when the store's memory policy may delete queue keys (Redis maxmemory-policy allkeys-*): accepted messages can vanish. Run Redis with noeviction.
# TYPE redghost_backend_evicting gauge
redghost_backend_evicting{policy="allkeys-lru"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "redghost_backend_evicting"); err != nil {
		t.Fatal(err)
	}

	if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "jobs", ID: "a"}}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Client(t).FlushAll(ctx).Err(); err != nil { // as a restart without persistence would
		t.Fatal(err)
	}
	if err := b.CheckHealth(ctx, "jobs"); err != nil {
		t.Fatal(err)
	}
	if n := gathered(t, reg, "redghost_backend_data_losses_total"); n != 1 {
		t.Fatalf("%v data losses counted, want the one", n)
	}
}

// The in-memory backend loses nothing to its store: no collector.
func TestHealthCollectorMemory(t *testing.T) {
	t.Parallel()
	b, err := memqueue.New()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := newMetrics(t)
	if c := m.HealthCollector(b); c != nil {
		t.Fatalf("a health collector for the in-memory backend: %v", c)
	}
}
