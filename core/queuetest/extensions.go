package queuetest

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/redghost/redghost/core"
)

// extensionCases are where we go beyond the reference (SEMANTICS §9).
var extensionCases = []testCase{
	{"FencedAck", extFencedAck},
	{"Heartbeat", extHeartbeat},
	{"ExtendExpiredLockNotRetaken", extExtendExpired},
	{"LateAckApplies", extLateAck},
	{"LateAckAfterMaintenance", extLateAckAfterMaintenance},
	{"SpentTokens", extSpentTokens},
	{"BatchDequeueAndAck", extBatch},
	{"BatchAckMixedOutcomes", extBatchMixed},
	{"DueBeforeBacklog", extDueBeforeBacklog},
	{"HeadersSurviveUpdateRetryAndRequeue", extHeaders},
	{"UpdateReplacesHeaders", extUpdateReplacesHeaders},
	{"NextDue", extNextDue},
	{"WaitWakesOnEnqueue", extWaitWakes},
	{"WaitTimesOut", extWaitTimesOut},
	{"WaitHonoursContext", extWaitContext},
	{"WaitWokenBySoonerRetry", extWaitSoonerRetry},
}

// A handler whose lock expired and whose message was taken again cannot
// acknowledge or extend it any more.
func extFencedAck(c *checker) {
	c.add("mid1", "msg1", core.WithHeader("k", "v"))
	lock := 200 * time.Millisecond
	d1 := c.take(lock)
	c.advance(lock + margin)
	d2 := c.take(longLock)
	c.wantDelivery(d2, "mid1", "msg1", 2, longLock)
	if d2.Token <= d1.Token {
		c.Fatalf("second token %d is not above the first %d", d2.Token, d1.Token)
	}

	before := c.dump()
	for _, o := range []core.Outcome{core.OutcomeSuccess, core.OutcomeRetry, core.OutcomeError} {
		c.wantLockLost("stale "+o.String()+" ack", c.ackOne(ackOf(d1, o, 0)))
		c.wantLockLost("stale "+o.String()+" ack with backoff", c.ackOne(ackOf(d1, o, time.Second)))
	}
	c.wantLockLost("stale lock extension", c.extend(core.LockRef{ID: d1.ID, Token: d1.Token, Duration: longLock})[0])
	c.wantUnchanged(before, "a stale ack or extension")

	c.wantStatus("mid1", core.StatusLocked)
	m := c.info("mid1")
	if m.Attempt != 2 || string(m.Payload) != "msg1" {
		c.Fatalf("after stale acks: attempt %d payload %q, want 2 %q", m.Attempt, m.Payload, "msg1")
	}
	if dl := c.deadLetters(c.q, 0, 10); len(dl) != 0 {
		c.Fatalf("a stale error ack left %d dead letters", len(dl))
	}

	c.ack(d2, core.OutcomeSuccess, 0)
	c.wantDoneOrGone("mid1")
}

// Extending the lock keeps a long handler's message; without it the
// message comes back.
func extHeartbeat(c *checker) {
	c.add("mid1", "msg1")
	lock := 400 * time.Millisecond
	d := c.take(lock)
	for i := 0; i < 4; i++ { // 800 ms in all, twice the lock
		c.advance(lock / 2)
		if err := c.extend(core.LockRef{ID: d.ID, Token: d.Token, Duration: lock})[0]; err != nil {
			c.Fatalf("extension %d: %v", i+1, err)
		}
		c.wantStatus("mid1", core.StatusLocked)
		c.nothing()
	}
	if left := c.info("mid1").LockLeft; left <= 0 || left > lock {
		c.Fatalf("LockLeft after an extension: %v, want in (0, %v]", left, lock)
	}

	c.advance(lock + margin)
	c.wantStatus("mid1", core.StatusQueued)
	d2 := c.take(lock)
	c.wantDelivery(d2, "mid1", "msg1", 2, lock)
}

// A lock that expired but whose message nobody took again can still be
// extended.
func extExtendExpired(c *checker) {
	c.add("mid1", "msg1")
	lock := 200 * time.Millisecond
	d := c.take(lock)
	c.advance(lock + margin)
	c.wantStatus("mid1", core.StatusQueued)
	if err := c.extend(core.LockRef{ID: d.ID, Token: d.Token, Duration: longLock})[0]; err != nil {
		c.Fatalf("extension of an expired lock nobody took: %v", err)
	}
	c.wantStatus("mid1", core.StatusLocked)
	c.nothing()
	c.ack(d, core.OutcomeSuccess, 0)
	c.wantDoneOrGone("mid1")
	c.nothing()
	c.wantStatus("mid1", core.StatusNone)
}

