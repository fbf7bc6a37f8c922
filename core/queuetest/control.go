package queuetest

import (
	"errors"
	"slices"
	"time"

	"github.com/redghost/redghost/core"
)

// controlCases are queue control: pause and resume, cancelling one
// message, a message's own limits, and the worker registry.
var controlCases = []testCase{
	{"PauseStopsDequeueNotEnqueue", ctlPause},
	{"PauseLetsInFlightFinish", ctlPauseInFlight},
	{"PauseIsPerQueueAndListed", ctlPausePerQueue},
	{"ClearLiftsPause", ctlClearLiftsPause},
	{"PausedWaitBlocksResumeWakes", ctlPausedWait},
	{"CancelNone", ctlCancelNone},
	{"CancelQueued", ctlCancelQueued},
	{"CancelDelayed", ctlCancelDelayed},
	{"CancelLockedRetryEndsIt", ctlCancelLockedRetry},
	{"CancelLockedSuccess", ctlCancelLockedSuccess},
	{"CancelLockedErrorIsDeadLettered", ctlCancelLockedError},
	{"CancelLockedWithRequeueDropsCopy", ctlCancelLockedRequeue},
	{"CancelLockedThenRequeue", ctlCancelThenRequeue},
	{"CancelLockedHandlerGone", ctlCancelLockExpired},
	{"EnqueueAfterCancelledHandlerGone", ctlCancelLockExpiredEnqueue},
	{"CancelDoneStates", ctlCancelDone},
	{"CancelDoneWithRequeueDropsCopy", ctlCancelDoneRequeue},
	{"LimitsTravelWithMessage", ctlLimits},
	{"UpdateReplacesLimits", ctlLimitsUpdate},
	{"RequeueCopyCarriesItsLimits", ctlLimitsRequeue},
	{"DeadLetterKeepsLimits", ctlLimitsDeadLetter},
	{"InvalidControlInput", ctlInvalid},
	{"WorkerRegistry", ctlRegistry},
}

func (c *checker) pause(queue string) {
	c.Helper()
	if err := c.b().PauseQueue(c.ctx, queue); err != nil {
		c.Fatalf("PauseQueue(%q): %v", queue, err)
	}
}

func (c *checker) resume(queue string) {
	c.Helper()
	if err := c.b().ResumeQueue(c.ctx, queue); err != nil {
		c.Fatalf("ResumeQueue(%q): %v", queue, err)
	}
}

func (c *checker) cancel(id string, want core.Status) {
	c.Helper()
	st, err := c.b().CancelMessage(c.ctx, c.q, id)
	if err != nil {
		c.Fatalf("CancelMessage(%q): %v", id, err)
	}
	if st != want {
		c.Fatalf("CancelMessage(%q) answered %v, want %v", id, st, want)
	}
}

func (c *checker) wantPaused(queue string, res core.DequeueResult) {
	c.Helper()
	if !res.Paused || len(res.Messages) != 0 {
		c.Fatalf("Dequeue(%q) of a paused queue: paused %t, %d messages; want paused and none", queue, res.Paused, len(res.Messages))
	}
}

// A paused queue answers Paused and takes nothing, even a ready message;
// enqueues still succeed; the stats show it; resume takes everything.
func ctlPause(c *checker) {
	c.add("m1", "a")
	c.pause(c.q)
	c.pause(c.q) // twice: no change
	c.wantPaused(c.q, c.dequeue(10, longLock))
	c.add("m2", "b")
	c.wantPaused(c.q, c.dequeue(10, longLock))
	c.wantStats(c.q, core.QueueStats{Queued: 2, Total: 2, Paused: true})
	c.wantStatus("m1", core.StatusQueued)
	c.resume(c.q)
	c.resume(c.q)
	c.wantStats(c.q, core.QueueStats{Queued: 2, Total: 2})
	res := c.dequeue(10, longLock)
	if res.Paused || !slices.Equal(idsOf(res.Messages), []string{"m1", "m2"}) {
		c.Fatalf("after resume: paused %t, took %v; want m1, m2", res.Paused, idsOf(res.Messages))
	}
}

