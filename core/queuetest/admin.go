package queuetest

import (
	"fmt"
	"slices"
	"time"

	"github.com/redghost/redghost/core"
)

// adminCases are the admin calls (SEMANTICS §7).
var adminCases = []testCase{
	{"EveryStatus", adminEveryStatus},
	{"QueueStats", adminStats},
	{"OldestReady", adminOldestReady},
	{"QueueContentPaging", adminContentPaging},
	{"QueueNames", adminQueueNames},
	{"ClearQueues", adminClearQueues},
}

// One queue holds a message in each of the eight statuses; MessageStatus,
// QueueContent and QueueStats agree on them.
func adminEveryStatus(c *checker) {
	c.addAndTake("locked")
	c.addAndTake("lockedRequeue")
	c.add("lockedRequeue", "copy", core.WithRequeue())
	c.ack(c.addAndTake("doneBackoff"), core.OutcomeSuccess, longLock)
	c.ack(c.addAndTake("doneRequeue"), core.OutcomeSuccess, longLock)
	c.add("doneRequeue", "copy", core.WithRequeue())
	// The next dequeue would collect it: make it last.
	c.ack(c.addAndTake("doneAwaitingGC"), core.OutcomeSuccess, 100*time.Millisecond)
	c.advance(100*time.Millisecond + margin)
	c.add("queued", "p-queued")
	c.add("queuedBackoff", "p-queuedBackoff", core.WithDelay(longLock))

	want := map[string]core.Status{
		"queued":         core.StatusQueued,
		"queuedBackoff":  core.StatusQueuedWithBackoff,
		"locked":         core.StatusLocked,
		"lockedRequeue":  core.StatusLockedWithRequeue,
		"doneAwaitingGC": core.StatusDoneAwaitingGC,
		"doneBackoff":    core.StatusDoneWithBackoff,
		"doneRequeue":    core.StatusDoneWithRequeue,
		"unknown":        core.StatusNone,
	}
	for id, s := range want {
		c.wantStatus(id, s)
	}

	msgs := c.content(c.q, 100)
	if len(msgs) != len(want)-1 {
		c.Fatalf("QueueContent lists %d messages, want %d", len(msgs), len(want)-1)
	}
	for _, m := range msgs {
		if m.Status != want[m.ID] {
			c.Fatalf("QueueContent: %q is %v, want %v", m.ID, m.Status, want[m.ID])
		}
		c.wantPayload("QueueContent of "+m.ID, m.Payload, "p-"+m.ID)
		requeue := m.ID == "lockedRequeue" || m.ID == "doneRequeue"
		locked := m.ID == "locked" || m.ID == "lockedRequeue"
		backoff := m.ID == "queuedBackoff" || m.ID == "doneBackoff" || m.ID == "doneRequeue"
		attempt := 1
		if m.ID == "queued" || m.ID == "queuedBackoff" {
			attempt = 0
		}
		if m.Requeue != requeue || (m.LockLeft > 0) != locked || (m.Backoff > 0) != backoff || m.Attempt != attempt {
			c.Fatalf("QueueContent of %q: requeue %v lock left %v backoff %v attempt %d; want requeue %v locked %v backoff %v attempt %d",
				m.ID, m.Requeue, m.LockLeft, m.Backoff, m.Attempt, requeue, locked, backoff, attempt)
		}
		if m.LockLeft > longLock || m.Backoff > longLock || m.Age < 0 {
			c.Fatalf("QueueContent of %q: lock left %v backoff %v age %v out of range", m.ID, m.LockLeft, m.Backoff, m.Age)
		}
	}
	c.wantStats(c.q, core.QueueStats{Queued: 1, Backoff: 1, Locked: 2, Done: 3, Total: 7})
}

// QueueStats counts messages by status as they move.
func adminStats(c *checker) {
	c.wantStats(c.q, core.QueueStats{})
	c.add("a", "a")
	c.add("b", "b")
	c.add("c", "c", core.WithDelay(longLock))
	c.wantStats(c.q, core.QueueStats{Queued: 2, Backoff: 1, Total: 3})
	da := c.take(longLock)
	c.wantStats(c.q, core.QueueStats{Queued: 1, Locked: 1, Backoff: 1, Total: 3})
	c.ack(da, core.OutcomeSuccess, longLock)
	c.wantStats(c.q, core.QueueStats{Queued: 1, Backoff: 1, Done: 1, Total: 3})
	db := c.take(longLock)
	c.ack(db, core.OutcomeRetry, longLock)
	c.wantStats(c.q, core.QueueStats{Backoff: 2, Done: 1, Total: 3})
	c.add("d", "d")
	dd := c.take(longLock)
	c.ack(dd, core.OutcomeError, 0)
	c.nothing()
	c.wantStats(c.q, core.QueueStats{Backoff: 2, Done: 1, Total: 3, Dead: 1})
}

