package core

import (
	"context"
	"errors"
)

// handling is the runner's record of one taken message from the moment a
// handler picks it up (or the heartbeat finds its lock lost before that)
// until its answer is released to the acknowledger. Guarded by flightMu.
type handling struct {
	cancel context.CancelCauseFunc // ends the handler's context
	done   bool                    // the handler has answered
	lost   bool                    // the lock is lost and was counted and reported
	// canceled: the message was cancelled (Queue.Cancel); the handler's
	// context is cancelled with ErrCanceled, or, before a handler picked
	// it up, it is not handled.
	canceled bool

	hc handlerCtx // the handler's context, and its Handling (abandon.go)
}

// begin registers the handling of k and answers the handler's context,
// which the heartbeat cancels with [ErrLockLost] if the lock is lost while
// the handler runs (or [ErrCanceled] if the message is cancelled), and the
// record to pass to [queueRunner.end] when the handler has answered. ok is
// false when the lock was lost
// before a handler picked the message up: it is another worker's now, so
// it is not handled, and no answer is sent for it. A nil hctx with ok true
// means the message was cancelled before a handler picked it up: it is not
// handled, and its answer marks it done.
func (r *queueRunner) begin(ctx context.Context, k lockKey) (hctx context.Context, h *handling, ok bool) {
	r.flightMu.Lock()
	defer r.flightMu.Unlock()
	if h = r.handlers[k]; h != nil && h.lost {
		delete(r.handlers, k)
		delete(r.inflight, k)
		r.nflight.Add(-1)
		return nil, nil, false
	} else if h != nil && h.canceled {
		h.done = true
		return nil, nil, true
	}
	hctx, cancel := context.WithCancelCause(ctx)
	h = &handling{cancel: cancel}
	r.handlers[k] = h
	return hctx, h, true
}

// end marks the handling h (from begin) answered, ends its handler's
// context, and reports whether the message was cancelled meanwhile. A
// method rather than a closure from begin: one allocation less per message.
func (r *queueRunner) end(h *handling) (canceled bool) {
	r.flightMu.Lock()
	h.done = true
	canceled = h.canceled
	r.flightMu.Unlock()
	h.cancel(nil)
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
		if _, waiting := r.inflight[k]; !waiting {
			continue
		}
		switch h := r.handlers[k]; {
		case h == nil: // taken, not yet picked up by a handler
			r.handlers[k] = &handling{lost: true}
			losses = append(losses, loss{ref: ref, err: errs[i]})
		case h.lost || h.done:
		default:
			h.lost = true
			losses = append(losses, loss{ref: ref, err: errs[i], cancel: h.cancel})
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
		delete(r.inflight, k)
		h := r.handlers[k]
		delete(r.handlers, k)
		if h == nil || !h.lost {
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
