package core

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Explanation says where one message id stands in a queue and what will
// happen to it next, in plain words. [Explain] makes it; the web UI and
// the redghost CLI both print it, so that they never disagree.
type Explanation struct {
	Queue, ID string
	// Status is the live message's status; StatusNone when the queue holds
	// no message with this id.
	Status Status
	// Message is the live message, or nil. It can be nil while Status is
	// not StatusNone when the message left the queue between the two reads.
	Message *MessageInfo
	// Dead is the newest dead letter with this id, or nil.
	Dead *DeadLetter
	// Why is the explanation, one sentence a line: what the status means
	// and what happens next, with the times left.
	Why []string
}

// State is the one word for the id: its status, or "dead" when the only
// trace of it is a dead letter.
func (e *Explanation) State() string {
	if e.Status == StatusNone && e.Dead != nil {
		return "dead"
	}
	return e.Status.String()
}

// Explain reads what queue holds for id (its status, the message, a dead
// letter) and explains it. A [MessageInspector] reads the live message by
// id; any other backend has its content paged, which costs O(queue
// length). A backend with a DeadLettersByID method (the Redis one) reads
// the dead letter by id; any other has its dead-letter list paged.
func Explain(ctx context.Context, in Inspector, queue, id string) (Explanation, error) {
	if err := ValidateQueueName(queue); err != nil {
		return Explanation{}, err
	}
	if err := ValidateID(id); err != nil {
		return Explanation{}, err
	}
	e := Explanation{Queue: queue, ID: id}
	st, err := in.MessageStatus(ctx, queue, id)
	if err != nil {
		return Explanation{}, err
	}
	e.Status = st
	if st != StatusNone {
		m, err := findMessage(ctx, in, queue, id)
		if err != nil {
			return Explanation{}, err
		}
		if m != nil {
			e.Message, e.Status = m, m.Status // the newer reading
		}
	}
	if e.Dead, err = findDeadLetter(ctx, in, queue, id); err != nil {
		return Explanation{}, err
	}
	e.Why = ExplainMessage(e.Status, e.Message, e.Dead)
	return e, nil
}

// MessageInspector is implemented by backends that read one message by id
// without listing the queue. [Explain] uses it when the backend has it.
type MessageInspector interface {
	// MessageInfo is the message with id as QueueContent lists it; found
	// is false when the queue holds no message with the id.
	MessageInfo(ctx context.Context, queue, id string) (info MessageInfo, found bool, err error)
}

// explainPage is the page size of Explain's listings.
const explainPage = 1000

func findMessage(ctx context.Context, in Inspector, queue, id string) (*MessageInfo, error) {
	if mi, ok := in.(MessageInspector); ok {
		m, found, err := mi.MessageInfo(ctx, queue, id)
		if err != nil || !found {
			return nil, err
		}
		return &m, nil
	}
	cursor := ""
	for {
		msgs, next, err := in.QueueContent(ctx, queue, cursor, explainPage)
		if err != nil {
			return nil, err
		}
		for i := range msgs {
			if msgs[i].ID == id {
				return &msgs[i], nil
			}
		}
		if next == "" {
			return nil, nil
		}
		cursor = next
	}
}

// deadLettersByID is what the Redis backend offers to read dead letters
// by id without listing them.
type deadLettersByID interface {
	DeadLettersByID(ctx context.Context, queue string, ids ...string) ([]DeadLetter, error)
}

func findDeadLetter(ctx context.Context, in Inspector, queue, id string) (*DeadLetter, error) {
	if f, ok := in.(deadLettersByID); ok {
		dl, err := f.DeadLettersByID(ctx, queue, id)
		if err != nil || len(dl) == 0 {
			return nil, err
		}
		return &dl[0], nil
	}
	for offset := 0; ; offset += explainPage {
		dl, err := in.DeadLetters(ctx, queue, offset, explainPage)
		if err != nil {
			return nil, err
		}
		for i := range dl {
			if dl[i].ID == id {
				return &dl[i], nil // newest first: the newest one
			}
		}
		if len(dl) < explainPage {
			return nil, nil
		}
	}
}

