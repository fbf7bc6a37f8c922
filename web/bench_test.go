package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
)

// The pages must stay quick on big installations: the queues page over
// 1,000 queues and a queue page of a 100,000-message queue, each within
// 200 ms on a small machine. Run:
//
//	go test -run '^$' -bench . -benchtime 20x ./web/

func benchBackends(b *testing.B, fn func(b *testing.B, be core.Backend)) {
	b.Run("memqueue", func(b *testing.B) {
		be, err := memqueue.New()
		if err != nil {
			b.Fatal(err)
		}
		fn(b, be)
	})
	b.Run("redis", func(b *testing.B) {
		srv := redistest.Shared(b)
		be, err := redisqueue.New(srv.Client(b), redisqueue.WithPrefix(fmt.Sprintf("webbench%d", prefixes.Add(1))))
		if err != nil {
			b.Fatal(err)
		}
		fn(b, be)
		if err := be.ClearQueues(b.Context(), mustNames(b, be)...); err != nil {
			b.Fatal(err)
		}
	})
}

func mustNames(b *testing.B, be core.Backend) []string {
	names, err := be.QueueNames(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	return names
}

// fill enqueues n messages to each queue, in batches.
func fill(b *testing.B, be core.Backend, queues []string, n int) {
	var reqs []core.EnqueueRequest
	flush := func() {
		if _, err := be.Enqueue(b.Context(), reqs); err != nil {
			b.Fatal(err)
		}
		reqs = reqs[:0]
	}
	for _, q := range queues {
		for i := range n {
			reqs = append(reqs, core.EnqueueRequest{Queue: q, ID: fmt.Sprintf("m%06d", i), Payload: []byte(`{"order":12345,"items":[1,2,3]}`)})
			if len(reqs) == 1000 {
				flush()
			}
		}
	}
	if len(reqs) > 0 {
		flush()
	}
}

func benchPage(b *testing.B, h http.Handler, path string) {
	b.ReportAllocs()
	var total time.Duration
	for b.Loop() {
		req := httptest.NewRequest("GET", path, nil)
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, req)
		total += time.Since(start)
		if w.Code != 200 {
			b.Fatalf("%s: %d\n%s", path, w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/page")
}

func BenchmarkQueuesPage1000Queues(b *testing.B) {
	benchBackends(b, func(b *testing.B, be core.Backend) {
		queues := make([]string, 1000)
		for i := range queues {
			queues[i] = fmt.Sprintf("queue-%04d", i)
		}
		fill(b, be, queues, 3)
		h, err := New(be)
		if err != nil {
			b.Fatal(err)
		}
		benchPage(b, h, "/")
	})
}

func BenchmarkQueuePage100kMessages(b *testing.B) {
	benchBackends(b, func(b *testing.B, be core.Backend) {
		fill(b, be, []string{"big"}, 100_000)
		h, err := New(be)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("first", func(b *testing.B) { benchPage(b, h, "/queue?name=big") })
		// A filter that matches nothing reads its whole budget.
		b.Run("filtered", func(b *testing.B) { benchPage(b, h, "/queue?name=big&status=locked") })
	})
}

func BenchmarkMessagePage100kMessages(b *testing.B) {
	benchBackends(b, func(b *testing.B, be core.Backend) {
		fill(b, be, []string{"big"}, 100_000)
		h, err := New(be)
		if err != nil {
			b.Fatal(err)
		}
		benchPage(b, h, "/message?queue=big&id=m099999")
	})
}
