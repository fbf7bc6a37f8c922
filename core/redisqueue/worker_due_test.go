package redisqueue

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// An idle worker on Redis handles a message again within a few
// milliseconds of its retry's due time, and a delayed message within a
// few milliseconds of its delay, not at the end of its max wait (a second
// by default): the ack and the enqueue wake its wait, it reads NextDue, and
// sleeps the short rest of the wait itself, as the server's BLPOP timeout
// would end up to 100 ms late.
func TestWorkerHandlesRetryAndDelayOnTime(t *testing.T) {
	t.Parallel()
	b, _, _ := newEnv(t)
	const backoff = 20 * time.Millisecond
	const bound = 250 * time.Millisecond // generous for a loaded CI; the max wait is 1s
	type handling struct {
		id      string
		attempt int
		at      time.Time
	}
	handled := make(chan handling, 10)
	w, err := core.NewWorker(core.NewQueue(b, "q"), core.HandlerFunc(func(_ context.Context, m *core.Message) core.Result {
		handled <- handling{m.ID, m.Attempt, time.Now()}
		if m.ID == "retried" && m.Attempt < 4 {
			return core.Retry(backoff)
		}
		return core.Success()
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	next := func(id string, attempt int) time.Time {
		t.Helper()
		select {
		case h := <-handled:
			if h.id != id || h.attempt != attempt {
				t.Fatalf("handled %s attempt %d, want %s attempt %d", h.id, h.attempt, id, attempt)
			}
			return h.at
		case <-time.After(10 * time.Second):
			t.Fatalf("%s attempt %d not handled within 10s", id, attempt)
		}
		panic("unreachable")
	}
	// idle waits until the worker has gone back to waiting.
	idle := func() {
		t.Helper()
		sleeps := w.Stats().Sleeps
		waitFor(t, "the worker to wait", func() bool { return w.Stats().Sleeps > sleeps })
		time.Sleep(50 * time.Millisecond) // and is blocked in it
	}

	idle()
	enqueue(t, b, "q", "retried")
	last := next("retried", 1)
	for attempt := 2; attempt <= 4; attempt++ {
		at := next("retried", attempt)
		t.Logf("attempt %d handled %v after the Retry(%v)", attempt, at.Sub(last), backoff)
		if gap := at.Sub(last); gap < backoff || gap > backoff+bound {
			t.Errorf("attempt %d handled %v after the Retry(%v) of attempt %d, want %v to %v",
				attempt, gap, backoff, attempt-1, backoff, backoff+bound)
		}
		last = at
	}

	const delay = 50 * time.Millisecond
	idle()
	sent := time.Now()
	if res, err := b.Enqueue(context.Background(), []core.EnqueueRequest{{Queue: "q", ID: "delayed", Delay: delay}}); err != nil || res[0].Err != nil {
		t.Fatal(fmt.Sprint(res, err))
	}
	gap := next("delayed", 1).Sub(sent)
	t.Logf("a message delayed by %v handled after %v", delay, gap)
	if gap < delay || gap > delay+bound {
		t.Errorf("a message delayed by %v handled after %v, want %v to %v", delay, gap, delay, delay+bound)
	}
}
