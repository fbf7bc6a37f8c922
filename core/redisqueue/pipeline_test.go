package redisqueue_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
)

// A batch large enough to go in pipelined chunks, over two queues, with an
// id repeated across chunks and a bad request in the middle: every request
// gets its own answer, in request order, as if applied one by one.
func TestLargeBatchKeepsOrderAcrossChunks(t *testing.T) {
	t.Parallel()
	srv := redistest.Shared(t)
	b, err := redisqueue.New(srv.Client(t), redisqueue.WithPrefix(fmt.Sprintf("pipe%d", srv.Client(t).Incr(context.Background(), "pipe-seq").Val())))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var reqs []core.EnqueueRequest
	for i := range 1800 {
		q := "left"
		if i%3 == 0 {
			q = "right"
		}
		reqs = append(reqs, core.EnqueueRequest{Queue: q, ID: fmt.Sprintf("%s-%d", q, i), Payload: []byte{byte(i)}})
	}
	// The same id again far later (another chunk): refused, then updated.
	reqs = append(reqs,
		core.EnqueueRequest{Queue: "left", ID: "left-1", Payload: []byte("again")},
		core.EnqueueRequest{Queue: "left", ID: "bad\x01id", Payload: []byte("x")},
		core.EnqueueRequest{Queue: "bad{queue}", ID: "x", Payload: []byte("x")},
		core.EnqueueRequest{Queue: "left", ID: "left-1", Payload: []byte("new"), CanUpdate: true},
	)
	res, err := b.Enqueue(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1800 {
		if res[i].Err != nil || res[i].Action != core.Added || res[i].ID != reqs[i].ID {
			t.Fatalf("request %d: %+v", i, res[i])
		}
	}
	tail := res[1800:]
	if !errors.Is(tail[0].Err, core.ErrAlreadyQueued) || !errors.Is(tail[1].Err, core.ErrInvalid) || !errors.Is(tail[2].Err, core.ErrInvalid) ||
		tail[3].Err != nil || tail[3].Action != core.Updated {
		t.Fatalf("tail answers %+v", tail)
	}
	for q, want := range map[string]int64{"left": 1200, "right": 600} {
		st, err := b.QueueStats(ctx, q)
		if err != nil || st.Total != want {
			t.Fatalf("%s: %+v %v, want %d", q, st, err, want)
		}
	}
	// FIFO within a queue survives the chunking.
	got, err := b.Dequeue(ctx, core.DequeueParams{Queue: "right", Max: 600, Lock: 60_000_000_000})
	if err != nil {
		t.Fatal(err)
	}
	for j, d := range got.Messages {
		if want := fmt.Sprintf("right-%d", 3*j); d.ID != want {
			t.Fatalf("dequeue %d: %s, want %s", j, d.ID, want)
		}
	}
}
