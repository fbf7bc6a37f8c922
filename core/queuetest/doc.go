// Package queuetest is the conformance suite that every [core.Backend]
// passes, and the [ManualClock] that tests use to move time by hand.
//
// A backend's tests call [Run] with a [Harness] whose New makes an isolated
// backend for one test, and whose Features declare the optional
// capabilities it has:
//
//	func TestConformance(t *testing.T) {
//		queuetest.Run(t, queuetest.Harness{Features: queuetest.Features{WaitDequeue: true}, New: func(t *testing.T) queuetest.Env {
//			clock := queuetest.NewManualClock(time.Now())
//			b, err := memqueue.New(memqueue.WithClock(clock))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return queuetest.Env{Backend: b, Advance: clock.Advance, Dump: b.Dump}
//		}})
//	}
//
// Every test runs in parallel and uses its own queue names, derived from
// t.Name() (see [QueueName]). Whatever a test waits for lasts a few hundred
// milliseconds, so the suite also runs against a backend on a real clock
// (Advance sleeps) in a few seconds.
//
// # What the suite covers
//
//   - Reference: the reference's own cases (SEMANTICS.md §8, 1 to 11) at the
//     level of backend calls.
//   - Extensions (§9): fenced acknowledgements and lock extensions, the
//     lock heartbeat, late acks, batches, ready before delayed, headers,
//     NextDue, Wait.
//   - Outcomes (§5): success, retry and error with and without backoff, and
//     the dead-letter list.
//   - Enqueue (§3): every row of the enqueue table.
//   - Admin (§7): every status, QueueStats and its OldestReady,
//     QueueContent paging, QueueNames, ClearQueues.
//   - Invalid: bad input gets a *core.InvalidError and writes nothing.
//   - Concurrency: producers and consumers on one queue; every message is
//     handled exactly once.
//   - Control: pause and resume (a paused queue takes nothing, enqueues
//     go in, taken messages are extended and acknowledged, the pause is
//     listed and cleared with the queue); cancel in every status (queued,
//     delayed, locked with each outcome, locked with a requeue copy, a
//     locked message whose handler vanished, done states, none); a
//     message's own limits through update, requeue, retry and dead
//     letters; the worker registry's expiry.
//   - WaitDequeue (Features.WaitDequeue): woken by an enqueue, timeout,
//     done context, invalid params, and a worker's idle loop that takes a
//     delayed message or a retry by its due time, woken by the retry's ack.
//   - Schedules (Features.Schedules, core.ScheduleStore): a slot is
//     enqueued once, an earlier or equal slot is refused with nothing
//     written, also after the slot's message was handled and collected; a
//     refused enqueue still records the slot; schedules are apart by queue
//     and name; the registry lists sorted, refreshes and expires; clearing
//     a queue forgets its schedules.
//
// A backend that claims a capability without its interface, or has the
// interface of one it does not claim, fails; the cases of a capability not
// claimed are skipped.
//
// # The contract beyond SEMANTICS.md
//
// Where SEMANTICS.md leaves a choice to the backend, the suite fixes what a
// caller can observe:
//
//   - Dequeue does its maintenance before it takes messages, so a message
//     that the maintenance makes ready (expired delay, backoff or lock, a
//     pending requeue) is taken by the same call. A message that is due
//     again (expired delay, backoff or lock) goes to the head of the
//     queue, earliest due first, so a crashed handler's or a retried
//     message is not kept waiting behind the backlog; messages enqueued
//     ready, and pending requeue copies, join the tail in enqueue order.
//   - A done message is garbage-collected at its ack or on the next
//     Dequeue; in between it reports done-awaiting-gc. A done message whose
//     backoff expired reports done-awaiting-gc until the next Dequeue.
//   - Tokens are never 0 and grow with each Dequeue call of a queue. An ack
//     or extension applies when the message exists, is not done and its
//     token matches, even after the lock expired if nobody took the message
//     again. An applied ack spends the token: a retry releases the lock, so
//     a second ack or an extension with the same token answers
//     core.ErrLockLost.
//   - The content of a message is its payload and its headers: an update or
//     a requeue copy replaces both, so an update without headers leaves
//     none. A retry keeps both. An update replaces the message's own lock
//     duration, clearing it when the update gives none; it keeps the
//     first-enqueued time. A requeue copy ignores Delay.
//   - An error outcome with a pending requeue copy keeps a dead letter of
//     the failed content and queues the copy.
//   - QueueStats counts ids (a pending requeue copy is not counted apart):
//     Done counts every done message, Locked every locked one (with or
//     without requeue), Backoff every queued one with a backoff.
//   - QueueStats.OldestReady is ready time, not age: a message is ready
//     from its enqueue, its lock's or backoff's expiry, or its retry's ack
//     (without a backoff); it looks past messages that came due again at
//     the head of the ready list (core.OldestReadyLookahead of them).
//   - QueueNames lists a queue while it holds a message or a dead letter.
//   - Bad input: in an Enqueue batch a bad request gets an InvalidError in
//     its result and the others go through; in an Ack or ExtendLocks batch a
//     bad entry gets an InvalidError in errs and the others apply. A bad
//     queue name, lock, max, limit or offset fails the whole call. The
//     InvalidError's Field is "queue", "id", "payload", "headers", "delay",
//     "lock duration", "options", "outcome", "backoff", "limit" or
//     "offset", as core's validators name them; for Dequeue and
//     WaitDequeue it is the params field: "Queue", "Max", "Lock" or
//     "Timeout". A refused enqueue request's
//     InvalidError names its queue (Queue, and in Error()) unless the queue
//     name itself was refused, and its result carries the request's own id,
//     or none when it had none: never a fresh id. Through a core.Publisher
//     the same holds for the ids the publisher assigns, and WithID("") is
//     refused (Field "id") rather than given a fresh id.
//   - An ack or enqueue that schedules a retry, pending copy or delay
//     before everything else pending wakes a waiting Wait or WaitDequeue.
//   - An error text over core.MaxErrorBytes is kept cut to that many bytes
//     at a character boundary.
//   - Wait on a done context answers an error that matches the context's.
//
// Boundedness of the dead-letter list is left to each backend's own tests.
package queuetest
