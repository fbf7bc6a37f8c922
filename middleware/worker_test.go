package middleware_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/queuetest"
	"github.com/redghost/redghost/middleware"
)

// Retry's backoffs reach the queue: on a backend with a manual clock the
// message waits exactly its backoff, and after the last attempt it is a
// dead letter. No real waiting beyond the worker's polling.
func TestRetryOnAWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := queuetest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := mustMem(t, memqueue.WithClock(clk))
	q := core.NewQueue(b, "retry-worker")

	attempts := make(chan int, 10)
	h := mustRetry(t,
		middleware.WithRetryMaxAttempts(3),
		middleware.WithRetryBackoff(time.Minute, time.Hour),
		middleware.WithRetryJitter(top), // the top of the jitter: 1m, then 2m
	)(handlerFunc(func(_ context.Context, m *core.Message) core.Result {
		attempts <- m.Attempt
		return core.RetryErr(0, errors.New("smtp 451"))
	}))
	w := mustWorker(t, q, h, core.WithMaxWait(2*time.Millisecond), core.WithLogger(quietLogger), core.WithClock(clk))
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := w.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	if _, err := core.NewPublisher(b).Enqueue(ctx, q.Name(), []byte("mail"), core.WithID("m")); err != nil {
		t.Fatal(err)
	}

	status := func() core.Status {
		s, err := q.MessageStatus(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	quiet := func(what string) {
		t.Helper()
		select {
		case a := <-attempts:
			t.Fatalf("%s: handled (attempt %d) before its backoff", what, a)
		case <-time.After(30 * time.Millisecond):
		}
	}

	if a := within(t, 5*time.Second, attempts, "attempt 1"); a != 1 {
		t.Fatalf("attempt %d", a)
	}
	waitFor(t, "the backoff", 5*time.Second, func() bool { return status() == core.StatusQueuedWithBackoff })
	clk.Advance(time.Minute - time.Second)
	quiet("1m backoff")
	clk.Advance(time.Second)
	if a := within(t, 5*time.Second, attempts, "attempt 2"); a != 2 {
		t.Fatalf("attempt %d", a)
	}
	waitFor(t, "the backoff", 5*time.Second, func() bool { return status() == core.StatusQueuedWithBackoff })
	clk.Advance(2*time.Minute - time.Second)
	quiet("2m backoff")
	clk.Advance(time.Second)
	if a := within(t, 5*time.Second, attempts, "attempt 3"); a != 3 {
		t.Fatalf("attempt %d", a)
	}

	var dead []core.DeadLetter
	waitFor(t, "the dead letter", 5*time.Second, func() bool {
		var err error
		dead, err = q.DeadLetters(ctx, 0, 10)
		return err == nil && len(dead) == 1
	})
	if d := dead[0]; d.ID != "m" || string(d.Payload) != "mail" || d.Attempt != 3 ||
		d.Error != "redghost: retries exhausted after 3 attempts: smtp 451" {
		t.Fatalf("dead letter %+v", d)
	}
}