// A late ack whose lock expired, but whose message nobody took again, still
// applies.
func extLateAck(c *checker) {
	c.add("mid1", "msg1")
	lock := 200 * time.Millisecond
	d := c.take(lock)
	c.advance(lock + margin)
	c.wantStatus("mid1", core.StatusQueued)
	c.ack(d, core.OutcomeSuccess, 0)
	c.wantDoneOrGone("mid1")
	c.nothing()
	c.wantStatus("mid1", core.StatusNone)
}

// The same, when a dequeue already moved the expired message back to ready
// but took another one.
func extLateAckAfterMaintenance(c *checker) {
	c.add("a", "A")
	c.add("b", "B")
	lock := 200 * time.Millisecond
	ds := c.dequeue(2, lock).Messages
	if len(ds) != 2 {
		c.Fatalf("took %d messages, want 2", len(ds))
	}
	c.advance(lock + margin)
	// Both are due again and go back to the head in order; one is taken.
	da := c.take(longLock)
	c.wantDelivery(da, "a", "A", 2, longLock)
	c.wantStatus("b", core.StatusQueued)
	c.ack(ds[1], core.OutcomeSuccess, 0)
	c.wantDoneOrGone("b")
	c.nothing()
	c.wantStatus("b", core.StatusNone)
	c.wantStatus("a", core.StatusLocked)
}

// A token is spent once its ack applied: the lock is released, so a second
// ack or an extension with it changes nothing.
func extSpentTokens(c *checker) {
	c.add("retried", "r")
	c.add("done", "d")
	c.add("held", "h")
	dr := c.take(longLock)
	dd := c.take(longLock)
	dh := c.take(longLock)
	c.ack(dr, core.OutcomeRetry, 0)
	c.ack(dd, core.OutcomeSuccess, 0)
	c.ack(dh, core.OutcomeSuccess, longLock)

	before := c.dump()
	for _, d := range []core.Delivery{dr, dd, dh} {
		c.wantLockLost("second ack of "+d.ID, c.ackOne(ackOf(d, core.OutcomeSuccess, 0)))
		c.wantLockLost("second error ack of "+d.ID, c.ackOne(ackOf(d, core.OutcomeError, 0)))
		c.wantLockLost("extension after the ack of "+d.ID,
			c.extend(core.LockRef{ID: d.ID, Token: d.Token, Duration: longLock})[0])
	}
	c.wantLockLost("ack of an unknown id", c.ackOne(core.Ack{ID: "unknown", Token: dr.Token}))
	c.wantLockLost("extension of an unknown id", c.extend(core.LockRef{ID: "unknown", Token: dr.Token, Duration: time.Second})[0])
	c.wantUnchanged(before, "a spent token")
	c.wantStatus("retried", core.StatusQueued)
	c.wantStatus("held", core.StatusDoneWithBackoff)
	if dl := c.deadLetters(c.q, 0, 10); len(dl) != 0 {
		c.Fatalf("a spent error ack left %d dead letters", len(dl))
	}

	d2 := c.take(longLock)
	c.wantDelivery(d2, "retried", "r", 2, longLock)
	c.wantLockLost("ack with the token of another handling", c.ackOne(core.Ack{ID: "retried", Token: dr.Token}))
	c.wantLockLost("ack with token 0", c.ackOne(core.Ack{ID: "retried", Token: 0}))
	c.wantStatus("retried", core.StatusLocked)
}

// One dequeue takes several ready messages in order; one ack call applies
// several outcomes.
func extBatch(c *checker) {
	var reqs []core.EnqueueRequest
	ids := []string{"m1", "m2", "m3", "m4", "m5"}
	for _, id := range ids {
		reqs = append(reqs, c.req(id, "payload-"+id))
	}
	for _, r := range c.enqueueAll(reqs...) {
		c.wantAction(r, core.Added)
	}
	c.wantStats(c.q, core.QueueStats{Queued: 5, Total: 5})

	first := c.dequeue(3, longLock).Messages
	if got := idsOf(first); !slices.Equal(got, ids[:3]) {
		c.Fatalf("first batch: got %q, want %q", got, ids[:3])
	}
	rest := c.dequeue(10, longLock).Messages
	if got := idsOf(rest); !slices.Equal(got, ids[3:]) {
		c.Fatalf("second batch: got %q, want %q", got, ids[3:])
	}
	all := append(first, rest...)
	for i, d := range all {
		c.wantDelivery(d, ids[i], "payload-"+ids[i], 1, longLock)
	}
	c.wantStats(c.q, core.QueueStats{Locked: 5, Total: 5})

	var acks []core.Ack
	for _, d := range all {
		acks = append(acks, ackOf(d, core.OutcomeSuccess, 0))
	}
	for i, err := range c.acks(acks...) {
		if err != nil {
			c.Fatalf("batch ack %d: %v", i, err)
		}
	}
	c.nothing()
	c.wantStats(c.q, core.QueueStats{})
}