// QueueStats.OldestReady is the longest wait of a ready message: from its
// enqueue, or from when it came back (its lock expired, it was retried);
// it looks past messages that came due again at the head of the ready
// list; it is zero when nothing is queued.
func adminOldestReady(c *checker) {
	const (
		lock  = 500 * time.Millisecond
		slack = 250 * time.Millisecond // a real clock's (Redis') time between the calls
	)
	wantOldest := func(what string, lo, hi time.Duration) {
		c.Helper()
		lo -= time.Millisecond // stored in whole milliseconds
		if got := c.statsOf(c.q).OldestReady; got < lo || got > hi {
			c.Fatalf("%s: OldestReady %v, want within [%v, %v]", what, got, lo, hi)
		}
	}
	wantOldest("empty queue", 0, 0)
	c.add("a", "a")
	c.add("b", "b")
	c.add("c", "c")
	c.add("delayed", "delayed", core.WithDelay(longLock))
	if got := c.dequeue(2, lock).Messages; len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" {
		c.Fatalf("Dequeue(2): got %s, want a, b", idsOf(got))
	}
	wantOldest("c just enqueued", 0, slack)

	c.advance(lock + margin)
	wantOldest("c waited, a and b's locks expired", lock+margin, lock+margin+slack)

	// This dequeue puts a and b back at the head of the ready list, ready
	// since their locks expired, and takes a: b is first, c waited longer.
	if d := c.take(longLock); d.ID != "a" {
		c.Fatalf("Dequeue(1): got %q, want a (its lock expired)", d.ID)
	}
	wantOldest("c behind b, which came due again", lock+margin, lock+margin+slack)

	res := c.dequeue(2, longLock)
	if len(res.Messages) != 2 || res.Messages[0].ID != "b" || res.Messages[1].ID != "c" {
		c.Fatalf("Dequeue(2): got %s, want b, c", idsOf(res.Messages))
	}
	wantOldest("nothing queued", 0, 0)
	// A retry without a backoff is ready from its ack, not from its enqueue.
	c.ack(res.Messages[0], core.OutcomeRetry, 0)
	wantOldest("b retried", 0, slack)
	c.take(longLock)
	wantOldest("nothing queued again", 0, 0)
}

// QueueContent pages cover every message exactly once.
func adminContentPaging(c *checker) {
	want := map[string]bool{}
	var reqs []core.EnqueueRequest
	for i := range 23 {
		id := fmt.Sprintf("m%02d", i)
		want[id] = true
		reqs = append(reqs, c.req(id, "p-"+id))
	}
	for _, r := range c.enqueueAll(reqs...) {
		c.wantAction(r, core.Added)
	}
	c.take(longLock)
	for _, limit := range []int{1, 5, 23, 100} {
		seen := map[string]bool{}
		for _, m := range c.content(c.q, limit) {
			if seen[m.ID] {
				c.Fatalf("QueueContent(limit %d) listed %q twice", limit, m.ID)
			}
			if !want[m.ID] {
				c.Fatalf("QueueContent(limit %d) listed unknown %q", limit, m.ID)
			}
			c.wantPayload("QueueContent of "+m.ID, m.Payload, "p-"+m.ID)
			seen[m.ID] = true
		}
		if len(seen) != len(want) {
			c.Fatalf("QueueContent(limit %d) listed %d messages, want %d", limit, len(seen), len(want))
		}
	}
	if msgs := c.content(c.queue("empty"), 10); len(msgs) != 0 {
		c.Fatalf("QueueContent of an empty queue: %d messages", len(msgs))
	}
}

