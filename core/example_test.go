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

// A publisher enqueues to any queue by name; a worker bound to one queue
// handles it. Here on the in-memory backend; core/redisqueue is the same
// with a Redis client.
func Example() {
	ctx := context.Background()
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}

	type Email struct{ UserID, Body string }
	pub := core.NewPublisher(b)
	res, _ := pub.Publish(ctx, "users.email", Email{UserID: "abc", Body: "hi!"}, core.WithID("welcome-abc"))
	fmt.Println(res.ID, res.Action)

	done := make(chan struct{})
	h := core.Typed(func(ctx context.Context, e Email) core.Result {
		fmt.Printf("to %s: %s (attempt %d)\n", e.UserID, e.Body, core.MessageFrom(ctx).Attempt)
		close(done)
		return core.Success()
	})
	w, err := core.NewWorker(core.NewQueue(b, "users.email"), h)
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		log.Fatal(err)
	}
	<-done
	_ = w.Stop(ctx)
	// Output:
	// welcome-abc added
	// to abc: hi! (attempt 1)
}

// Enqueueing an id that is already waiting is refused unless the enqueue
// may update it; refusals are errors.Is-able answers that lose nothing.
func Example_deduplication() {
	ctx := context.Background()
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	pub := core.NewPublisher(b)

	_, err = pub.Enqueue(ctx, "reports", []byte("v1"), core.WithID("daily"))
	fmt.Println(err)
	_, err = pub.Enqueue(ctx, "reports", []byte("v2"), core.WithID("daily"))
	fmt.Println(errors.Is(err, core.ErrAlreadyQueued))
	res, _ := pub.Enqueue(ctx, "reports", []byte("v3"), core.WithID("daily"), core.WithUpdate())
	fmt.Println(res.Action)
	// Output:
	// <nil>
	// true
	// updated
}

// A handler answers success, retry (optionally with a backoff) or error.
func ExampleResult() {
	fmt.Println(core.Success())
	fmt.Println(core.SuccessWithBackoff(time.Minute))
	fmt.Println(core.Retry(2 * time.Second))
	fmt.Println(core.Fail(errors.New("mailbox full")))
	// Output:
	// success
	// success (backoff 1m0s)
	// retry (backoff 2s)
	// error: mailbox full
}

// Class names an enqueue answer in a fixed set, for metric labels.
func ExampleEnqueueResult_Class() {
	ctx := context.Background()
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	pub := core.NewPublisher(b)
	first, _ := pub.Enqueue(ctx, "jobs", []byte("a"), core.WithID("x"))
	again, _ := pub.Enqueue(ctx, "jobs", []byte("b"), core.WithID("x"))
	bad, _ := pub.Enqueue(ctx, "bad{name}", []byte("c"))
	fmt.Println(first.Class(), again.Class(), bad.Class(), core.IsRefusal(again.Err))
	// Output:
	// added already_queued invalid true
}

// Configuration is checked once, when the worker is built: a bad option is
// an *InvalidError naming it, never a panic and never a late surprise.
func ExampleNewWorker_invalidOption() {
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	h := core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.Success() })
	_, err = core.NewWorker(core.NewQueue(b, "emails"), h, core.WithConcurrency(0))
	var ie *core.InvalidError
	fmt.Println(errors.As(err, &ie), ie.Field)
	fmt.Println(err)
	// Output:
	// true WithConcurrency
	// redghost: invalid WithConcurrency: must be at least 1, got 0
}

// A worker starts once: a second Start is ErrStarted, and a stopped worker
// is closed for good.
func ExampleWorker_Start() {
	ctx := context.Background()
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	h := core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.Success() })
	w, err := core.NewWorker(core.NewQueue(b, "emails"), h)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.Start(ctx))
	fmt.Println(errors.Is(w.Start(ctx), core.ErrStarted))
	fmt.Println(w.Stop(ctx))
	fmt.Println(errors.Is(w.Start(ctx), core.ErrClosed))
	// Output:
	// <nil>
	// true
	// <nil>
	// true
}