// Messages taken before the pause are extended and acknowledged as usual.
func ctlPauseInFlight(c *checker) {
	c.add("m1", "a")
	d := c.take(longLock)
	c.pause(c.q)
	if errs := c.extend(core.LockRef{ID: d.ID, Token: d.Token, Duration: longLock}); errs[0] != nil {
		c.Fatalf("extending a lock of a paused queue: %v", errs[0])
	}
	c.ack(d, core.OutcomeRetry, 0)
	c.wantStatus("m1", core.StatusQueued)
	c.wantPaused(c.q, c.dequeue(1, longLock))
	c.resume(c.q)
	c.wantDelivery(c.take(longLock), "m1", "a", 2, longLock)
}

// A pause holds one queue only; a paused queue is listed even when empty.
func ctlPausePerQueue(c *checker) {
	other := c.queue("other")
	c.wantAction(c.enqueueAll(reqTo(other, "o1", "x"))[0], core.Added)
	c.pause(c.q)
	if res := c.dequeueFrom(other, 1, longLock); res.Paused || len(res.Messages) != 1 {
		c.Fatalf("pausing %q held %q: paused %t, %d messages", c.q, other, res.Paused, len(res.Messages))
	}
	if !slices.Contains(c.queueNames(), c.q) {
		c.Fatalf("QueueNames %v lacks the empty paused queue %q", c.queueNames(), c.q)
	}
	if st := c.statsOf(other); st.Paused {
		c.Fatalf("stats of %q say paused", other)
	}
}

// ClearQueues deletes every trace of a queue, its pause included.
func ctlClearLiftsPause(c *checker) {
	c.add("m1", "a")
	c.pause(c.q)
	if err := c.b().ClearQueues(c.ctx, c.q); err != nil {
		c.Fatal(err)
	}
	c.wantStats(c.q, core.QueueStats{})
	if slices.Contains(c.queueNames(), c.q) {
		c.Fatalf("QueueNames lists cleared queue %q", c.q)
	}
	c.add("m2", "b")
	c.take(longLock)
}

// Wait on a paused queue does not answer at once for its ready messages
// (after at most one spurious wake, such as an enqueue's), so an idle
// worker does not spin; ResumeQueue wakes a waiter.
func ctlPausedWait(c *checker) {
	c.pause(c.q)
	c.add("m1", "a")
	_ = c.b().Wait(c.ctx, c.q, 50*time.Millisecond) // may end on the enqueue's wake
	wait := 150 * time.Millisecond
	start := time.Now()
	if err := c.b().Wait(c.ctx, c.q, wait); err != nil {
		c.Fatal(err)
	}
	if took := time.Since(start); took < wait-margin {
		c.Fatalf("Wait on a paused queue with a ready message answered after %s, want about %s", took, wait)
	}
	go func() {
		time.Sleep(margin)
		_ = c.b().ResumeQueue(c.ctx, c.q)
	}()
	start = time.Now()
	if err := c.b().Wait(c.ctx, c.q, 5*time.Second); err != nil {
		c.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		c.Fatalf("ResumeQueue did not wake a waiter: Wait answered after %s", took)
	}
	c.take(longLock)
}

func ctlCancelNone(c *checker) {
	before := c.dump()
	c.cancel("nope", core.StatusNone)
	c.wantUnchanged(before, "cancelling an unknown id")
}

// A queued message is removed: never handled, not counted.
func ctlCancelQueued(c *checker) {
	c.add("m1", "a")
	c.add("m2", "b")
	c.cancel("m1", core.StatusQueued)
	c.wantStatus("m1", core.StatusNone)
	c.wantStats(c.q, core.QueueStats{Queued: 1, Total: 1})
	c.wantDelivery(c.take(longLock), "m2", "b", 1, longLock)
	c.nothing()
	c.add("m1", "again") // the id is free
	c.wantDelivery(c.take(longLock), "m1", "again", 1, longLock)
}

func ctlCancelDelayed(c *checker) {
	c.add("m1", "a", core.WithDelay(200*time.Millisecond))
	c.cancel("m1", core.StatusQueuedWithBackoff)
	c.wantStatus("m1", core.StatusNone)
	c.wantStats(c.q, core.QueueStats{})
	c.advance(200*time.Millisecond + margin)
	c.nothing()
}