// QueueNames lists the queues that hold messages or dead letters.
func adminQueueNames(c *checker) {
	qa, qb, qdead, qempty := c.queue("a"), c.queue("b"), c.queue("dead"), c.queue("emptied")
	c.enqueueAll(reqTo(qa, "m", "a"), reqTo(qb, "m", "b", core.WithDelay(longLock)),
		reqTo(qdead, "m", "dead"), reqTo(qempty, "m", "emptied"))
	for _, q := range []string{qdead, qempty} {
		d := c.dequeueFrom(q, 1, longLock).Messages
		if len(d) != 1 {
			c.Fatalf("nothing to take from %q", q)
		}
		o := core.OutcomeSuccess
		if q == qdead {
			o = core.OutcomeError
		}
		errs, err := c.b().Ack(c.ctx, q, []core.Ack{ackOf(d[0], o, 0)})
		if err != nil || errs[0] != nil {
			c.Fatalf("Ack on %q: %v %v", q, err, errs)
		}
		c.nothingFrom(q)
	}
	c.nothingFrom(c.queue("never"))
	names := c.queueNames()
	for _, q := range []string{qa, qb, qdead} {
		if !slices.Contains(names, q) {
			c.Fatalf("QueueNames %q does not list %q", names, q)
		}
	}
	for _, q := range []string{qempty, c.queue("never")} {
		if slices.Contains(names, q) {
			c.Fatalf("QueueNames %q lists %q, which holds nothing", names, q)
		}
	}
}

// ClearQueues deletes every trace of the named queues, and only of them.
func adminClearQueues(c *checker) {
	qa, qb := c.queue("a"), c.queue("b")
	c.enqueueAll(reqTo(qa, "locked", "x"), reqTo(qa, "failed", "x"), reqTo(qa, "delayed", "x", core.WithDelay(longLock)),
		reqTo(qb, "m", "b"))
	ds := c.dequeueFrom(qa, 2, longLock).Messages
	if len(ds) != 2 {
		c.Fatalf("took %q from %q, want 2", idsOf(ds), qa)
	}
	if errs, err := c.b().Ack(c.ctx, qa, []core.Ack{ackOf(ds[1], core.OutcomeError, 0)}); err != nil || errs[0] != nil {
		c.Fatalf("Ack: %v %v", err, errs)
	}
	c.add("requeued", "x")
	dr := c.take(longLock)
	c.add("requeued", "y", core.WithRequeue())
	statsB := c.statsOf(qb)

	if err := c.b().ClearQueues(c.ctx); err != nil {
		c.Fatalf("ClearQueues(): %v", err)
	}
	if err := c.b().ClearQueues(c.ctx, qa, c.q, c.queue("never")); err != nil {
		c.Fatalf("ClearQueues: %v", err)
	}
	for _, q := range []string{qa, c.q} {
		c.wantStats(q, core.QueueStats{})
		if dl := c.deadLetters(q, 0, 10); len(dl) != 0 {
			c.Fatalf("%d dead letters left in %q", len(dl), q)
		}
		if msgs := c.content(q, 10); len(msgs) != 0 {
			c.Fatalf("%d messages left in %q", len(msgs), q)
		}
		if names := c.queueNames(); slices.Contains(names, q) {
			c.Fatalf("QueueNames %q still lists %q", names, q)
		}
		c.nothingFrom(q)
	}
	for _, id := range []string{"locked", "failed", "delayed"} {
		c.wantStatusIn(qa, id, core.StatusNone)
	}
	c.wantStatus("requeued", core.StatusNone)
	c.wantLockLost("ack of a cleared message", c.ackOne(ackOf(dr, core.OutcomeSuccess, 0)))
	c.wantLockLost("extension of a cleared message", c.extend(core.LockRef{ID: dr.ID, Token: dr.Token, Duration: time.Second})[0])

	c.wantStats(qb, statsB) // its OldestReady grows with time
	c.wantStatusIn(qb, "m", core.StatusQueued)
	c.add("requeued", "fresh")
	d := c.take(longLock)
	c.wantDelivery(d, "requeued", "fresh", 1, longLock)
}

// addAndTake enqueues id to the main queue and takes it, expecting nothing
// else to be ready.
func (c *checker) addAndTake(id string) core.Delivery {
	c.Helper()
	c.add(id, "p-"+id)
	d := c.take(longLock)
	if d.ID != id {
		c.Fatalf("took %q, want %q", d.ID, id)
	}
	return d
}
