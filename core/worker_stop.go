package core

import (
	"context"
	"time"
)

// DefaultStopGrace is how long, by default, Stop waits past its deadline
// for cancelled handlers to answer and for their answers to be
// acknowledged.
const DefaultStopGrace = time.Second

// WithStopGrace sets how long [Worker.Stop] waits past its deadline for the
// handlers it has cancelled to return, and for their answers (a retry, as
// a handler that honours its context gives) to be acknowledged (default
// 1 s). So Stop returns at most d after its deadline. Answers given later
// are still sent, but nothing waits for them: the process may exit first,
// and their messages then come back when their locks expire. Zero does not
// wait at all. It must not be negative.
func WithStopGrace(d time.Duration) WorkerOption { return func(c *workerConfig) { c.stopGrace = d } }

func (c *workerConfig) validateStopGrace() error {
	if c.stopGrace < 0 {
		return invalid("WithStopGrace", "must not be negative, got %s", c.stopGrace)
	}
	return nil
}

// drainAfterDeadline runs when the deadline of a Stop (or of Pool.Remove)
// has passed: hardCancel cancels the handlers' context (a Stop's also
// stops the heartbeat; a Remove's is the queue's alone), then it waits,
// at most grace, for stopped (everything drained), so that the answers of
// handlers that return on the cancellation reach the backend before Stop
// returns. Past the grace, ackCancel stops the acknowledgers retrying a
// failed acknowledgement.
func drainAfterDeadline(hardCancel, ackCancel context.CancelFunc, grace time.Duration, stopped <-chan struct{}) {
	hardCancel()
	defer ackCancel()
	if grace <= 0 {
		return
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
	}
}
