package queuetest

import (
	"slices"
	"strings"
	"time"

	"github.com/redghost/redghost/core"
)

// outcomeCases are the handler outcomes (SEMANTICS §5) and the dead-letter
// list (§9).
var outcomeCases = []testCase{
	{"RetryWithoutBackoff", outRetryNow},
	{"RetryKeepsPendingRequeue", outRetryKeepsRequeue},
	{"SuccessWithBackoffHoldsID", outSuccessHoldsID},
	{"ErrorLeavesDeadLetter", outErrorDeadLetter},
	{"LongErrorTextIsCut", outLongErrorText},
	{"ErrorWithPendingRequeue", outErrorWithRequeue},
	{"RequeueAllDeadLetters", outRequeueAll},
	{"RequeueDeadLettersByID", outRequeueByID},
	{"RequeuedDeadLetterKeepsOwnLock", outRequeueKeepsLock},
	{"PurgeDeadLetters", outPurge},
	{"DeadLettersNewestFirstAndPaging", outDeadLetterPaging},
}

// Retry without backoff: queued at once, handled again with attempt + 1 and
// the same content.
func outRetryNow(c *checker) {
	h := map[string]string{"k": "v"}
	c.add("mid1", "msg1", core.WithHeaders(h))
	d := c.take(longLock)
	for attempt := 2; attempt <= 3; attempt++ {
		c.ack(d, core.OutcomeRetry, 0)
		c.wantStatus("mid1", core.StatusQueued)
		c.wantStats(c.q, core.QueueStats{Queued: 1, Total: 1})
		if m := c.info("mid1"); m.Attempt != attempt-1 {
			c.Fatalf("attempts after %d handlings: %d", attempt-1, m.Attempt)
		}
		d2 := c.take(longLock)
		c.wantDelivery(d2, "mid1", "msg1", attempt, longLock)
		c.wantHeaders("retried message", d2.Headers, h)
		if !d2.EnqueuedAt.Equal(d.EnqueuedAt) {
			c.Fatalf("a retry changed EnqueuedAt from %v to %v", d.EnqueuedAt, d2.EnqueuedAt)
		}
		d = d2
	}
}

// A retry keeps a pending requeue copy; it is queued once the message is
// done.
func outRetryKeepsRequeue(c *checker) {
	c.add("mid1", "a")
	d := c.take(longLock)
	c.add("mid1", "b", core.WithRequeue())
	c.ack(d, core.OutcomeRetry, 0)
	c.wantStatus("mid1", core.StatusQueued)
	if !c.info("mid1").Requeue {
		c.Fatal("a retry dropped the pending requeue")
	}
	d = c.take(longLock)
	c.wantDelivery(d, "mid1", "a", 2, longLock)
	c.wantStatus("mid1", core.StatusLockedWithRequeue)
	c.ack(d, core.OutcomeSuccess, 0)
	c.wantStatus("mid1", core.StatusDoneWithRequeue)
	d = c.take(longLock)
	c.wantDelivery(d, "mid1", "b", 1, longLock)
}

// Success with backoff holds the id: enqueues are refused until it passes.
func outSuccessHoldsID(c *checker) {
	c.add("mid1", "msg1")
	d := c.take(longLock)
	c.ack(d, core.OutcomeSuccess, 300*time.Millisecond)
	c.wantRefused(c.enq("mid1", "again"), core.ErrBackoff)
	if b := c.info("mid1").Backoff; b <= 0 || b > 300*time.Millisecond {
		c.Fatalf("remaining backoff %v, want in (0, 300ms]", b)
	}
	c.advance(300*time.Millisecond + margin)
	// Past the backoff the id is free: done with no backoff takes any
	// enqueue as a requeue.
	c.add("mid1", "again")
	c.wantStatus("mid1", core.StatusDoneWithRequeue)
	d = c.take(longLock)
	c.wantDelivery(d, "mid1", "again", 1, longLock)
}