// takeAndCancel enqueues and takes one message and cancels it while locked.
func (c *checker) takeAndCancel(id string) core.Delivery {
	c.Helper()
	c.add(id, "p")
	d := c.take(longLock)
	c.cancel(id, core.StatusLocked)
	c.wantStatus(id, core.StatusLocked)
	if !c.info(id).Canceled {
		c.Fatalf("content of cancelled %q does not say Canceled", id)
	}
	errs := c.extend(core.LockRef{ID: d.ID, Token: d.Token, Duration: longLock})
	if !errors.Is(errs[0], core.ErrCanceled) {
		c.Fatalf("extending the lock of a cancelled message: %v, want ErrCanceled", errs[0])
	}
	c.wantStatus(id, core.StatusLocked) // extended all the same
	c.cancel(id, core.StatusLocked)     // again: no change
	return d
}

// A retry of a cancelled message ends it: done, no dead letter.
func ctlCancelLockedRetry(c *checker) {
	d := c.takeAndCancel("m1")
	c.ack(d, core.OutcomeRetry, time.Second)
	c.wantDoneOrGone("m1")
	c.nothing()
	c.wantStatus("m1", core.StatusNone)
	if dl := c.deadLetters(c.q, 0, 10); len(dl) != 0 {
		c.Fatalf("a cancelled retry left %d dead letters", len(dl))
	}
}

func ctlCancelLockedSuccess(c *checker) {
	d := c.takeAndCancel("m1")
	c.ack(d, core.OutcomeSuccess, 0)
	c.wantDoneOrGone("m1")
	c.nothing()
	c.wantStats(c.q, core.QueueStats{})
}

// A handler that fails for its own reasons is dead-lettered as usual.
func ctlCancelLockedError(c *checker) {
	d := c.takeAndCancel("m1")
	a := ackOf(d, core.OutcomeError, 0)
	a.Error = "boom"
	if err := c.ackOne(a); err != nil {
		c.Fatal(err)
	}
	c.wantDoneOrGone("m1")
	if dl := c.deadLetters(c.q, 0, 10); len(dl) != 1 || dl[0].Error != "boom" {
		c.Fatalf("dead letters %+v, want one with error boom", dl)
	}
}

// Cancelling a locked message drops its pending requeue copy.
func ctlCancelLockedRequeue(c *checker) {
	c.add("m1", "a")
	d := c.take(longLock)
	c.add("m1", "b", core.WithRequeue())
	c.cancel("m1", core.StatusLockedWithRequeue)
	c.wantStatus("m1", core.StatusLocked)
	if c.info("m1").Requeue {
		c.Fatal("the requeue copy survived the cancel")
	}
	c.ack(d, core.OutcomeSuccess, 0)
	c.wantDoneOrGone("m1")
	c.nothing()
	c.wantStatus("m1", core.StatusNone)
}

// An enqueue with requeue after the cancel stores a new copy, handled once
// the cancelled handling ends.
func ctlCancelThenRequeue(c *checker) {
	d := c.takeAndCancel("m1")
	c.wantAction(c.enq("m1", "new", core.WithRequeue()), core.Added)
	c.wantStatus("m1", core.StatusLockedWithRequeue)
	c.ack(d, core.OutcomeRetry, 0)
	c.wantStatus("m1", core.StatusDoneWithRequeue)
	c.wantDelivery(c.take(longLock), "m1", "new", 1, longLock)
}

// A cancelled message whose handler is gone (its lock expires) is dropped,
// not handled again.
func ctlCancelLockExpired(c *checker) {
	lock := 200 * time.Millisecond
	c.add("m1", "a")
	d := c.take(lock)
	c.cancel("m1", core.StatusLocked)
	c.advance(lock + margin)
	c.wantStatus("m1", core.StatusDoneAwaitingGC)
	c.nothing()
	c.nothing()
	c.wantStatus("m1", core.StatusNone)
	c.wantStats(c.q, core.QueueStats{})
	// The late answer of the vanished handler changes nothing.
	if err := c.ackOne(ackOf(d, core.OutcomeRetry, 0)); !errors.Is(err, core.ErrLockLost) {
		c.Fatalf("late ack after the drop: %v, want ErrLockLost", err)
	}
}

// Once its handler is gone, a cancelled message is done without backoff:
// an enqueue of its id stores a copy, handled as a new message.
func ctlCancelLockExpiredEnqueue(c *checker) {
	lock := 200 * time.Millisecond
	c.add("m1", "a")
	c.take(lock)
	c.cancel("m1", core.StatusLocked)
	c.advance(lock + margin)
	c.wantAction(c.enq("m1", "b"), core.Added)
	c.wantStatus("m1", core.StatusDoneWithRequeue)
	c.wantAction(c.enq("m1", "c", core.WithUpdate()), core.Updated)
	c.wantDelivery(c.take(longLock), "m1", "c", 1, longLock)
}

