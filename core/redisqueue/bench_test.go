package redisqueue

import (
	"context"
	"fmt"
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
			ctx := context.Background()
			payload := make([]byte, 100)
			headers := map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
			reqs := make([]core.EnqueueRequest, batch)
			acks := make([]core.Ack, 0, batch)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for i := range reqs {
					reqs[i] = core.EnqueueRequest{Queue: "bench", ID: core.NewID(), Payload: payload, Headers: headers}
				}
				if _, err := be.Enqueue(ctx, reqs); err != nil {
					b.Fatal(err)
				}
				res, err := be.Dequeue(ctx, "bench", batch, time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Messages) != batch {
					b.Fatalf("dequeued %d, want %d", len(res.Messages), batch)
				}
				acks = acks[:0]
				for _, d := range res.Messages {
					acks = append(acks, core.Ack{ID: d.ID, Token: d.Token})
				}
				errs, err := be.Ack(ctx, "bench", acks)
				if err != nil {
					b.Fatal(err)
				}
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
