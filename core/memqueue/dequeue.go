package memqueue

import (
	"container/list"
	"context"
	"fmt"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/internal/text"
)

// Dequeue takes up to p.Max ready messages from p.Queue in FIFO order and
// locks each for its own lock duration or, if it has none, for p.Lock.
// First it does the maintenance that is due: messages whose delay, backoff
// or lock expired go to the head of the ready list (earliest due first), so
// they are taken next rather than behind the backlog; done messages are
// collected or, with a pending requeue copy, queued again at the back.
func (b *Backend) Dequeue(ctx context.Context, p core.DequeueParams) (core.DequeueResult, error) {
	if err := p.Validate(); err != nil {
		return core.DequeueResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return core.DequeueResult{}, err
	}
	queue, max, lock := p.Queue, p.Max, p.Lock

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.paused[queue] {
		return core.DequeueResult{Paused: true}, nil
	}
	q := b.queues[queue]
	if q == nil {
		return core.DequeueResult{}, nil
	}
	now := b.clock.Now()
	b.maintain(q, now)

	var res core.DequeueResult
	if q.ready.Len() > 0 {
		b.token++
		token := b.token
		n := min(max, q.ready.Len())
		res.Messages = make([]core.Delivery, 0, n)
		for range n {
			r := q.ready.Front().Value.(*record)
			d := r.lockDur
			if d <= 0 {
				d = lock
			}
			r.attempts++
			r.token = token
			r.lockUntil = now.Add(d)
			q.place(r, stLocked, r.lockUntil)
			res.Messages = append(res.Messages, core.Delivery{
				Message: core.Message{
					ID:           r.id,
					Queue:        queue,
					Payload:      clonePayload(r.payload),
					Headers:      cloneHeaders(r.headers),
					Attempt:      r.attempts,
					LockDuration: d,
					EnqueuedAt:   r.enqueuedAt,
					MaxAttempts:  r.maxAttempts,
					Timeout:      r.timeout,
				},
				Token: token,
			})
		}
	}
	if len(q.due) > 0 {
		res.NextDue = q.due[0].dueAt.Sub(now)
	}
	b.tidy(q)
	return res, nil
}

// maintain does what is due at now. Call with b.mu held.
func (b *Backend) maintain(q *queue, now time.Time) {
	var mark *list.Element // the last record put at the head
	for len(q.due) > 0 && !q.due[0].dueAt.After(now) {
		r := q.due[0]
		switch {
		case r.canceled && r.state != stDone: // cancelled, and its handler is gone
			r.canceled, r.token, r.lockUntil = false, 0, time.Time{}
			if r.requeue != nil {
				q.place(r, stDone, now) // the pending copy is queued below
				continue
			}
			q.remove(r)
		case r.state != stDone: // delay, backoff or lock expired
			r.lockUntil, r.backoffUntil = time.Time{}, time.Time{}
			mark = q.placeHead(r, mark)
		case r.requeue != nil: // the pending copy becomes the message
			r.content, r.requeue = *r.requeue, nil
			r.canceled = false
			r.attempts = 0
			r.enqueuedAt = now
			r.backoffUntil = time.Time{}
			q.place(r, stReady, now)
		default: // done: collect it
			q.remove(r)
		}
	}
}

// Ack applies handler outcomes. An ack applies when its message exists, is
// not done and holds its token (even if the lock expired, as long as no
// other Dequeue took the message); otherwise it answers [core.ErrLockLost].
// An applied ack spends the token. A bad ack gets its
// [*core.InvalidError]; the others apply.
func (b *Backend) Ack(ctx context.Context, queue string, acks []core.Ack) ([]error, error) {
	if err := checkCall(ctx, queue); err != nil {
		return nil, err
	}
	errs := make([]error, len(acks))
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[queue]
	now := b.clock.Now()
	for i := range acks {
		a := &acks[i]
		if err := core.ValidateAck(a); err != nil {
			errs[i] = err
			continue
		}
		r := q.owned(a.ID, a.Token)
		if r == nil {
			errs[i] = lockLost("ack", a.ID, a.Token)
			continue
		}
		b.apply(q, r, a, now)
	}
	if q != nil {
		b.tidy(q)
	}
	return errs, nil
}

