package queuetest

import (
	"slices"
	"time"

	"github.com/redghost/redghost/core"
)

// referenceCases are the reference's own test cases (SEMANTICS §8), at the
// level of backend calls.
var referenceCases = []testCase{
	{"01EmptyQueueSleeps", refEmptyQueue},
	{"02EnqueueDedupUpdateDequeue", refEnqueueDedupUpdate},
	{"03InitialBackoff", refInitialBackoff},
	{"04SuccessIsCollected", refSuccess},
	{"05ErrorIsCollected", refError},
	{"06SuccessWithBackoff", refSuccessWithBackoff},
	{"07RetryWithBackoff", refRetryWithBackoff},
	{"08LockExpiry", refLockExpiry},
	{"08LockExpiryPerMessageLock", refPerMessageLock},
	{"09EnqueueWhileLocked", refEnqueueWhileLocked},
	{"10EnqueueWhileDoneWithBackoff", refEnqueueWhileDoneWithBackoff},
	{"11TwoMessagesInOrder", refTwoInOrder},
}

// 1. Dequeue on an empty queue says sleep.
func refEmptyQueue(c *checker) {
	res := c.nothing()
	if res.NextDue != 0 {
		c.Fatalf("NextDue of a queue that never held a message: %v, want 0", res.NextDue)
	}
	c.nothing()
	c.wantStats(c.q, core.QueueStats{})
}

// 2. Enqueue, de-duplication, update, then the dequeue of the updated content.
func refEnqueueDedupUpdate(c *checker) {
	c.add("mid1", "msg1a")
	c.wantRefused(c.enq("mid1", "msg1b"), core.ErrAlreadyQueued)
	c.wantAction(c.enq("mid1", "msg1b", core.WithUpdate()), core.Updated)
	c.wantStatus("mid1", core.StatusQueued)

	d := c.take(longLock)
	c.wantDelivery(d, "mid1", "msg1b", 1, longLock)
	c.wantStatus("mid1", core.StatusLocked)
	c.nothing()
	if names := c.queueNames(); !slices.Contains(names, c.q) {
		c.Fatalf("QueueNames %q does not list %q", names, c.q)
	}
}

// 3. Initial backoff (delay), duplicates throughout, reset of the delay.
func refInitialBackoff(c *checker) {
	c.add("mid1", "msg1", core.WithDelay(500*time.Millisecond))
	c.add("mid2", "msg2", core.WithDelay(100*time.Millisecond))
	c.wantStatus("mid1", core.StatusQueuedWithBackoff)
	c.wantStatus("mid2", core.StatusQueuedWithBackoff)
	c.wantPayload("mid1 content", c.info("mid1").Payload, "msg1")
	c.wantPayload("mid2 content", c.info("mid2").Payload, "msg2")
	c.wantRefused(c.enq("mid1", "msg1"), core.ErrAlreadyQueued)
	c.wantRefused(c.enq("mid2", "msg2"), core.ErrAlreadyQueued)
	c.nothing()

	c.advance(100*time.Millisecond + margin) // past mid2's delay
	c.wantStatus("mid1", core.StatusQueuedWithBackoff)
	c.wantStatus("mid2", core.StatusQueued)

	c.advance(400 * time.Millisecond) // past mid1's delay
	c.wantStatus("mid1", core.StatusQueued)
	c.wantStatus("mid2", core.StatusQueued)
	c.wantRefused(c.enq("mid1", "msg1"), core.ErrAlreadyQueued)
	c.wantRefused(c.enq("mid2", "msg2"), core.ErrAlreadyQueued)

	// Debounce: push mid2 out again.
	c.wantAction(c.enq("mid2", "msg2", core.WithDelay(500*time.Millisecond), core.WithResetDelay()), core.Updated)
	c.wantStatus("mid2", core.StatusQueuedWithBackoff)

	d := c.take(longLock)
	c.wantDelivery(d, "mid1", "msg1", 1, longLock)
	c.wantStatus("mid1", core.StatusLocked)
	c.nothing()
	c.wantStatus("mid2", core.StatusQueuedWithBackoff)
}

