package core_test

import (
	"context"
	"fmt"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
)

// A middleware gives up on a handler that is stuck: the worker answers
// the retry at once and goes on with its other messages, while the stuck
// handler runs on; its late answer is dropped. (middleware.Timeout does
// this at the deadline plus a grace.)
func ExampleHandling_Abandon() {
	b, err := memqueue.New()
	if err != nil {
		panic(err)
	}
	q := core.NewQueue(b, "reports")
	stuck, release, done := make(chan *core.Handling, 1), make(chan struct{}), make(chan struct{})
	handled := make(chan struct{}, 2)
	h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		if m.ID == "stuck" && m.Attempt == 1 {
			stuck <- core.HandlingOf(ctx) // nil outside a worker or pool
			<-release
			defer close(done)
			return core.Fail(fmt.Errorf("too late"))
		}
		handled <- struct{}{}
		return core.Success()
	})
	w, err := core.NewWorker(q, h, core.WithConcurrency(1), core.WithMaxWait(10*time.Millisecond))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, id := range []string{"stuck", "next"} {
		if _, err := core.NewPublisher(b).Enqueue(ctx, q.Name(), nil, core.WithID(id)); err != nil {
			panic(err)
		}
	}
	if err := w.Start(ctx); err != nil {
		panic(err)
	}
	hd := <-stuck
	fmt.Println("abandoned:", hd.Abandon(core.Retry(0)))
	<-handled // "next", and "stuck" handled again
	<-handled
	// Stop waits for their answers, not for the stuck handler.
	if err := w.Stop(ctx); err != nil {
		panic(err)
	}
	close(release)
	<-done
	st := w.Stats()
	fmt.Println("success:", st.Success, "retry:", st.Retry, "error:", st.Error)
	// Output:
	// abandoned: true
	// success: 2 retry: 1 error: 0
}