// Done messages are left as they are.
func ctlCancelDone(c *checker) {
	c.add("m1", "a")
	c.ack(c.take(longLock), core.OutcomeSuccess, longLock)
	before := c.dump()
	c.cancel("m1", core.StatusDoneWithBackoff)
	c.wantUnchanged(before, "cancelling a done-with-backoff message")
	c.wantStatus("m1", core.StatusDoneWithBackoff)
}

func ctlCancelDoneRequeue(c *checker) {
	c.add("m1", "a")
	d := c.take(longLock)
	c.add("m1", "b", core.WithRequeue())
	c.ack(d, core.OutcomeSuccess, 0)
	c.wantStatus("m1", core.StatusDoneWithRequeue)
	c.cancel("m1", core.StatusDoneWithRequeue)
	c.wantStatus("m1", core.StatusDoneAwaitingGC, core.StatusNone)
	c.nothing()
	c.nothing()
	c.wantStatus("m1", core.StatusNone)
}

func (c *checker) wantLimits(what string, gotMax int, gotTimeout time.Duration, wantMax int, wantTimeout time.Duration) {
	c.Helper()
	if gotMax != wantMax || gotTimeout != wantTimeout {
		c.Fatalf("%s: limits %d, %s; want %d, %s", what, gotMax, gotTimeout, wantMax, wantTimeout)
	}
}

// A message's own limits reach its handlers, its content listing and its
// retries.
func ctlLimits(c *checker) {
	c.add("m1", "a", core.WithMaxAttempts(3), core.WithHandlingTimeout(2*time.Second))
	c.add("m2", "b")
	m := c.info("m1")
	c.wantLimits("content of m1", m.MaxAttempts, m.Timeout, 3, 2*time.Second)
	res := c.dequeue(2, longLock)
	if len(res.Messages) != 2 {
		c.Fatalf("took %d messages, want 2", len(res.Messages))
	}
	d1, d2 := res.Messages[0], res.Messages[1]
	c.wantLimits("delivery of m1", d1.MaxAttempts, d1.Timeout, 3, 2*time.Second)
	c.wantLimits("delivery of m2", d2.MaxAttempts, d2.Timeout, 0, 0)
	c.wantPayload("m1", d1.Payload, "a")
	c.ack(d1, core.OutcomeRetry, 0)
	d := c.take(longLock)
	c.wantLimits("retried m1", d.MaxAttempts, d.Timeout, 3, 2*time.Second)
}

// An update replaces the content and the limits with it: one without
// limits leaves the message without.
func ctlLimitsUpdate(c *checker) {
	c.add("m1", "a", core.WithMaxAttempts(3), core.WithHandlingTimeout(time.Second))
	c.wantAction(c.enq("m1", "b", core.WithUpdate()), core.Updated)
	d := c.take(longLock)
	c.wantPayload("updated", d.Payload, "b")
	c.wantLimits("updated m1", d.MaxAttempts, d.Timeout, 0, 0)
	c.add("m2", "a")
	c.wantAction(c.enq("m2", "b", core.WithUpdate(), core.WithMaxAttempts(5)), core.Updated)
	c.wantLimits("m2 updated with limits", c.take(longLock).MaxAttempts, 0, 5, 0)
}

// A requeue copy carries the limits of its own enqueue.
func ctlLimitsRequeue(c *checker) {
	c.add("m1", "a", core.WithMaxAttempts(2))
	d := c.take(longLock)
	c.add("m1", "b", core.WithRequeue(), core.WithHandlingTimeout(3*time.Second))
	c.ack(d, core.OutcomeSuccess, 0)
	d = c.take(longLock)
	c.wantPayload("requeued", d.Payload, "b")
	c.wantLimits("requeued m1", d.MaxAttempts, d.Timeout, 0, 3*time.Second)
}