// 4. Success: done, then collected on the next visit at the latest.
func refSuccess(c *checker) {
	c.add("mid1", "msg1")
	d := c.take(longLock)
	c.wantDelivery(d, "mid1", "msg1", 1, longLock)
	c.ack(d, core.OutcomeSuccess, 0)
	c.wantDoneOrGone("mid1")
	c.nothing()
	c.wantStatus("mid1", core.StatusNone)
	c.wantStats(c.q, core.QueueStats{})
	if dl := c.deadLetters(c.q, 0, 10); len(dl) != 0 {
		c.Fatalf("a success left %d dead letters", len(dl))
	}
}

// 5. Error: done, then collected; a dead letter is kept.
func refError(c *checker) {
	c.add("mid1", "msg1")
	d := c.take(longLock)
	c.ack(d, core.OutcomeError, 0)
	c.wantDoneOrGone("mid1")
	c.nothing()
	c.wantStatus("mid1", core.StatusNone)
	c.wantStats(c.q, core.QueueStats{Dead: 1})
}

// 6. Success with backoff holds the id, then it is collected.
func refSuccessWithBackoff(c *checker) {
	c.add("mid1", "msg1")
	d := c.take(longLock)
	c.ack(d, core.OutcomeSuccess, 300*time.Millisecond)
	c.wantStatus("mid1", core.StatusDoneWithBackoff)
	c.wantStats(c.q, core.QueueStats{Done: 1, Total: 1})
	c.nothing()
	c.wantStatus("mid1", core.StatusDoneWithBackoff)

	c.advance(300*time.Millisecond + margin)
	c.wantStatus("mid1", core.StatusDoneAwaitingGC)
	c.nothing()
	c.wantStatus("mid1", core.StatusNone)
	c.wantStats(c.q, core.QueueStats{})
}

// 7. Retry with backoff: skipped until the backoff passes, then attempt 2.
func refRetryWithBackoff(c *checker) {
	c.add("mid1", "msg1")
	d := c.take(longLock)
	c.ack(d, core.OutcomeRetry, 300*time.Millisecond)
	c.wantStatus("mid1", core.StatusQueuedWithBackoff)
	c.nothing()
	c.wantStatus("mid1", core.StatusQueuedWithBackoff)

	c.advance(300*time.Millisecond + margin)
	c.wantStatus("mid1", core.StatusQueued)
	d2 := c.take(longLock)
	c.wantDelivery(d2, "mid1", "msg1", 2, longLock)
	if !d2.EnqueuedAt.Equal(d.EnqueuedAt) {
		c.Fatalf("a retry changed EnqueuedAt from %v to %v", d.EnqueuedAt, d2.EnqueuedAt)
	}
}

// 8. A handler that never answers: the lock expires and the message is
// handled again.
func refLockExpiry(c *checker) {
	c.add("mid1", "msg1")
	lock := 300 * time.Millisecond
	d := c.take(lock)
	c.wantDelivery(d, "mid1", "msg1", 1, lock)
	c.wantStatus("mid1", core.StatusLocked)
	c.nothing()

	c.advance(lock + margin)
	c.wantStatus("mid1", core.StatusQueued)
	d2 := c.take(lock)
	c.wantDelivery(d2, "mid1", "msg1", 2, lock)
	if d2.Token <= d.Token {
		c.Fatalf("token of the second handling %d is not above the first's %d", d2.Token, d.Token)
	}
}

// 8. A per-message lock overrides the dequeue's lock.
func refPerMessageLock(c *checker) {
	own := 600 * time.Millisecond
	c.add("mid1", "msg1", core.WithLockDuration(own))
	d := c.take(100 * time.Millisecond)
	c.wantDelivery(d, "mid1", "msg1", 1, own)

	c.advance(200 * time.Millisecond) // past the dequeue's lock, not the message's
	c.wantStatus("mid1", core.StatusLocked)
	c.nothing()

	c.advance(own - 200*time.Millisecond + margin)
	c.wantStatus("mid1", core.StatusQueued)
	d2 := c.take(100 * time.Millisecond)
	c.wantDelivery(d2, "mid1", "msg1", 2, own)
}

