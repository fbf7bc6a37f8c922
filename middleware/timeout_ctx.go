package middleware

import (
	"context"
	"time"
)

// The handler's context on the watchdog path. Cancelling it at the
// deadline with the cause ErrTimeout takes a context of the context
// package's own (context.Cause reads only those), but a child of the
// caller's context registers with it: the worker's per-message context
// then makes a done channel and a map of children, three allocations and
// most of what this path would cost (measured: about two thirds). So the
// cancel context is a child of the caller's context with its cancellation
// left out (detached, which registers nothing), and the caller's
// cancellation (shutdown, a lost lock, a cancelled message) reaches it
// two ways: when the handler first asks for Done, through
// context.AfterFunc on the caller's context (the registration, made only
// then: a handler that waits for anything pays it, one that only computes
// does not); and on every Err and Value (so context.Cause too), by looking
// at the caller's context first. Either way the handler sees what a child
// context would show, with the caller's cause.

// detached is the caller's context without its cancellation.
type detached struct{ context.Context }

func (detached) Done() <-chan struct{} { return nil }
func (detached) Err() error            { return nil }

// init makes w's context a child of parent.
func (w *watched) init(parent context.Context) {
	w.parent = parent
	w.detached.Context = parent
	w.Context, w.cancel = context.WithCancelCause(&w.detached)
}

// follow cancels w's context, with the caller's cause, if the caller's
// context has ended; it answers the caller's error.
func (w *watched) follow() error {
	err := w.parent.Err()
	if err != nil {
		w.cancel(context.Cause(w.parent))
	}
	return err
}

// Done links the caller's cancellation to w's context, once, so that the
// channel closes when either ends.
func (w *watched) Done() <-chan struct{} {
	w.link.Do(func() {
		if w.parent.Done() != nil {
			w.unlink = context.AfterFunc(w.parent, func() { w.cancel(context.Cause(w.parent)) })
		}
	})
	w.follow()
	return w.Context.Done()
}

// Err is what a child context with a deadline would answer: the caller's
// error once it ended, context.DeadlineExceeded once the watchdog cancelled
// the context for the deadline.
func (w *watched) Err() error {
	if err := w.Context.Err(); err == nil {
		return w.follow()
	}
	if context.Cause(w.Context) == w.cause {
		return context.DeadlineExceeded
	}
	if err := w.parent.Err(); err != nil {
		return err
	}
	return context.Canceled
}

// Value looks at the caller's cancellation first, so that context.Cause
// (which reads the cancel context through Value) sees it.
func (w *watched) Value(key any) any {
	w.follow()
	return w.Context.Value(key)
}

// Deadline is the earlier of the caller's deadline and this Timeout's.
func (w *watched) Deadline() (time.Time, bool) {
	if d, ok := w.parent.Deadline(); ok && d.Before(w.deadline) {
		return d, true
	}
	return w.deadline, true
}

// close ends w's context once the handler has returned, and the link to
// the caller's.
func (w *watched) close() {
	w.cancel(nil)
	w.link.Do(func() {}) // no link from now on; waits for one being made
	if w.unlink != nil {
		w.unlink()
	}
}
