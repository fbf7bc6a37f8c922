package memqueue

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redghost/redghost/core"
)

// PauseQueue stops Dequeue from taking anything from queue (it answers
// [core.DequeueResult.Paused]) until ResumeQueue.
func (b *Backend) PauseQueue(ctx context.Context, queue string) error {
	if err := checkCall(ctx, queue); err != nil {
		return err
	}
	b.mu.Lock()
	b.paused[queue] = true
	b.mu.Unlock()
	return nil
}

// ResumeQueue lifts a pause and wakes the queue's waiting workers.
func (b *Backend) ResumeQueue(ctx context.Context, queue string) error {
	if err := checkCall(ctx, queue); err != nil {
		return err
	}
	b.mu.Lock()
	if b.paused[queue] {
		delete(b.paused, queue)
		b.wake(queue)
	}
	b.mu.Unlock()
	return nil
}

// CancelMessage cancels message id of queue and answers the status it had
// (see [core.Queue.Cancel]).
func (b *Backend) CancelMessage(ctx context.Context, queue, id string) (core.Status, error) {
	if err := checkMessageCall(ctx, queue, id); err != nil {
		return core.StatusNone, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	q, r := b.message(queue, id)
	if r == nil {
		return core.StatusNone, nil
	}
	st := r.status(b.clock.Now())
	switch st {
	case core.StatusQueued, core.StatusQueuedWithBackoff:
		q.remove(r)
		b.tidy(q)
	case core.StatusLocked, core.StatusLockedWithRequeue:
		r.requeue = nil
		r.canceled = true
	case core.StatusDoneWithRequeue:
		r.requeue = nil
	}
	return st, nil
}

// workerRecord is one registration.
type workerRecord struct {
	info core.WorkerInfo
}

// RegisterWorker adds or refreshes a worker's registration until ttl from
// now by the backend's clock.
func (b *Backend) RegisterWorker(ctx context.Context, info core.WorkerInfo, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := core.ValidateWorkerInfo(&info, ttl); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	info.Queues = slices.Clone(info.Queues)
	info.LastSeen, info.ExpiresAt = now, now.Add(ttl)
	b.workers[info.ID] = workerRecord{info: info}
	return nil
}

// UnregisterWorker removes a worker's registration.
func (b *Backend) UnregisterWorker(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := core.ValidateID(id); err != nil {
		return fmt.Errorf("memqueue: unregister worker: %w", err)
	}
	b.mu.Lock()
	delete(b.workers, id)
	b.mu.Unlock()
	return nil
}

// Workers lists the registrations that have not expired, by id, and
// forgets the expired ones.
func (b *Backend) Workers(ctx context.Context) ([]core.WorkerInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	out := make([]core.WorkerInfo, 0, len(b.workers))
	for id, w := range b.workers {
		if !w.info.ExpiresAt.After(now) {
			delete(b.workers, id)
			continue
		}
		info := w.info
		info.Queues = slices.Clone(info.Queues)
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b core.WorkerInfo) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