// 9. Enqueue while locked: refusal, requeue copy, update of the copy, and
// the copy handled once the handler is done.
func refEnqueueWhileLocked(c *checker) {
	c.add("mid1", "msg1a")
	d := c.take(longLock)
	c.wantStatus("mid1", core.StatusLocked)

	before := c.dump()
	c.wantRefused(c.enq("mid1", "msg1b"), core.ErrLocked)
	c.wantRefused(c.enq("mid1", "msg1b", core.WithUpdate()), core.ErrLocked)
	c.wantUnchanged(before, "a refused enqueue")

	c.add("mid1", "msg1c", core.WithRequeue())
	c.wantRefused(c.enq("mid1", "msg1d", core.WithRequeue()), core.ErrAlreadyQueued)
	c.wantAction(c.enq("mid1", "msg1e", core.WithRequeue(), core.WithUpdate(),
		core.WithLockDuration(500*time.Millisecond)), core.Updated)
	c.wantStatus("mid1", core.StatusLockedWithRequeue)
	if !c.info("mid1").Requeue {
		c.Fatal("QueueContent does not show the pending requeue")
	}

	c.ack(d, core.OutcomeSuccess, 0)
	c.wantStatus("mid1", core.StatusDoneWithRequeue)

	// A dequeue does its maintenance first: the requeued copy is taken by
	// the same call.
	d2 := c.take(longLock)
	c.wantDelivery(d2, "mid1", "msg1e", 1, 500*time.Millisecond)
	if d2.Token <= d.Token {
		c.Fatalf("token of the requeued copy %d is not above the first's %d", d2.Token, d.Token)
	}
	c.wantStatus("mid1", core.StatusLocked)
	if c.info("mid1").Requeue {
		c.Fatal("QueueContent still shows a pending requeue after it happened")
	}
}

// 10. Enqueue while done with backoff: refusal, then a requeue once the
// backoff passes.
func refEnqueueWhileDoneWithBackoff(c *checker) {
	c.add("mid1", "msg1a")
	d := c.take(longLock)
	c.ack(d, core.OutcomeSuccess, 300*time.Millisecond)
	c.wantStatus("mid1", core.StatusDoneWithBackoff)

	before := c.dump()
	c.wantRefused(c.enq("mid1", "msg1b"), core.ErrBackoff)
	c.wantRefused(c.enq("mid1", "msg1b", core.WithUpdate()), core.ErrBackoff)
	c.wantUnchanged(before, "a refused enqueue")

	c.add("mid1", "msg1c", core.WithRequeue(), core.WithLockDuration(500*time.Millisecond))
	c.wantStatus("mid1", core.StatusDoneWithRequeue)
	c.nothing() // the backoff still holds the id

	c.advance(300*time.Millisecond + margin)
	d2 := c.take(longLock)
	c.wantDelivery(d2, "mid1", "msg1c", 1, 500*time.Millisecond)
	if !d2.EnqueuedAt.After(d.EnqueuedAt) {
		c.Fatalf("the requeued copy's EnqueuedAt %v is not after the first copy's %v", d2.EnqueuedAt, d.EnqueuedAt)
	}
}

// 11. Two queued messages are handled in order and leave nothing behind.
func refTwoInOrder(c *checker) {
	c.add("mid1", "msg1")
	c.add("mid2", "msg2")
	d1 := c.take(longLock)
	d2 := c.take(longLock)
	c.wantDelivery(d1, "mid1", "msg1", 1, longLock)
	c.wantDelivery(d2, "mid2", "msg2", 1, longLock)
	c.ack(d1, core.OutcomeSuccess, 0)
	c.ack(d2, core.OutcomeSuccess, 0)
	c.nothing()
	c.wantStats(c.q, core.QueueStats{})
	c.nothing()
	c.wantStatus("mid1", core.StatusNone)
	c.wantStatus("mid2", core.StatusNone)
}