// A batch ack applies each outcome to its own message.
func extBatchMixed(c *checker) {
	for _, id := range []string{"ok", "retry", "fail", "held"} {
		c.add(id, id)
	}
	ds := c.dequeue(4, longLock).Messages
	if len(ds) != 4 {
		c.Fatalf("got %d messages, want 4", len(ds))
	}
	errs := c.acks(
		ackOf(ds[0], core.OutcomeSuccess, 0),
		ackOf(ds[1], core.OutcomeRetry, 0),
		ackOf(ds[2], core.OutcomeError, 0),
		ackOf(ds[3], core.OutcomeSuccess, longLock),
	)
	for i, err := range errs {
		if err != nil {
			c.Fatalf("ack %d: %v", i, err)
		}
	}
	c.wantDoneOrGone("ok")
	c.wantStatus("retry", core.StatusQueued)
	c.wantDoneOrGone("fail")
	c.wantStatus("held", core.StatusDoneWithBackoff)
	dl := c.deadLetters(c.q, 0, 10)
	if len(dl) != 1 || dl[0].ID != "fail" {
		c.Fatalf("dead letters: got %v, want one of %q", dl, "fail")
	}
	d := c.take(longLock)
	c.wantDelivery(d, "retry", "retry", 2, longLock)
	c.wantStatus("ok", core.StatusNone)
	c.wantStatus("fail", core.StatusNone)
}

// A message that becomes due again (its delay or backoff passed, or its
// handler's lock expired) goes to the head of the queue: it is handled
// next, not behind the backlog that arrived meanwhile. Due messages keep
// their due order among themselves.
func extDueBeforeBacklog(c *checker) {
	c.add("late", "late", core.WithDelay(longLock))
	c.add("now", "now")
	if got := idsOf(c.dequeue(10, longLock).Messages); !slices.Equal(got, []string{"now"}) {
		c.Fatalf("got %q, want only the ready message", got)
	}

	c.add("a", "a", core.WithDelay(100*time.Millisecond))
	c.add("b", "b")
	c.add("c", "c")
	c.advance(100*time.Millisecond + margin)
	if got := idsOf(c.dequeue(10, longLock).Messages); !slices.Equal(got, []string{"a", "b", "c"}) {
		c.Fatalf("got %q, want [a b c]: the delayed one that is due first, then the backlog", got)
	}
	c.wantStatus("late", core.StatusQueuedWithBackoff)

	// A crashed handler's message comes back ahead of the backlog.
	lock := 200 * time.Millisecond
	c.add("crashed", "crashed")
	d := c.take(lock)
	for _, id := range []string{"x1", "x2", "x3"} {
		c.add(id, id)
	}
	c.advance(lock + margin)
	again := c.dequeue(1, longLock).Messages
	if len(again) != 1 {
		c.Fatalf("took %d messages, want the crashed one", len(again))
	}
	c.wantDelivery(again[0], d.ID, "crashed", 2, longLock)

	// A retried message whose backoff passed comes back ahead too.
	c.ack(again[0], core.OutcomeRetry, 100*time.Millisecond)
	c.advance(100*time.Millisecond + margin)
	if got := idsOf(c.dequeue(10, longLock).Messages); !slices.Equal(got, []string{"crashed", "x1", "x2", "x3"}) {
		c.Fatalf("got %q, want the retried message first, then the backlog", got)
	}
}