// An error outcome marks the message done and keeps a dead letter with
// payload, headers, error text and attempts.
func outErrorDeadLetter(c *checker) {
	h := map[string]string{"k": "v", "traceparent": "t"}
	c.add("mid1", "msg1", core.WithHeaders(h))
	d := c.take(longLock)
	c.ack(d, core.OutcomeRetry, 0)
	d = c.take(longLock)
	if err := c.ackOne(core.Ack{ID: d.ID, Token: d.Token, Outcome: core.OutcomeError, Error: "boom"}); err != nil {
		c.Fatalf("error ack: %v", err)
	}
	c.wantDoneOrGone("mid1")
	c.nothing()
	c.wantStatus("mid1", core.StatusNone)
	c.wantStats(c.q, core.QueueStats{Dead: 1})

	dl := c.deadLetters(c.q, 0, 10)
	if len(dl) != 1 {
		c.Fatalf("got %d dead letters, want 1", len(dl))
	}
	x := dl[0]
	if x.ID != "mid1" || x.Queue != c.q || string(x.Payload) != "msg1" || x.Attempt != 2 || x.Error != "boom" {
		c.Fatalf("dead letter: got id %q queue %q payload %q attempt %d error %q; want %q %q %q 2 %q",
			x.ID, x.Queue, x.Payload, x.Attempt, x.Error, "mid1", c.q, "msg1", "boom")
	}
	c.wantHeaders("dead letter", x.Headers, h)
	if x.FailedAt.IsZero() || x.FailedAt.Before(d.EnqueuedAt) {
		c.Fatalf("dead letter FailedAt %v, want set and not before EnqueuedAt %v", x.FailedAt, d.EnqueuedAt)
	}
}

// An error text over core.MaxErrorBytes is kept cut to at most that many
// bytes, at a character boundary, for callers of Ack other than core's
// worker too.
func outLongErrorText(c *checker) {
	c.add("mid1", "msg1")
	d := c.take(longLock)
	long := strings.Repeat("x", core.MaxErrorBytes-1) + "€ and more"
	if err := c.ackOne(core.Ack{ID: d.ID, Token: d.Token, Outcome: core.OutcomeError, Error: long}); err != nil {
		c.Fatalf("error ack: %v", err)
	}
	dl := c.deadLetters(c.q, 0, 10)
	if len(dl) != 1 {
		c.Fatalf("%d dead letters, want 1", len(dl))
	}
	if want := long[:core.MaxErrorBytes-1]; dl[0].Error != want {
		c.Fatalf("dead letter error of %d bytes ending %q, want the %d bytes before the cut character",
			len(dl[0].Error), dl[0].Error[max(0, len(dl[0].Error)-8):], len(want))
	}
}

// An error with a pending requeue copy: the failed content becomes a dead
// letter and the copy is handled.
func outErrorWithRequeue(c *checker) {
	c.add("mid1", "a")
	d := c.take(longLock)
	c.add("mid1", "b", core.WithRequeue())
	c.ack(d, core.OutcomeError, 0)
	c.wantStatus("mid1", core.StatusDoneWithRequeue)
	dl := c.deadLetters(c.q, 0, 10)
	if len(dl) != 1 || string(dl[0].Payload) != "a" {
		c.Fatalf("dead letters: got %v, want one with payload %q", dl, "a")
	}
	d = c.take(longLock)
	c.wantDelivery(d, "mid1", "b", 1, longLock)
}

func (c *checker) fail(ids ...string) {
	c.Helper()
	for _, id := range ids {
		c.add(id, "payload-"+id, core.WithHeader("id", id))
		d := c.take(longLock)
		c.wantDelivery(d, id, "payload-"+id, 1, longLock)
		c.ack(d, core.OutcomeError, 0)
	}
	c.nothing()
}

// RequeueDeadLetters without ids puts every dead letter back as a fresh
// message.
func outRequeueAll(c *checker) {
	c.fail("m1", "m2")
	n, err := c.b().RequeueDeadLetters(c.ctx, c.q)
	if err != nil || n != 2 {
		c.Fatalf("RequeueDeadLetters: %d, %v; want 2", n, err)
	}
	if dl := c.deadLetters(c.q, 0, 10); len(dl) != 0 {
		c.Fatalf("%d dead letters left after a requeue", len(dl))
	}
	c.wantStats(c.q, core.QueueStats{Queued: 2, Total: 2})
	ds := c.dequeue(10, longLock).Messages
	slices.SortFunc(ds, func(a, b core.Delivery) int { return strings.Compare(a.ID, b.ID) })
	if len(ds) != 2 {
		c.Fatalf("got %q after the requeue, want m1 and m2", idsOf(ds))
	}
	for i, id := range []string{"m1", "m2"} {
		c.wantDelivery(ds[i], id, "payload-"+id, 1, longLock)
		c.wantHeaders("requeued dead letter", ds[i].Headers, map[string]string{"id": id})
	}
	n, err = c.b().RequeueDeadLetters(c.ctx, c.q)
	if err != nil || n != 0 {
		c.Fatalf("RequeueDeadLetters of an empty list: %d, %v; want 0", n, err)
	}
}