// ExplainMessage is the explanation of [Explain] from what was read: the
// status, the live message (nil if none was found) and the newest dead
// letter with its id (nil if none).
func ExplainMessage(st Status, m *MessageInfo, dead *DeadLetter) []string {
	var why []string
	add := func(format string, args ...any) { why = append(why, fmt.Sprintf(format, args...)) }
	var lockLeft, backoff time.Duration
	attempt := 0
	if m != nil {
		lockLeft, backoff, attempt = m.LockLeft, m.Backoff, m.Attempt
	}
	switch st {
	case StatusNone:
		if dead == nil {
			add("Not in the queue: never enqueued, or handled and collected, or cleared.")
		} else {
			add("Not in the queue any more: it failed and is kept as a dead letter.")
		}
	case StatusQueued:
		add("Queued: waiting for a handler; a worker takes it on its next dequeue.")
		if attempt > 0 {
			add("Handled %s before without success (a retry without backoff, or a lock that expired before its handler answered); the next handling is attempt %d.", times(attempt), attempt+1)
		}
	case StatusQueuedWithBackoff:
		if attempt == 0 {
			add("Waiting for its initial delay, due in %s; then it is queued for a handler.", Plain(backoff))
		} else {
			add("Waiting for its backoff, due in %s; then it is handled again, as attempt %d.", Plain(backoff), attempt+1)
		}
	case StatusLocked, StatusLockedWithRequeue:
		add("Locked by a handler (attempt %d); the lock expires in %s unless its heartbeat extends it.", attempt, Plain(lockLeft))
		if m != nil && m.Canceled {
			add("Cancelled: the worker's next heartbeat tells it, and it cancels the handler's context; the message then ends as the handler answers (a retry or a failure from the cancel ends it without a dead letter). If the lock expires first, the message is dropped, not handled again.")
		} else {
			add("If the lock expires (the handler crashed or stalled), the message is queued again and handled once more.")
		}
		if st == StatusLockedWithRequeue {
			add("A newer copy is queued once the handler is done.")
		}
	case StatusDoneAwaitingGC:
		add("Done: handled; it is removed on a worker's next visit, and an enqueue of this id adds it anew.")
	case StatusDoneWithBackoff:
		add("Done, held %s more so enqueues of this id are refused as backoff (an enqueue that allows a requeue queues a new copy after it).", Plain(backoff))
	case StatusDoneWithRequeue:
		if backoff > 0 {
			add("Done; a newer copy is waiting and is queued after the hold of %s more.", Plain(backoff))
		} else {
			add("Done; a newer copy is waiting and is queued on a worker's next visit.")
		}
	default:
		add("Unknown status %d.", st)
	}
	if m != nil && (m.MaxAttempts > 0 || m.Timeout > 0) && st >= StatusQueued && st <= StatusLockedWithRequeue {
		add("%s", limits(m.MaxAttempts, m.Timeout))
	}
	if dead != nil {
		add("Dead letter: failed at %s after %s with the error: %s", dead.FailedAt.UTC().Format(time.RFC3339), times(dead.Attempt), oneLine(dead.Error))
		if st == StatusNone {
			add("It stays in the dead-letter list until it is requeued (as a fresh message, attempt 0) or purged.")
		} else {
			add("A requeue of this dead letter waits until the live message with its id has left the queue.")
		}
	}
	return why
}

// limits is the sentence on a message's own limits, either of which may
// be zero (not set).
func limits(maxAttempts int, timeout time.Duration) string {
	var parts []string
	if maxAttempts > 0 {
		parts = append(parts, fmt.Sprintf("at most %d handlings (Retry middleware turns a retry on the last one into a failure, over its own bound)", maxAttempts))
	}
	if timeout > 0 {
		parts = append(parts, fmt.Sprintf("each handling gets %s (Timeout middleware uses it over its own)", Plain(timeout)))
	}
	return "Its own limits: " + strings.Join(parts, "; ") + "."
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// oneLine keeps an error text on one line: line breaks become " | ".
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "(no error text)"
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " | ")), " ")
}

// Plain writes a duration for a person: "850 ms", "12 s", "2 min 5 s",
// "3 h 20 min", "2 d 4 h". Durations of a second or more are rounded to
// the second; zero or less is "0 s".
func Plain(d time.Duration) string {
	switch {
	case d <= 0:
		return "0 s"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	s := int64(d.Round(time.Second) / time.Second)
	days, s := s/86400, s%86400
	h, s := s/3600, s%3600
	m, s := s/60, s%60
	switch {
	case days > 0:
		return join2(days, "d", h, "h")
	case h > 0:
		return join2(h, "h", m, "min")
	case m > 0:
		return join2(m, "min", s, "s")
	}
	return fmt.Sprintf("%d s", s)
}

func join2(a int64, ua string, b int64, ub string) string {
	if b == 0 {
		return fmt.Sprintf("%d %s", a, ua)
	}
	return fmt.Sprintf("%d %s %d %s", a, ua, b, ub)
}