// Headers travel with the message through update, retry and requeue.
func extHeaders(c *checker) {
	h1 := map[string]string{"traceparent": "t1", "k": "v"}
	h2 := map[string]string{"traceparent": "t2"}
	h3 := map[string]string{"traceparent": "t3", "x": ""}

	c.add("mid1", "a", core.WithHeaders(h1))
	c.wantHeaders("content", c.info("mid1").Headers, h1)
	c.wantAction(c.enq("mid1", "b", core.WithUpdate(), core.WithHeaders(h2)), core.Updated)
	d := c.take(longLock)
	c.wantHeaders("updated message", d.Headers, h2)

	c.ack(d, core.OutcomeRetry, 0)
	d = c.take(longLock)
	c.wantDelivery(d, "mid1", "b", 2, longLock)
	c.wantHeaders("retried message", d.Headers, h2)

	c.add("mid1", "c", core.WithRequeue(), core.WithHeaders(h3))
	c.wantHeaders("content while the requeue is pending", c.info("mid1").Headers, h2)
	c.ack(d, core.OutcomeSuccess, 0)
	d = c.take(longLock)
	c.wantDelivery(d, "mid1", "c", 1, longLock)
	c.wantHeaders("requeued message", d.Headers, h3)
}

// The content of a message is its payload and its headers: an update
// replaces both.
func extUpdateReplacesHeaders(c *checker) {
	c.add("mid1", "a", core.WithHeader("k", "v"))
	c.wantAction(c.enq("mid1", "b", core.WithUpdate()), core.Updated)
	d := c.take(longLock)
	c.wantDelivery(d, "mid1", "b", 1, longLock)
	c.wantHeaders("message updated without headers", d.Headers, nil)
}

// NextDue tells a worker how long it may sleep.
func extNextDue(c *checker) {
	delay := 500 * time.Millisecond
	c.add("mid1", "msg1", core.WithDelay(delay))
	res := c.nothing()
	if res.NextDue <= 0 || res.NextDue > delay {
		c.Fatalf("NextDue with a message delayed by %v: %v, want in (0, %v]", delay, res.NextDue, delay)
	}
}

// Wait returns soon after an enqueue makes a message ready.
func extWaitWakes(c *checker) {
	done := make(chan error, 1)
	go func() { done <- c.b().Wait(c.ctx, c.q, 30*time.Second) }()
	time.Sleep(50 * time.Millisecond) // let Wait block (an early return is allowed)
	c.add("mid1", "msg1")
	select {
	case err := <-done:
		if err != nil {
			c.Fatalf("Wait: %v", err)
		}
	case <-time.After(5 * time.Second):
		c.Fatal("Wait did not return within 5s of an enqueue")
	}
	c.take(longLock)
}

// Wait on an empty queue returns by its timeout, without an error.
func extWaitTimesOut(c *checker) {
	start := time.Now()
	if err := c.b().Wait(c.ctx, c.q, 100*time.Millisecond); err != nil {
		c.Fatalf("Wait: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		c.Fatalf("Wait(100ms) took %v", took)
	}
}

// Wait returns soon after an ack schedules a retry before everything else
// pending: the waiter's timeout was set by what was pending before.
func extWaitSoonerRetry(c *checker) {
	c.add("mid1", "msg1")
	d := c.take(longLock)
	done := make(chan error, 1)
	go func() { done <- c.b().Wait(c.ctx, c.q, 30*time.Second) }()
	time.Sleep(50 * time.Millisecond) // let Wait block
	select {
	case err := <-done:
		// A spurious wake (allowed): wait again.
		if err != nil {
			c.Fatalf("Wait: %v", err)
		}
		go func() { done <- c.b().Wait(c.ctx, c.q, 30*time.Second) }()
		time.Sleep(50 * time.Millisecond)
	default:
	}
	c.ack(d, core.OutcomeRetry, 2*time.Second) // before the lock would have expired
	select {
	case err := <-done:
		if err != nil {
			c.Fatalf("Wait: %v", err)
		}
	case <-time.After(5 * time.Second):
		c.Fatal("Wait did not return within 5s of an ack that scheduled a retry sooner than the lock's expiry")
	}
}

// Wait returns the context's error when it is done.
func extWaitContext(c *checker) {
	ctx, cancel := context.WithCancel(c.ctx)
	done := make(chan error, 1)
	go func() {
		for { // a spurious wake is allowed: wait again
			err := c.b().Wait(ctx, c.q, 30*time.Second)
			if err == nil && ctx.Err() != nil {
				// Woken just as the context ended: a Wait on a done
				// context must answer its error.
				err = c.b().Wait(ctx, c.q, 30*time.Second)
			}
			if err != nil || ctx.Err() != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			c.Fatalf("Wait after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		c.Fatal("Wait did not return within 5s of its context's cancel")
	}
}
