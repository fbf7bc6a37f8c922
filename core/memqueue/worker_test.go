package memqueue

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/queuetest"
)

// A worker on a manual clock wakes when the clock passes a retry's or a
// delayed message's due time: its idle wait ends then, not at its max
// wait (a day here), and no real time needs to pass.
func TestWorkerWakesAtDueTimeOnManualClock(t *testing.T) {
	t.Parallel()
	clock := queuetest.NewManualClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	b, err := New(WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	handled := make(chan string, 10)
	h := core.HandlerFunc(func(_ context.Context, m *core.Message) core.Result {
		handled <- fmt.Sprintf("%s#%d", m.ID, m.Attempt)
		if m.ID == "retried" && m.Attempt == 1 {
			return core.Retry(time.Hour)
		}
		return core.Success()
	})
	w, err := core.NewWorker(core.NewQueue(b, "q"), h, core.WithMaxWait(24*time.Hour), core.WithDefaultLockDuration(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	want := func(what string) {
		t.Helper()
		select {
		case got := <-handled:
			if got != what {
				t.Fatalf("handled %s, want %s", got, what)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s not handled within 5s", what)
		}
	}
	// waiting waits until the worker waits again after msg reached want.
	waiting := func(id string, want core.Status) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			s, err := b.MessageStatus(context.Background(), "q", id)
			if err != nil {
				t.Fatal(err)
			}
			b.mu.Lock()
			n := 0
			if wt := b.waiters["q"]; wt != nil {
				n = wt.n
			}
			b.mu.Unlock()
			// A wake deletes the waiter under the lock the ack holds, so
			// one seen after the ack was made after it.
			if s == want && n > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the worker is not waiting with %s %v (it is %v)", id, want, s)
			}
			time.Sleep(time.Millisecond)
		}
	}
	nothing := func() {
		t.Helper()
		select {
		case got := <-handled:
			t.Fatalf("handled %s before its due time", got)
		case <-time.After(20 * time.Millisecond):
		}
	}

	mustEnqueue(t, b, core.EnqueueRequest{Queue: "q", ID: "retried"})
	want("retried#1")
	waiting("retried", core.StatusQueuedWithBackoff)
	clock.Advance(time.Hour - time.Millisecond)
	nothing()
	clock.Advance(time.Millisecond)
	want("retried#2")

	mustEnqueue(t, b, core.EnqueueRequest{Queue: "q", ID: "delayed", Delay: 30 * time.Minute})
	waiting("delayed", core.StatusQueuedWithBackoff)
	clock.Advance(30*time.Minute - time.Millisecond)
	nothing()
	clock.Advance(time.Millisecond)
	want("delayed#1")
}
