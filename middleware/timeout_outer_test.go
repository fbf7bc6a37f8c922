package middleware_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
)

// By default, the middleware outside Timeout sees an abandoned handling's
// retry at the deadline, on a worker as anywhere: here Retry's attempt
// limit ends a message whose handler hangs, ignoring its context, after
// two attempts, and turns it into a dead letter while both handlers still
// hang. Were the retry answered to the worker past Retry, the message
// would be handled again and again until the bound on abandoned handlers.
func TestTimeoutOuterMiddlewareSeesAbandonment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := mustMem(t)
	q := core.NewQueue(b, "hang")
	release := make(chan struct{})
	defer close(release)
	var started atomic.Int64
	h := middleware.Chain(
		mustRetry(t, middleware.WithRetryMaxAttempts(2), middleware.WithRetryBackoff(time.Millisecond, time.Millisecond)),
		mustTimeout(t, 30*time.Millisecond, middleware.WithTimeoutGrace(10*time.Millisecond), middleware.WithTimeoutMaxAbandoned(20)),
	)(handlerFunc(func(context.Context, *core.Message) core.Result {
		started.Add(1)
		<-release // ignores its context
		return core.Success()
	}))
	w := runWorker(t, q, h, core.WithMaxWait(2*time.Millisecond))
	if _, err := core.NewPublisher(b).Enqueue(ctx, q.Name(), []byte("x"), core.WithID("hang")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a dead letter", 5*time.Second, func() bool { return w.Stats().Error == 1 })
	// No third handling, ever: once the worker has stopped, every handling
	// it took has gone through the chain, and nothing is left to take.
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := q.Stats(ctx); err != nil || st.Queued+st.Backoff+st.Locked != 0 || st.Dead != 1 {
		t.Fatalf("queue %+v (%v), want only the dead letter", st, err)
	}
	if n := started.Load(); n != 2 {
		t.Fatalf("the handler started %d times, want 2 (Retry's limit)", n)
	}
	if st := w.Stats(); st.Retry != 1 {
		t.Fatalf("%d retries acknowledged, want 1", st.Retry)
	}
}
