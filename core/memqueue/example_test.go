package memqueue_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/queuetest"
)

// The backend calls a worker makes: take a batch, handle it, acknowledge.
func Example() {
	ctx := context.Background()
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}

	res, _ := b.Enqueue(ctx, []core.EnqueueRequest{
		{Queue: "mail", ID: "welcome-42", Payload: []byte("hello 42")},
		{Queue: "mail", ID: "welcome-43", Payload: []byte("hello 43")},
	})
	fmt.Println(res[0].Action, res[1].Action)

	batch, _ := b.Dequeue(ctx, core.DequeueParams{Queue: "mail", Max: 10, Lock: time.Minute})
	var acks []core.Ack
	for _, d := range batch.Messages {
		fmt.Printf("%s: %s (attempt %d)\n", d.ID, d.Payload, d.Attempt)
		acks = append(acks, core.Ack{ID: d.ID, Token: d.Token, Outcome: core.OutcomeSuccess})
	}
	errs, _ := b.Ack(ctx, "mail", acks)
	fmt.Println(errs)

	s, _ := b.MessageStatus(ctx, "mail", "welcome-42")
	fmt.Println(s)
	// Output:
	// added added
	// welcome-42: hello 42 (attempt 1)
	// welcome-43: hello 43 (attempt 1)
	// [<nil> <nil>]
	// none
}

// An id de-duplicates: a second enqueue is refused unless it may update.
func Example_deduplication() {
	ctx := context.Background()
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	enqueue := func(payload string, opts ...core.EnqueueOption) {
		r := core.EnqueueRequest{Queue: "reports", ID: "daily", Payload: []byte(payload)}
		for _, o := range opts {
			o(&r)
		}
		res, _ := b.Enqueue(ctx, []core.EnqueueRequest{r})
		if errors.Is(res[0].Err, core.ErrAlreadyQueued) {
			fmt.Println("already queued")
			return
		}
		fmt.Println(res[0].Action)
	}
	enqueue("v1")
	enqueue("v2")
	enqueue("v3", core.WithUpdate())

	batch, _ := b.Dequeue(ctx, core.DequeueParams{Queue: "reports", Max: 10, Lock: time.Minute})
	fmt.Printf("%d message: %s\n", len(batch.Messages), batch.Messages[0].Payload)
	// Output:
	// added
	// already queued
	// updated
	// 1 message: v3
}

// A manual clock makes delays, locks and backoffs testable without sleeping.
func Example_manualClock() {
	ctx := context.Background()
	clock := queuetest.NewManualClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	b, err := memqueue.New(memqueue.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}

	b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", ID: "later", Delay: time.Minute}})
	batch, _ := b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 1, Lock: time.Second})
	fmt.Println(len(batch.Messages), "messages, next due in", batch.NextDue)

	clock.Advance(time.Minute)
	batch, _ = b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 1, Lock: time.Second})
	fmt.Println(batch.Messages[0].ID, "locked for", batch.Messages[0].LockDuration)

	clock.Advance(2 * time.Second) // the handler never answered: the lock expired
	batch, _ = b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 1, Lock: time.Second})
	fmt.Println(batch.Messages[0].ID, "attempt", batch.Messages[0].Attempt)
	// Output:
	// 0 messages, next due in 1m0s
	// later locked for 1s
	// later attempt 2
}

// An error outcome keeps a dead letter, which can be requeued.
func Example_deadLetters() {
	ctx := context.Background()
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", ID: "m1", Payload: []byte("bad input")}})
	batch, _ := b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 1, Lock: time.Minute})
	d := batch.Messages[0]
	b.Ack(ctx, "q", []core.Ack{{ID: d.ID, Token: d.Token, Outcome: core.OutcomeError, Error: "cannot parse"}})

	dead, _ := b.DeadLetters(ctx, "q", 0, 10)
	fmt.Printf("%s: %s (%s)\n", dead[0].ID, dead[0].Payload, dead[0].Error)

	n, _ := b.RequeueDeadLetters(ctx, "q")
	batch, _ = b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 1, Lock: time.Minute})
	fmt.Println(n, "requeued;", batch.Messages[0].ID, "attempt", batch.Messages[0].Attempt)
	// Output:
	// m1: bad input (cannot parse)
	// 1 requeued; m1 attempt 1
}
