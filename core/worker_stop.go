package core

import "time"

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

// drainAfterDeadline runs when Stop's deadline has passed: it cancels the
// handlers' context and stops the heartbeat, then waits, at most the stop
// grace, for everything to drain, so that the answers of handlers that
// return on the cancellation reach the backend before Stop returns. Past
// the grace the acknowledger no longer retries a failed acknowledgement.
func (w *Worker) drainAfterDeadline() {
	w.hardCancel()
	defer w.ackCancel()
	if w.cfg.stopGrace <= 0 {
		return
	}
	t := time.NewTimer(w.cfg.stopGrace)
	defer t.Stop()
	select {
	case <-w.stopped:
	case <-t.C:
	}
}
