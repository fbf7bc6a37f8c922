package core

import (
	"errors"
	"fmt"
)

// Refusals of an enqueue. They are answers, not failures: nothing was
// changed and nothing is lost; the caller decides what to do.
var (
	// ErrAlreadyQueued: a message with this id is waiting (or a requeue
	// copy is already pending) and the enqueue may not update it.
	ErrAlreadyQueued = errors.New("redghost: already queued")
	// ErrLocked: a message with this id is with a handler now and the
	// enqueue may not requeue it.
	ErrLocked = errors.New("redghost: locked")
	// ErrBackoff: a message with this id was handled and its id is held
	// (de-dup window) and the enqueue may not requeue it.
	ErrBackoff = errors.New("redghost: done, id held by backoff")
)

var (
	// ErrInvalid is matched by every [*InvalidError].
	ErrInvalid = errors.New("redghost: invalid input")
	// ErrLockLost: an acknowledgement or lock extension carried a token
	// that no longer owns the message's lock (the lock expired and the
	// message was handed to another handler, or it is gone). Nothing was
	// changed.
	ErrLockLost = errors.New("redghost: lock lost")
	// ErrCanceled is the cause of a handler context cancelled because its
	// message was cancelled ([Queue.Cancel]); lock extensions of a
	// cancelled message answer it too.
	ErrCanceled = errors.New("redghost: message canceled")
	// ErrClosed: the worker was stopped; a stopped worker does not start
	// again (build a new one).
	ErrClosed = errors.New("redghost: closed")
	// ErrStarted: [Worker.Start] (or [Worker.Run]) was called on a worker
	// that is already running.
	ErrStarted = errors.New("redghost: already started")
)

// InvalidError says which input was rejected and why. Nothing was written.
//
// For a message, Field names the part of the request ("queue", "id",
// "payload", "headers", "delay", ...) and Queue the queue it was sent to
// (empty when the queue name itself was refused). For configuration, Field
// names the option (e.g. "WithConcurrency") and Reason says what was given.
type InvalidError struct {
	Queue  string // the queue of the rejected message, if any
	Field  string
	Reason string
}

func (e *InvalidError) Error() string {
	if e.Queue != "" {
		return fmt.Sprintf("redghost: queue %q: invalid %s: %s", e.Queue, e.Field, e.Reason)
	}
	return fmt.Sprintf("redghost: invalid %s: %s", e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrInvalid) true for every InvalidError.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
