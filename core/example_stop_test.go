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

// A handler that honours its context: it stops when the worker stops past
// its deadline, or when its lock is lost (context.Cause is ErrLockLost),
// and answers a retry. Stop acknowledges that retry (within the stop
// grace) before it returns its deadline's error.
func ExampleWorker_Stop() {
	ctx := context.Background()
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	q := core.NewQueue(b, "reports")
	_, _ = core.NewPublisher(b).Enqueue(ctx, q.Name(), []byte("q3"), core.WithID("report-q3"))

	started := make(chan struct{})
	h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		close(started)
		select {
		case <-time.After(time.Hour): // a long report
			return core.Success()
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), core.ErrLockLost) {
				return core.Retry(0) // another worker has it; this answer is dropped
			}
			return core.Retry(time.Minute) // shutting down: again in a minute
		}
	})
	w, err := core.NewWorker(q, h, core.WithStopGrace(2*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		log.Fatal(err)
	}
	<-started

	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	fmt.Println("stop:", w.Stop(sctx))
	st, _ := q.MessageStatus(ctx, "report-q3")
	fmt.Println("report-q3:", st)
	// Output:
	// stop: context deadline exceeded
	// report-q3: queued-with-backoff
}
