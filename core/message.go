package core

import "time"

// Message is one message as a handler sees it.
//
// Middleware must not mutate a Message it is given; copy it (see [Message.Clone])
// before changing fields for the next handler.
type Message struct {
	// ID is the message id (the reference's mid). Enqueueing again with the
	// same id de-duplicates, updates or requeues.
	ID string
	// Queue is the name of the queue the message was taken from.
	Queue string
	// Payload is the message content, opaque to the backend.
	Payload []byte
	// Headers travel with the message and survive update and requeue.
	// Trace context is carried here.
	Headers map[string]string
	// Attempt counts the handlings of this copy of the message, starting at 1.
	Attempt int
	// LockDuration is how long the lock on this handling lasts without a
	// heartbeat: the message's own lock duration, or the worker's default.
	LockDuration time.Duration
	// EnqueuedAt is when this copy of the message was first enqueued, by the
	// backend's clock.
	EnqueuedAt time.Time
	// MaxAttempts is the message's own bound on its handlings
	// ([WithMaxAttempts]); zero: none, the worker's Retry middleware
	// default applies. Retry middleware honours it over its own.
	MaxAttempts int
	// Timeout is the message's own handling timeout
	// ([WithHandlingTimeout]); zero: none. Timeout middleware honours it
	// over its own.
	Timeout time.Duration
}

// Age is how long ago the message was first enqueued, as of now.
func (m *Message) Age(now time.Time) time.Duration { return now.Sub(m.EnqueuedAt) }

// Clone returns a copy of m whose Headers map may be changed freely.
// The payload bytes are shared.
func (m *Message) Clone() *Message {
	c := *m
	if m.Headers != nil {
		c.Headers = make(map[string]string, len(m.Headers))
		for k, v := range m.Headers {
			c.Headers[k] = v
		}
	}
	return &c
}

// Delivery is a message handed out by [Backend.Dequeue] together with the
// lock token that fences its acknowledgement and its lock extensions.
type Delivery struct {
	Message
	// Token identifies this handling's lock. An [Ack] or lock extension that
	// carries a token that no longer owns the lock is rejected and changes
	// nothing.
	Token uint64
}