// owned is the record id whose lock token is token, or nil.
func (q *queue) owned(id string, token uint64) *record {
	if q == nil {
		return nil
	}
	r := q.msgs[id]
	if r == nil || r.state == stDone || r.token == 0 || r.token != token {
		return nil
	}
	return r
}

func lockLost(what, id string, token uint64) error {
	return fmt.Errorf("memqueue: %s of %q with token %d: %w", what, id, token, core.ErrLockLost)
}

// apply applies one outcome to r, which a holds. Call with b.mu held.
func (b *Backend) apply(q *queue, r *record, a *core.Ack, now time.Time) {
	if r.canceled {
		// A cancelled message is not retried: a retry ends it.
		r.canceled = false
		if a.Outcome == core.OutcomeRetry {
			a = &core.Ack{ID: a.ID, Token: a.Token, Outcome: core.OutcomeSuccess}
		}
	}
	r.token = 0
	r.lockUntil = time.Time{}
	r.backoffUntil = time.Time{}
	switch a.Outcome {
	case core.OutcomeRetry:
		if a.Backoff > 0 {
			r.backoffUntil = now.Add(a.Backoff)
			q.place(r, stBackoff, r.backoffUntil)
			b.wakeIfFirst(q, r)
			return
		}
		q.place(r, stReady, now)
		b.wake(q.name)
		return
	case core.OutcomeError:
		q.dead.push(deadEntry{
			DeadLetter: core.DeadLetter{
				ID:       r.id,
				Queue:    q.name,
				Payload:  r.payload, // stored bytes are never changed in place: share them
				Headers:  r.headers,
				Attempt:  r.attempts,
				Error:    text.TruncateUTF8(a.Error, core.MaxErrorBytes),
				FailedAt: now,
			},
			lockDur:     r.lockDur,
			maxAttempts: r.maxAttempts,
			timeout:     r.timeout,
		}, b.deadLimit)
	case core.OutcomeSuccess:
		if a.Backoff > 0 {
			r.backoffUntil = now.Add(a.Backoff)
			q.place(r, stDone, r.backoffUntil)
			if r.requeue != nil {
				b.wakeIfFirst(q, r)
			}
			return
		}
	}
	// Success without backoff, or error.
	if r.requeue != nil {
		q.place(r, stDone, now) // the next Dequeue queues the copy
		b.wake(q.name)
		return
	}
	q.remove(r)
}

// wakeIfFirst wakes the waiters on q when r, just scheduled, is the first
// of its messages to come due: their waits were set by the one before, and
// the next ends when r comes due. Call with b.mu held.
func (b *Backend) wakeIfFirst(q *queue, r *record) {
	if len(q.due) > 0 && q.due[0] == r {
		b.wake(q.name)
	}
}

// ExtendLocks extends the locks of in-flight messages to now + their
// Duration (the heartbeat). A lock applies on the same terms as an ack;
// otherwise it answers [core.ErrLockLost].
func (b *Backend) ExtendLocks(ctx context.Context, queue string, locks []core.LockRef) ([]error, error) {
	if err := checkCall(ctx, queue); err != nil {
		return nil, err
	}
	errs := make([]error, len(locks))
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[queue]
	now := b.clock.Now()
	for i, l := range locks {
		if err := core.ValidateID(l.ID); err != nil {
			errs[i] = err
			continue
		}
		if err := core.ValidateLock(l.Duration); err != nil {
			errs[i] = err
			continue
		}
		r := q.owned(l.ID, l.Token)
		if r == nil {
			errs[i] = lockLost("lock extension", l.ID, l.Token)
			continue
		}
		r.backoffUntil = time.Time{}
		r.lockUntil = now.Add(l.Duration)
		q.place(r, stLocked, r.lockUntil)
		if r.canceled {
			errs[i] = fmt.Errorf("memqueue: lock extension of %q: %w", l.ID, core.ErrCanceled)
		}
	}
	return errs, nil
}
