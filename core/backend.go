package core

import (
	"context"
	"time"
)

// Backend is the pluggable queue core. Its calls are batch-shaped so that
// backends can be fast: one round trip enqueues, takes, acknowledges or
// extends many messages. Implementations are safe for concurrent use and
// must pass the conformance suite in core/queuetest.
//
// Backends validate their input (see [Limits]) and answer an
// [*InvalidError] without writing anything.
type Backend interface {
	// Enqueue enqueues a batch, possibly to several queues. It answers one
	// result per request, in order; the error is for a failure of the whole
	// call (the backend is unreachable), in which case results is nil.
	// Requests with an empty ID are given a fresh one.
	Enqueue(ctx context.Context, reqs []EnqueueRequest) ([]EnqueueResult, error)

	// Dequeue takes up to p.Max handle-able messages from p.Queue and
	// locks each for its own lock duration or, if it has none, for p.Lock.
	// On the way it does the maintenance it meets: moves messages whose
	// backoff or lock expired back to ready, garbage-collects done messages
	// and requeues pending copies. Invalid params (see
	// [DequeueParams.Validate]) answer an [*InvalidError] naming the field,
	// and nothing is taken.
	Dequeue(ctx context.Context, p DequeueParams) (DequeueResult, error)

	// Ack applies handler outcomes. Each ack is fenced by its token: one
	// whose token no longer owns the lock answers ErrLockLost and changes
	// nothing. errs has one entry per ack (nil: applied).
	Ack(ctx context.Context, queue string, acks []Ack) (errs []error, err error)

	// ExtendLocks extends the locks of in-flight messages to now + their
	// duration (the heartbeat). errs has one entry per lock: nil,
	// ErrLockLost if the token no longer owns the lock, or ErrCanceled if
	// the message was cancelled ([Inspector.CancelMessage]) while its
	// token owns the lock (the lock is extended all the same, so that the
	// handler's answer is still taken).
	ExtendLocks(ctx context.Context, queue string, locks []LockRef) (errs []error, err error)

	// RegisterWorker adds or refreshes the registration of a running
	// worker (by info.ID) until ttl from now, by the backend's clock; the
	// backend sets info.LastSeen. A worker that stops refreshing it (a
	// crashed process) leaves [Inspector.Workers] once ttl has passed.
	RegisterWorker(ctx context.Context, info WorkerInfo, ttl time.Duration) error
	// UnregisterWorker removes a worker's registration at once.
	UnregisterWorker(ctx context.Context, id string) error

	// Wait blocks until a message may be ready on queue (an enqueue woke it,
	// or an Ack scheduled a retry sooner than anything else pending, so
	// that the waiter reads the new [DequeueResult.NextDue]) or timeout
	// passes or ctx is done. It answers early rather than late, and within
	// a few milliseconds of timeout; a spurious wake is allowed.
	Wait(ctx context.Context, queue string, timeout time.Duration) error

	Inspector
}

// WaitDequeuer is implemented by backends that can wait and then dequeue
// in one step: for a remote backend, one round trip instead of two for
// every wake-up of an idle worker. Workers use it when their backend has
// it, and Wait then Dequeue otherwise.
type WaitDequeuer interface {
	// WaitDequeue waits as Wait does for at most p.Timeout, in at most one
	// blocking step (it may answer before the timeout, as Wait may), then
	// dequeues as Dequeue does, whether it was woken or not. Invalid params
	// (see [WaitDequeueParams.Validate]) answer an [*InvalidError] naming
	// the field, and nothing is taken. If ctx is done before the wait
	// begins, it answers ctx's error and takes nothing; once the wait has
	// begun, the dequeue runs to its end, so that no message is locked and
	// then lost with a cut-off answer.
	WaitDequeue(ctx context.Context, p WaitDequeueParams) (DequeueResult, error)
}

// Inspector holds the admin calls of a backend.
type Inspector interface {
	// MessageStatus is the status of one message id.
	MessageStatus(ctx context.Context, queue, id string) (Status, error)
	// QueueStats counts a queue's messages by status in O(1).
	QueueStats(ctx context.Context, queue string) (QueueStats, error)
	// QueueContent lists up to limit messages starting at cursor ("" for
	// the first page); next is "" after the last page. O(n), for debugging.
	QueueContent(ctx context.Context, queue, cursor string, limit int) (msgs []MessageInfo, next string, err error)
	// QueueNames lists the queues that hold messages or dead letters.
	QueueNames(ctx context.Context) ([]string, error)
	// ClearQueues deletes every trace of the named queues, dead letters included.
	ClearQueues(ctx context.Context, queues ...string) error

	// DeadLetters lists up to limit dead letters of queue, newest first,
	// skipping offset.
	DeadLetters(ctx context.Context, queue string, offset, limit int) ([]DeadLetter, error)
	// RequeueDeadLetters enqueues the named dead letters again (all of them
	// when ids is empty) as fresh messages with attempt 0, and removes them
	// from the dead-letter list. A dead letter whose id is live in the queue
	// stays in the list. It answers how many were requeued.
	RequeueDeadLetters(ctx context.Context, queue string, ids ...string) (int, error)
	// PurgeDeadLetters empties queue's dead-letter list and answers how
	// many entries it removed.
	PurgeDeadLetters(ctx context.Context, queue string) (int, error)

	// PauseQueue stops every worker, in every process, from taking
	// messages from queue within one wait cycle: Dequeue answers nothing
	// with [DequeueResult.Paused] set. Enqueues still succeed; messages
	// already taken are handled, acknowledged and heartbeated as usual.
	// The pause is stored in the backend and lasts until ResumeQueue;
	// pausing a paused queue changes nothing. [QueueStats.Paused] shows it.
	PauseQueue(ctx context.Context, queue string) error
	// ResumeQueue lifts a pause; resuming a queue that is not paused
	// changes nothing.
	ResumeQueue(ctx context.Context, queue string) error
	// CancelMessage cancels one message and answers its status before the
	// call (StatusNone: there was nothing to cancel). See [Queue.Cancel]
	// for what it does in each status.
	CancelMessage(ctx context.Context, queue, id string) (Status, error)
	// Workers lists the workers registered with [Backend.RegisterWorker]
	// whose registration has not expired, by id.
	Workers(ctx context.Context) ([]WorkerInfo, error)
}

// DequeueResult is what one Dequeue took.
type DequeueResult struct {
	Messages []Delivery
	// NextDue, when positive, is how soon (by the backend's clock) a
	// delayed, locked or held message becomes due: a worker with nothing to
	// do waits at most this long. Zero means unknown or nothing pending.
	NextDue time.Duration
	// Paused: the queue is paused ([Inspector.PauseQueue]); nothing was
	// taken and no maintenance was done. A worker waits a full wait cycle
	// before it asks again.
	Paused bool
}

// Ack is one handler outcome to apply.
type Ack struct {
	ID      string
	Token   uint64
	Outcome Outcome
	Backoff time.Duration
	// Error is the error text kept with the dead letter of an error outcome.
	Error string
}

// LockRef names one in-flight lock to extend.
type LockRef struct {
	ID       string
	Token    uint64
	Duration time.Duration // the lock's new length from now
}
