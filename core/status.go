package core

import "time"

// Status is a message's status, derived as in the reference (SEMANTICS.md §2).
type Status uint8

const (
	StatusNone              Status = iota // not in the queue, or garbage-collected
	StatusQueued                          // waiting for a handler
	StatusQueuedWithBackoff               // waiting, skipped until its backoff expires
	StatusLocked                          // with a handler now
	StatusLockedWithRequeue               // with a handler; a new copy is queued once it is done
	StatusDoneAwaitingGC                  // handled; removed on the next visit
	StatusDoneWithBackoff                 // handled; id held until the backoff expires
	StatusDoneWithRequeue                 // handled; a requeue is pending
)

var statusNames = [...]string{"none", "queued", "queued-with-backoff", "locked",
	"locked-with-requeue", "done-awaiting-gc", "done-with-backoff", "done-with-requeue"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// QueueStats counts a queue's messages in O(1). Locked and Backoff may
// include entries whose lock or backoff has just expired.
type QueueStats struct {
	Queued  int64
	Locked  int64
	Backoff int64
	Done    int64
	Total   int64 // Queued + Locked + Backoff + Done
	Dead    int64 // entries in the dead-letter list

	// OldestReady is how long the longest-waiting queued message has been
	// ready to handle, by the backend's clock (zero when nothing is
	// queued): the number to alert on when workers fall behind or stop.
	//
	// A message is ready from when it was enqueued, or, when it came back,
	// from when its delay or backoff expired, its lock expired, or it was
	// retried without a backoff; time spent in a backoff or with a handler
	// does not count. A message that comes due again goes to the head of
	// the ready list, ahead of the backlog, so the longest-waiting one need
	// not be the first: backends look at the first [OldestReadyLookahead]
	// messages of the ready list (O(1)) and answer the longest wait among
	// them. A backoff or lock that expired while no worker dequeued counts
	// once a dequeue has moved its message back to ready.
	OldestReady time.Duration
	// Paused: workers take nothing from the queue ([Queue.Pause]).
	Paused bool
}

// OldestReadyLookahead is how many messages at the head of a queue's ready
// list backends look at for [QueueStats.OldestReady].
const OldestReadyLookahead = 8

// MessageInfo is one message of a queue's content listing (for debugging).
type MessageInfo struct {
	ID       string
	Status   Status
	Payload  []byte
	Headers  map[string]string
	Attempt  int
	Age      time.Duration // since first enqueued, by the backend's clock
	Backoff  time.Duration // remaining backoff, if any
	LockLeft time.Duration // remaining lock, if locked
	Requeue  bool          // a requeue copy is pending
	// Canceled: the message was cancelled while locked; its handler is
	// told at its next heartbeat ([Queue.Cancel]).
	Canceled bool
	// MaxAttempts and Timeout are the message's own limits
	// ([WithMaxAttempts], [WithHandlingTimeout]); zero: none.
	MaxAttempts int
	Timeout     time.Duration
}

// DeadLetter is a copy of a failed message kept in a queue's dead-letter list.
type DeadLetter struct {
	ID       string
	Queue    string
	Payload  []byte
	Headers  map[string]string
	Attempt  int       // attempts made when it failed
	Error    string    // the error text
	FailedAt time.Time // by the backend's clock
}
