package redisqueue

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// BenchmarkCycle measures the backend's throughput: each iteration
// enqueues a batch, dequeues it and acks it (success), one script call
// each. Run it with
//
//	go test -run '^$' -bench Cycle ./core/redisqueue/
func BenchmarkCycle(b *testing.B) {
	for _, batch := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			be, _, _ := newEnv(b)
			c := newCycler(be, "bench", batch)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				c.cycle(b)
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkCycleParallel runs cycles of 100 from several goroutines, each
// on its own queue, so that client work and round trips overlap and Redis
// is the limit:
//
//	go test -run '^$' -bench CycleParallel -cpu 4 ./core/redisqueue/
func BenchmarkCycleParallel(b *testing.B) {
	be, _, _ := newEnv(b)
	var queues atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := newCycler(be, fmt.Sprintf("bench%d", queues.Add(1)), 100)
		for pb.Next() {
			c.cycle(b)
		}
	})
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "msgs/s")
}

// cycler enqueues a batch, dequeues it and acks it (success).
type cycler struct {
	be      *Backend
	queue   string
	reqs    []core.EnqueueRequest
	acks    []core.Ack
	payload []byte
	headers map[string]string
}

func newCycler(be *Backend, queue string, batch int) *cycler {
	return &cycler{
		be:      be,
		queue:   queue,
		reqs:    make([]core.EnqueueRequest, batch),
		acks:    make([]core.Ack, 0, batch),
		payload: make([]byte, 100),
		headers: map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
	}
}

func (c *cycler) cycle(b *testing.B) {
	ctx := context.Background()
	for i := range c.reqs {
		c.reqs[i] = core.EnqueueRequest{Queue: c.queue, ID: core.NewID(), Payload: c.payload, Headers: c.headers}
	}
	if _, err := c.be.Enqueue(ctx, c.reqs); err != nil {
		b.Fatal(err)
	}
	res, err := c.be.Dequeue(ctx, core.DequeueParams{Queue: c.queue, Max: len(c.reqs), Lock: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	if len(res.Messages) != len(c.reqs) {
		b.Fatalf("dequeued %d, want %d", len(res.Messages), len(c.reqs))
	}
	c.acks = c.acks[:0]
	for _, d := range res.Messages {
		c.acks = append(c.acks, core.Ack{ID: d.ID, Token: d.Token})
	}
	errs, err := c.be.Ack(ctx, c.queue, c.acks)
	if err != nil {
		b.Fatal(err)
	}
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQueueStats measures QueueStats (what a metrics scrape or a
// worker's monitor costs per queue) on a backlog of 10 000 messages of
// 1 KiB: one script that reads the key sizes and the headers of the first
// core.OldestReadyLookahead ready messages.
//
//	go test -run '^$' -bench QueueStats ./core/redisqueue/
func BenchmarkQueueStats(b *testing.B) {
	be, _, _ := newEnv(b)
	ctx := context.Background()
	payload := make([]byte, 1024)
	reqs := make([]core.EnqueueRequest, 100)
	for range 100 {
		for i := range reqs {
			reqs[i] = core.EnqueueRequest{Queue: "stats", Payload: payload}
		}
		if _, err := be.Enqueue(ctx, reqs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		st, err := be.QueueStats(ctx, "stats")
		if err != nil || st.Queued != 10000 {
			b.Fatalf("QueueStats: %+v, %v", st, err)
		}
	}
}