func ctlLimitsDeadLetter(c *checker) {
	c.add("m1", "a", core.WithMaxAttempts(4), core.WithHandlingTimeout(time.Second), core.WithHeader("k", "v"))
	c.ack(c.take(longLock), core.OutcomeError, 0)
	dl := c.deadLetters(c.q, 0, 10)
	if len(dl) != 1 || string(dl[0].Payload) != "a" || dl[0].Headers["k"] != "v" {
		c.Fatalf("dead letters %+v", dl)
	}
	if n, err := c.b().RequeueDeadLetters(c.ctx, c.q); err != nil || n != 1 {
		c.Fatalf("RequeueDeadLetters: %d, %v", n, err)
	}
	d := c.take(longLock)
	c.wantLimits("requeued dead letter", d.MaxAttempts, d.Timeout, 4, time.Second)
}

func ctlInvalid(c *checker) {
	before := c.dump()
	c.wantInvalid("PauseQueue of a bad name", c.b().PauseQueue(c.ctx, "a{b}"), "queue")
	c.wantInvalid("ResumeQueue of an empty name", c.b().ResumeQueue(c.ctx, ""), "queue")
	_, err := c.b().CancelMessage(c.ctx, c.q, "")
	c.wantInvalid("CancelMessage of an empty id", err, "id")
	r := c.req("m1", "a")
	r.MaxAttempts = -1
	c.wantInvalid("negative MaxAttempts", c.enqueueAll(r)[0].Err, "max attempts")
	r = c.req("m1", "a")
	r.Timeout = -time.Second
	c.wantInvalid("negative Timeout", c.enqueueAll(r)[0].Err, "timeout")
	err = c.b().RegisterWorker(c.ctx, core.WorkerInfo{ID: "w"}, 0)
	c.wantInvalid("RegisterWorker with no ttl", err, "ttl")
	err = c.b().RegisterWorker(c.ctx, core.WorkerInfo{}, time.Second)
	c.wantInvalid("RegisterWorker with no id", err, "worker id")
	c.wantUnchanged(before, "refused control calls")
}

func (c *checker) workers() map[string]core.WorkerInfo {
	c.Helper()
	ws, err := c.b().Workers(c.ctx)
	if err != nil {
		c.Fatalf("Workers: %v", err)
	}
	out := make(map[string]core.WorkerInfo, len(ws))
	for _, w := range ws {
		out[w.ID] = w
	}
	return out
}

// Registrations are listed until they expire or are removed; a refresh
// moves the expiry.
func ctlRegistry(c *checker) {
	id1, id2 := c.q+"/w1", c.q+"/w2"
	started := time.Now().Truncate(time.Millisecond)
	ttl := 300 * time.Millisecond
	reg := func(id string, inFlight int) {
		c.Helper()
		err := c.b().RegisterWorker(c.ctx, core.WorkerInfo{ID: id, Host: "h", PID: 42, Queues: []string{c.q},
			Concurrency: 4, InFlight: inFlight, StartedAt: started}, ttl)
		if err != nil {
			c.Fatalf("RegisterWorker(%q): %v", id, err)
		}
	}
	reg(id1, 1)
	reg(id2, 0)
	ws := c.workers()
	w, ok := ws[id1]
	if !ok || ws[id2].ID != id2 {
		c.Fatalf("Workers %v lacks %q or %q", ws, id1, id2)
	}
	if w.Host != "h" || w.PID != 42 || !slices.Equal(w.Queues, []string{c.q}) || w.Concurrency != 4 ||
		w.InFlight != 1 || !w.StartedAt.Equal(started) {
		c.Fatalf("Workers answered %+v", w)
	}
	if w.LastSeen.IsZero() || w.ExpiresAt.Sub(w.LastSeen) != ttl {
		c.Fatalf("registration times: last seen %v, expires %v; want expiry ttl %s later", w.LastSeen, w.ExpiresAt, ttl)
	}
	if err := c.b().UnregisterWorker(c.ctx, id2); err != nil {
		c.Fatal(err)
	}
	if _, ok := c.workers()[id2]; ok {
		c.Fatalf("%q listed after UnregisterWorker", id2)
	}
	c.advance(ttl / 2)
	reg(id1, 3) // a heartbeat
	if w := c.workers()[id1]; w.InFlight != 3 {
		c.Fatalf("refreshed registration answers in-flight %d, want 3", w.InFlight)
	}
	c.advance(ttl/2 + margin)
	if _, ok := c.workers()[id1]; !ok {
		c.Fatalf("%q expired although refreshed", id1)
	}
	c.advance(ttl / 2)
	if _, ok := c.workers()[id1]; ok {
		c.Fatalf("%q still listed a ttl after its last refresh", id1)
	}
}
