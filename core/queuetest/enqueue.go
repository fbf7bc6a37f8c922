package queuetest

import (
	"time"

	"github.com/redghost/redghost/core"
)

// enqueueCases walk the enqueue table of SEMANTICS §3 beyond the
// reference's own cases.
var enqueueCases = []testCase{
	{"FreshIDs", enqFreshIDs},
	{"SeveralQueuesInOneCall", enqSeveralQueues},
	{"QueuedIgnoresRequeue", enqQueuedIgnoresRequeue},
	{"ResetDelayOnly", enqResetDelayOnly},
	{"UpdateKeepsDelay", enqUpdateKeepsDelay},
	{"UpdateWithResetDelay", enqUpdateWithResetDelay},
	{"UpdateReplacesLockDuration", enqUpdateReplacesLock},
	{"DoneAwaitingGC", enqDoneAwaitingGC},
	{"DoneWithBackoffRequeueUpdate", enqDoneWithBackoffUpdate},
	{"BackendCopiesBuffers", enqCopiesBuffers},
	{"EmptyPayload", enqEmptyPayload},
}

// An empty id gets a fresh one.
func enqFreshIDs(c *checker) {
	res := c.enqueueAll(c.req("", "a"), c.req("", "b"))
	for _, r := range res {
		c.wantAction(r, core.Added)
		if r.ID == "" {
			c.Fatal("an enqueue without an id answered no id")
		}
		c.wantStatus(r.ID, core.StatusQueued)
	}
	if res[0].ID == res[1].ID {
		c.Fatalf("two enqueues without id got the same id %q", res[0].ID)
	}
	d := c.take(longLock)
	c.wantDelivery(d, res[0].ID, "a", 1, longLock)
}

// One enqueue call may hold several queues.
func enqSeveralQueues(c *checker) {
	qa, qb := c.queue("a"), c.queue("b")
	res := c.enqueueAll(reqTo(qa, "m", "in a"), reqTo(qb, "m", "in b"), reqTo(qa, "m", "dup"))
	c.wantAction(res[0], core.Added)
	c.wantAction(res[1], core.Added)
	c.wantRefused(res[2], core.ErrAlreadyQueued)
	da := c.dequeueFrom(qa, 10, longLock).Messages
	db := c.dequeueFrom(qb, 10, longLock).Messages
	if len(da) != 1 || string(da[0].Payload) != "in a" || len(db) != 1 || string(db[0].Payload) != "in b" {
		c.Fatalf("queue a got %q, queue b got %q", idsOf(da), idsOf(db))
	}
	c.wantStatusIn(c.q, "m", core.StatusNone)
}

// Requeue is for locked and done messages; a queued one stays queued.
func enqQueuedIgnoresRequeue(c *checker) {
	c.add("mid1", "a")
	c.add("mid2", "b", core.WithDelay(longLock))
	before := c.dump()
	c.wantRefused(c.enq("mid1", "x", core.WithRequeue()), core.ErrAlreadyQueued)
	c.wantRefused(c.enq("mid2", "x", core.WithRequeue()), core.ErrAlreadyQueued)
	c.wantRefused(c.enq("mid2", "x", core.WithDelay(time.Second)), core.ErrAlreadyQueued)
	c.wantUnchanged(before, "a refused enqueue")
	c.wantAction(c.enq("mid1", "c", core.WithRequeue(), core.WithUpdate()), core.Updated)
	if m := c.info("mid1"); m.Requeue || string(m.Payload) != "c" {
		c.Fatalf("update of a queued message with requeue: requeue %v payload %q, want false %q", m.Requeue, m.Payload, "c")
	}
}

// Reset-delay without update restarts the delay and keeps the content.
func enqResetDelayOnly(c *checker) {
	c.add("mid1", "a")
	c.wantAction(c.enq("mid1", "b", core.WithDelay(300*time.Millisecond), core.WithResetDelay()), core.Updated)
	c.wantStatus("mid1", core.StatusQueuedWithBackoff)
	c.wantStats(c.q, core.QueueStats{Backoff: 1, Total: 1})
	c.nothing()
	c.advance(300*time.Millisecond + margin)
	d := c.take(longLock)
	c.wantDelivery(d, "mid1", "a", 1, longLock)
}

// Update without reset-delay leaves a pending delay as it is.
func enqUpdateKeepsDelay(c *checker) {
	c.add("mid1", "a", core.WithDelay(300*time.Millisecond))
	c.wantAction(c.enq("mid1", "b", core.WithUpdate()), core.Updated)
	c.wantStatus("mid1", core.StatusQueuedWithBackoff)
	c.nothing()
	c.advance(300*time.Millisecond + margin)
	d := c.take(longLock)
	c.wantDelivery(d, "mid1", "b", 1, longLock)
}

