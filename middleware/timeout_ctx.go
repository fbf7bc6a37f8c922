package middleware

import (
	"context"
	"time"
)

// The handler's context under the watchdog, on both paths. Cancelling it at the
// deadline with the cause ErrTimeout takes a context of the context
// package's own (context.Cause reads only those), and a child of the
// caller's context registers with it, which makes the worker's
// per-message context a done channel and a map of children: made for
// every message, that was two thirds of what this path cost. But a
// handler that answers before its deadline without waiting on Done
// observes nothing that needs them, so they are made on demand:
//
//   - ctxParent: until the deadline or the first Done, the handler's
//     context answers from the caller's (with its own Deadline): nothing
//     is made.
//   - ctxExpired: at the deadline, unless linked before or the caller's
//     context has ended, the watchdog makes a cancel context under the
//     caller's with the caller's cancellation left out (detached: no
//     registration) and cancels it with the cause; a child cancelled
//     first keeps its cause whatever the caller's context does after.
//   - ctxLinked: the first Done makes a real child of the caller's
//     context with the deadline (the registration, and a runtime timer),
//     ended at once if the deadline has passed; from then on the
//     handler's context is that child, and it ends itself at the
//     deadline. A context the handler derives registers with it (by
//     asking for Done), so that it ends with context.DeadlineExceeded and
//     the cause, as the child of a context with a deadline does.
//
// Either way the handler sees what a child context with a deadline would
// show: Done, Err (context.DeadlineExceeded after the deadline), the cause,
// the values. Moving between states happens under w.mu; readers load the
// state, whose store publishes the context it names.
const (
	ctxParent int32 = iota
	ctxExpired
	ctxLinked
)

// detached is the caller's context without its cancellation.
type detached struct{ context.Context }

func (detached) Done() <-chan struct{} { return nil }
func (detached) Err() error            { return nil }

// current is the context that answers for w now.
func (w *watched) current() context.Context {
	switch w.ctxState.Load() {
	case ctxLinked:
		return w.linked
	case ctxExpired:
		return w.expired
	}
	return w.parent
}

// cancelWith cancels w's context with cause: at the deadline, or (nil)
// once the handler has returned.
func (w *watched) cancelWith(cause error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch w.ctxState.Load() {
	case ctxLinked:
		// At the deadline (a cause), the linked context ends itself, with
		// context.DeadlineExceeded; at the end of the handling, it is
		// released.
		if cause == nil {
			w.cancelLinked()
		}
	case ctxExpired:
		w.cancelExpired(cause)
	default:
		if cause == nil || w.parent.Err() != nil {
			// Returned before its deadline, never linked: nothing to end.
			// Or the caller's context ended first: a child would keep the
			// caller's cause, which the caller's context answers.
			return
		}
		w.detached.Context = w.parent
		w.expired, w.cancelExpired = context.WithCancelCause(&w.detached)
		w.cancelExpired(cause)
		w.ctxState.Store(ctxExpired)
	}
}

// Done links w (once) to a child of the caller's context with w's
// deadline and cause, and answers that child's channel.
func (w *watched) Done() <-chan struct{} {
	if w.ctxState.Load() != ctxLinked {
		w.mu.Lock()
		if st := w.ctxState.Load(); st != ctxLinked {
			parent := w.parent
			if st == ctxExpired {
				// Ended at the deadline: made ended, under the caller's
				// context without its cancellation, so that the cause
				// stays the deadline's whatever the caller's context
				// did since.
				parent = &w.detached
			}
			w.linked, w.cancelLinked = context.WithDeadlineCause(parent, w.deadline, w.cause)
			w.ctxState.Store(ctxLinked)
		}
		w.mu.Unlock()
	}
	return w.linked.Done()
}

// Err is what a child context with a deadline would answer: the caller's
// error once it ended, context.DeadlineExceeded once the watchdog cancelled
// the context for the deadline.
func (w *watched) Err() error {
	c := w.current()
	err := c.Err()
	if err == context.Canceled && c != w.parent && context.Cause(c) == w.cause {
		return context.DeadlineExceeded
	}
	return err
}

// Value answers from the current context.
func (w *watched) Value(key any) any { return w.current().Value(key) }

// Deadline is the earlier of the caller's deadline and this Timeout's.
func (w *watched) Deadline() (time.Time, bool) {
	if d, ok := w.parent.Deadline(); ok && d.Before(w.deadline) {
		return d, true
	}
	return w.deadline, true
}

// String names the context as the context package's do.
func (w *watched) String() string { return "middleware.Timeout context" }

// close ends w's context once the handler has returned (a linked child
// leaves the caller's children then).
func (w *watched) close() { w.cancelWith(nil) }
