package core_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
)

// Pausing a queue stops every worker, in every process, from taking its
// messages within one wait cycle; enqueues still succeed. The pause is
// stored in the backend until Resume.
func ExampleQueue_Pause() {
	ctx := context.Background()
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	q := core.NewQueue(b, "reports")
	if err := q.Pause(ctx); err != nil {
		log.Fatal(err)
	}
	_, err = core.NewPublisher(b).Enqueue(ctx, "reports", []byte("daily"))
	fmt.Println("enqueue while paused:", err)
	st, _ := q.Stats(ctx)
	fmt.Println("paused:", st.Paused, "queued:", st.Queued)

	handled := make(chan string)
	w, err := core.NewWorker(q, core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		handled <- string(m.Payload)
		return core.Success()
	}), core.WithMaxWait(50*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		log.Fatal(err)
	}
	select {
	case p := <-handled:
		fmt.Println("handled while paused:", p)
	case <-time.After(200 * time.Millisecond):
		fmt.Println("nothing handled while paused")
	}
	if err := q.Resume(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("handled after resume:", <-handled)
	_ = w.Stop(ctx)
	// Output:
	// enqueue while paused: <nil>
	// paused: true queued: 1
	// nothing handled while paused
	// handled after resume: daily
}

// Cancelling a message that a handler holds cancels the handler's context
// at the worker's next heartbeat, with cause core.ErrCanceled; the message
// is then done, not retried. A queued message is simply removed.
func ExampleQueue_Cancel() {
	ctx := context.Background()
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	q := core.NewQueue(b, "exports")
	pub := core.NewPublisher(b)

	started, ended := make(chan struct{}), make(chan struct{})
	w, err := core.NewWorker(q, core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		close(started)
		<-ctx.Done()
		fmt.Println("handler stopped:", errors.Is(context.Cause(ctx), core.ErrCanceled))
		close(ended)
		return core.RetryErr(0, ctx.Err()) // a retry of a cancelled message ends it
	}), core.WithHeartbeat(50*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := pub.Enqueue(ctx, "exports", []byte("big"), core.WithID("export-1")); err != nil {
		log.Fatal(err)
	}
	<-started
	st, err := q.Cancel(ctx, "export-1")
	fmt.Println("cancelled while", st, err)
	<-ended
	_ = w.Stop(ctx)
	st, _ = q.MessageStatus(ctx, "export-1")
	fmt.Println("then:", st, "- canceled handlings:", w.Stats().Canceled)

	_, _ = pub.Enqueue(ctx, "exports", []byte("small"), core.WithID("export-2"))
	st, _ = q.Cancel(ctx, "export-2")
	fmt.Println("cancelled while", st)
	st, _ = q.MessageStatus(ctx, "export-2")
	fmt.Println("then:", st)
	// Output:
	// cancelled while locked <nil>
	// handler stopped: true
	// then: none - canceled handlings: 1
	// cancelled while queued
	// then: none
}

// A message may carry its own attempt bound and handling timeout; the
// Retry and Timeout middleware honour them over their defaults. They are
// stored with the content: an update or requeue copy has those of its own
// enqueue.
func ExampleWithMaxAttempts() {
	ctx := context.Background()
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	pub := core.NewPublisher(b)
	_, err = pub.Enqueue(ctx, "webhooks", []byte(`{"url":"..."}`),
		core.WithMaxAttempts(3), core.WithHandlingTimeout(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	res, err := b.Dequeue(ctx, core.DequeueParams{Queue: "webhooks", Max: 1, Lock: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	m := res.Messages[0]
	fmt.Println("max attempts:", m.MaxAttempts, "timeout:", m.Timeout)

	_, err = pub.Enqueue(ctx, "webhooks", nil, core.WithMaxAttempts(0))
	fmt.Println(err)
	// Output:
	// max attempts: 3 timeout: 5s
	// redghost: queue "webhooks": invalid max attempts: must be positive, got 0 (leave WithMaxAttempts out for none)
}

// Every running worker registers itself in its backend, refreshed by its
// heartbeat; Workers lists them, for an operator or a dashboard. A worker
// that stops refreshing (a crashed process) drops out when its
// registration expires.
func ExampleWorkerInfo() {
	ctx := context.Background()
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	w, err := core.NewWorker(core.NewQueue(b, "emails"), core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		return core.Success()
	}), core.WithConcurrency(4))
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		log.Fatal(err)
	}
	var ws []core.WorkerInfo
	for len(ws) == 0 { // the first registration goes out as the worker starts
		if ws, err = b.Workers(ctx); err != nil {
			log.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	for _, info := range ws {
		fmt.Println(info.Queues, "concurrency", info.Concurrency, "in flight", info.InFlight)
	}
	_ = w.Stop(ctx)
	ws, _ = b.Workers(ctx)
	fmt.Println("after Stop:", len(ws))
	// Output:
	// [emails] concurrency 4 in flight 0
	// after Stop: 0
}