// Update with reset-delay is the debounce: the delay starts again.
func enqUpdateWithResetDelay(c *checker) {
	c.add("mid1", "a", core.WithDelay(300*time.Millisecond))
	c.advance(200 * time.Millisecond)
	c.wantAction(c.enq("mid1", "b", core.WithUpdate(), core.WithDelay(300*time.Millisecond), core.WithResetDelay()), core.Updated)
	c.advance(200 * time.Millisecond) // past the first delay, not the reset one
	c.wantStatus("mid1", core.StatusQueuedWithBackoff)
	c.nothing()
	c.advance(100*time.Millisecond + margin)
	d := c.take(longLock)
	c.wantDelivery(d, "mid1", "b", 1, longLock)
	if m := c.info("mid1"); m.Age < 400*time.Millisecond {
		c.Fatalf("an update reset the first-enqueued time: age %v, want at least 400ms", m.Age)
	}
}

// An update replaces the message's own lock duration, and clears it when it
// gives none (as the reference does).
func enqUpdateReplacesLock(c *checker) {
	c.add("own", "a", core.WithLockDuration(500*time.Millisecond))
	c.wantAction(c.enq("own", "b", core.WithUpdate()), core.Updated)
	c.add("none", "a")
	c.wantAction(c.enq("none", "b", core.WithUpdate(), core.WithLockDuration(400*time.Millisecond)), core.Updated)
	ds := c.dequeue(2, longLock).Messages
	if len(ds) != 2 {
		c.Fatalf("got %q, want own and none", idsOf(ds))
	}
	c.wantDelivery(ds[0], "own", "b", 1, longLock)
	c.wantDelivery(ds[1], "none", "b", 1, 400*time.Millisecond)
}

// Done with no backoff left: any enqueue stores a requeue copy (the
// reference appropriates the requeue mechanism), with the usual
// added / already-queued / updated answers.
func enqDoneAwaitingGC(c *checker) {
	c.add("mid1", "a")
	d := c.take(longLock)
	c.ack(d, core.OutcomeSuccess, 100*time.Millisecond)
	c.advance(100*time.Millisecond + margin)
	c.wantStatus("mid1", core.StatusDoneAwaitingGC)

	c.add("mid1", "b")
	c.wantStatus("mid1", core.StatusDoneWithRequeue)
	c.wantRefused(c.enq("mid1", "c"), core.ErrAlreadyQueued)
	c.wantAction(c.enq("mid1", "d", core.WithUpdate(), core.WithLockDuration(400*time.Millisecond)), core.Updated)
	d = c.take(longLock)
	c.wantDelivery(d, "mid1", "d", 1, 400*time.Millisecond)
}

// Done with backoff: a requeue copy, then its update.
func enqDoneWithBackoffUpdate(c *checker) {
	c.add("mid1", "a")
	d := c.take(longLock)
	c.ack(d, core.OutcomeSuccess, 300*time.Millisecond)
	c.add("mid1", "b", core.WithRequeue())
	before := c.dump()
	c.wantRefused(c.enq("mid1", "c", core.WithRequeue()), core.ErrAlreadyQueued)
	c.wantRefused(c.enq("mid1", "c", core.WithUpdate()), core.ErrBackoff)
	c.wantUnchanged(before, "a refused enqueue")
	c.wantAction(c.enq("mid1", "d", core.WithRequeue(), core.WithUpdate()), core.Updated)
	c.wantStatus("mid1", core.StatusDoneWithRequeue)
	if m := c.info("mid1"); !m.Requeue || string(m.Payload) != "a" {
		c.Fatalf("content while done with requeue: requeue %v payload %q, want true %q", m.Requeue, m.Payload, "a")
	}
	c.nothing()
	c.advance(300*time.Millisecond + margin)
	d = c.take(longLock)
	c.wantDelivery(d, "mid1", "d", 1, longLock)
}

// Callers may reuse their buffers and maps: the backend keeps its own
// copies, and what it hands out is the caller's to change.
func enqCopiesBuffers(c *checker) {
	payload := []byte("original")
	headers := map[string]string{"k": "v"}
	c.wantAction(c.enqueueAll(core.EnqueueRequest{Queue: c.q, ID: "mid1", Payload: payload, Headers: headers})[0], core.Added)
	copy(payload, "CHANGED!")
	headers["k"] = "changed"
	headers["new"] = "x"

	m := c.info("mid1")
	m.Payload[0] = 'X'
	m.Headers["k"] = "X"

	d := c.take(longLock)
	c.wantDelivery(d, "mid1", "original", 1, longLock)
	c.wantHeaders("message", d.Headers, map[string]string{"k": "v"})
	d.Payload[0] = 'X'
	d.Headers["k"] = "X"
	c.ack(d, core.OutcomeError, 0)

	dl := c.deadLetters(c.q, 0, 1)
	if len(dl) != 1 || string(dl[0].Payload) != "original" {
		c.Fatalf("dead letter: %v, want payload %q", dl, "original")
	}
	c.wantHeaders("dead letter", dl[0].Headers, map[string]string{"k": "v"})
}

// An empty payload is a payload.
func enqEmptyPayload(c *checker) {
	c.add("mid1", "")
	d := c.take(longLock)
	c.wantDelivery(d, "mid1", "", 1, longLock)
	c.wantHeaders("message", d.Headers, nil)
}