// RequeueDeadLetters with ids requeues only those; one whose id is live in
// the queue stays in the list.
func outRequeueByID(c *checker) {
	c.fail("m1", "m2", "m3")
	c.add("m1", "live again")
	n, err := c.b().RequeueDeadLetters(c.ctx, c.q, "m1", "m2", "unknown")
	if err != nil || n != 1 {
		c.Fatalf("RequeueDeadLetters(m1 m2 unknown): %d, %v; want 1 (m1 is live)", n, err)
	}
	var left []string
	for _, x := range c.deadLetters(c.q, 0, 10) {
		left = append(left, x.ID)
	}
	if !slices.Equal(left, []string{"m3", "m1"}) {
		c.Fatalf("dead letters left: %q, want [m3 m1]", left)
	}
	ds := c.dequeue(10, longLock).Messages
	slices.SortFunc(ds, func(a, b core.Delivery) int { return strings.Compare(a.ID, b.ID) })
	if len(ds) != 2 {
		c.Fatalf("got %q, want m1 and m2", idsOf(ds))
	}
	c.wantDelivery(ds[0], "m1", "live again", 1, longLock)
	c.wantDelivery(ds[1], "m2", "payload-m2", 1, longLock)
}

// A requeued dead letter keeps the lock duration it was enqueued with.
func outRequeueKeepsLock(c *checker) {
	own := 7 * time.Second
	c.add("m1", "p1", core.WithLockDuration(own))
	d := c.take(longLock)
	c.wantDelivery(d, "m1", "p1", 1, own)
	c.ack(d, core.OutcomeError, 0)
	if n, err := c.b().RequeueDeadLetters(c.ctx, c.q, "m1"); err != nil || n != 1 {
		c.Fatalf("RequeueDeadLetters(m1): %d, %v; want 1", n, err)
	}
	c.wantDelivery(c.take(longLock), "m1", "p1", 1, own)
}

// PurgeDeadLetters empties the list.
func outPurge(c *checker) {
	c.fail("m1", "m2", "m3")
	n, err := c.b().PurgeDeadLetters(c.ctx, c.q)
	if err != nil || n != 3 {
		c.Fatalf("PurgeDeadLetters: %d, %v; want 3", n, err)
	}
	if dl := c.deadLetters(c.q, 0, 10); len(dl) != 0 {
		c.Fatalf("%d dead letters after a purge", len(dl))
	}
	c.wantStats(c.q, core.QueueStats{})
	n, err = c.b().PurgeDeadLetters(c.ctx, c.q)
	if err != nil || n != 0 {
		c.Fatalf("second PurgeDeadLetters: %d, %v; want 0", n, err)
	}
}

// Dead letters are listed newest first, offset and limit page them.
func outDeadLetterPaging(c *checker) {
	c.fail("m1", "m2", "m3")
	c.wantStats(c.q, core.QueueStats{Dead: 3})
	for _, p := range []struct {
		offset, limit int
		want          []string
	}{
		{0, 10, []string{"m3", "m2", "m1"}},
		{0, 2, []string{"m3", "m2"}},
		{2, 2, []string{"m1"}},
		{1, 1, []string{"m2"}},
		{3, 5, nil},
		{10, 1, nil},
	} {
		var got []string
		for _, x := range c.deadLetters(c.q, p.offset, p.limit) {
			got = append(got, x.ID)
		}
		if !slices.Equal(got, p.want) {
			c.Fatalf("DeadLetters(offset %d, limit %d): got %q, want %q", p.offset, p.limit, got, p.want)
		}
	}
}
