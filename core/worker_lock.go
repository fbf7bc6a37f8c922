package core

import (
	"context"
	"errors"
)

// flight is the runner's record of one taken message, from the dequeue
// that took it until its answer is released to the acknowledger: its lock
// (for the heartbeat) and what happened to its handling. One map entry per
// message, and one allocation per dequeued batch (see hold), keep the
// bookkeeping off the per-message cost. Guarded by flightMu, except ref,
// which never changes, and hc, which only its handler's goroutine sets.
type flight struct {
	ref    LockRef
	cancel context.CancelCauseFunc // ends the handler's context; nil until a handler picks it up
	done   bool                    // the handler has answered
	lost   bool                    // the lock is lost and was counted and reported
	// canceled: the message was cancelled (Queue.Cancel); the handler's
	// context is cancelled with ErrCanceled, or, before a handler picked
	// it up, it is not handled.
	canceled bool

	hc handlerCtx // the handler's context, and its Handling (abandon.go)
}

// startHandlers derives the handlers' contexts from hctx: each handling's
// context is a child of hctx's values, not of hctx itself, so that
// starting one does not register it with a context every handler shares
// (a lock and a map entry per message, contended by all the handlers).
// When hctx ends (a stop past its deadline), every running handling is
// cancelled with hctx's cause here instead, and any that starts later is
// cancelled at once. Call before the first handle.
func (r *queueRunner) startHandlers(hctx context.Context) {
	r.hbase = context.WithoutCancel(hctx)
	context.AfterFunc(hctx, func() {
		cause := context.Cause(hctx)
		var cancels []context.CancelCauseFunc
		r.flightMu.Lock()
		r.stopCause = cause
		for _, f := range r.flights {
			if f.cancel != nil && !f.done {
				cancels = append(cancels, f.cancel)
			}
		}
		r.flightMu.Unlock()
		for _, c := range cancels {
			c(cause)
		}
	})
}

// begin registers the handling of k and answers the handler's context,
// which the heartbeat cancels with [ErrLockLost] if the lock is lost while
// the handler runs (or [ErrCanceled] if the message is cancelled), and the
// record to pass to [queueRunner.end] when the handler has answered. ok is
// false when the lock was lost before a handler picked the message up: it
// is another worker's now, so it is not handled, and no answer is sent for
// it. A nil hctx with ok true means the message was cancelled before a
// handler picked it up: it is not handled, and its answer marks it done.
func (r *queueRunner) begin(k lockKey) (hctx context.Context, f *flight, ok bool) {
	r.flightMu.Lock()
	f = r.flights[k]
	switch {
	case f == nil: // not held (cannot happen: hold comes first); handled without a record
		f = &flight{ref: LockRef{ID: k.id, Token: k.token}}
	case f.lost:
		delete(r.flights, k)
		r.flightMu.Unlock()
		r.nflight.Add(-1)
		return nil, nil, false
	case f.canceled:
		f.done = true
		r.flightMu.Unlock()
		return nil, nil, true
	}
	hctx, cancel := context.WithCancelCause(r.hbase)
	f.cancel = cancel
	stopped := r.stopCause
	r.flightMu.Unlock()
	if stopped != nil {
		cancel(stopped)
	}
	return hctx, f, true
}

// end marks the handling f (from begin) answered, ends its handler's
// context, and reports whether the message was cancelled meanwhile.
func (r *queueRunner) end(f *flight) (canceled bool) {
	r.flightMu.Lock()
	f.done = true
	canceled = f.canceled
	r.flightMu.Unlock()
	f.cancel(nil)
	return canceled
}

// lostLocks handles the heartbeat's news that the locks of refs are lost
// (errs[i] says why for refs[i]). Each message counts once; running
// handlers have their context cancelled with [ErrLockLost]. Every loss is
// recorded before any handler is told, so that no handler goroutine set
// free by a cancellation picks up a message whose loss is in this batch.
// A message that has left the heartbeat's set since the snapshot was
// released by its ack, not lost; one whose handler has answered is left to
// the acknowledger, whose refused ack counts and reports it.
func (r *queueRunner) lostLocks(refs []LockRef, errs []error) {
	type loss struct {
		ref    LockRef
		err    error
		cancel context.CancelCauseFunc // nil: not yet picked up
	}
	var losses []loss
	r.flightMu.Lock()
	for i, ref := range refs {
		k := lockKey{ref.ID, ref.Token}
		switch f := r.flights[k]; {
		case f == nil: // released by its ack since the snapshot
		case f.lost || f.done:
		case f.cancel == nil: // taken, not yet picked up by a handler
			f.lost = true
			losses = append(losses, loss{ref: ref, err: errs[i]})
		default:
			f.lost = true
			losses = append(losses, loss{ref: ref, err: errs[i], cancel: f.cancel})
		}
	}
	r.flightMu.Unlock()

	r.lockLost.Add(int64(len(losses)))
	for _, l := range losses {
		if l.cancel != nil {
			l.cancel(ErrLockLost)
			r.conf.logger.Warn("redghost: lock lost while handling; the handler's context is cancelled",
				"queue", r.name, "id", l.ref.ID, "error", l.err)
			continue
		}
		r.conf.logger.Warn("redghost: lock lost before handling; the message is left to the worker that holds it",
			"queue", r.name, "id", l.ref.ID, "error", l.err)
	}
}

// release takes the acks of batch out of the heartbeat's set and drops the
// ones whose lock loss was already counted and reported: their token no
// longer owns the lock, so the backend would refuse them. It answers the
// acks to send, in batch's array.
func (r *queueRunner) release(batch []Ack) []Ack {
	send := batch[:0]
	r.flightMu.Lock()
	for _, a := range batch {
		k := lockKey{a.ID, a.Token}
		f := r.flights[k]
		delete(r.flights, k)
		if f == nil || !f.lost {
			send = append(send, a)
		}
	}
	r.flightMu.Unlock()
	if dropped := len(batch) - len(send); dropped > 0 {
		r.nflight.Add(-int64(dropped))
	}
	return send
}

// isLockLost reports whether a per-entry error of ExtendLocks or Ack is the
// fence's refusal.
func isLockLost(err error) bool { return errors.Is(err, ErrLockLost) }
