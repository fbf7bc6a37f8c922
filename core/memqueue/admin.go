package memqueue

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/redghost/redghost/core"
)

// MessageStatus is the status of one message id.
func (b *Backend) MessageStatus(ctx context.Context, queue, id string) (core.Status, error) {
	if err := checkCall(ctx, queue); err != nil {
		return core.StatusNone, err
	}
	if err := core.ValidateID(id); err != nil {
		return core.StatusNone, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[queue]
	if q == nil {
		return core.StatusNone, nil
	}
	r := q.msgs[id]
	if r == nil {
		return core.StatusNone, nil
	}
	return r.status(b.clock.Now()), nil
}

// QueueStats counts queue's messages in O(1). Locked and Backoff include
// messages whose lock or backoff expired since the last Dequeue.
func (b *Backend) QueueStats(ctx context.Context, queue string) (core.QueueStats, error) {
	if err := checkCall(ctx, queue); err != nil {
		return core.QueueStats{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[queue]
	if q == nil {
		return core.QueueStats{Paused: b.paused[queue]}, nil
	}
	s := core.QueueStats{
		Paused:  b.paused[queue],
		Queued:  q.counts[stReady],
		Locked:  q.counts[stLocked],
		Backoff: q.counts[stBackoff],
		Done:    q.counts[stDone],
		Total:   int64(len(q.msgs)),
		Dead:    int64(q.dead.len()),
	}
	return s, nil
}

// QueueContent lists up to limit messages of queue in id order, starting
// after cursor (an id; "" for the first page). O(n log n) per page.
func (b *Backend) QueueContent(ctx context.Context, queue, cursor string, limit int) ([]core.MessageInfo, string, error) {
	if err := checkCall(ctx, queue); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		return nil, "", &core.InvalidError{Field: "limit", Reason: fmt.Sprintf("must be positive, got %d", limit)}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[queue]
	if q == nil {
		return nil, "", nil
	}
	ids := make([]string, 0, len(q.msgs))
	for id := range q.msgs {
		if id > cursor {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = ids[limit-1]
	}
	now := b.clock.Now()
	out := make([]core.MessageInfo, len(ids))
	for i, id := range ids {
		out[i] = q.msgs[id].info(now)
	}
	return out, next, nil
}

// QueueNames lists the queues that hold messages or dead letters, or are
// paused, sorted.
func (b *Backend) QueueNames(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	names := make([]string, 0, len(b.queues))
	for name := range b.queues {
		names = append(names, name)
	}
	for name := range b.paused {
		if b.queues[name] == nil {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, strings.Compare)
	return names, nil
}

// ClearQueues deletes every trace of the named queues, dead letters
// included. A bad name fails the call before anything is deleted.
func (b *Backend) ClearQueues(ctx context.Context, queues ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, name := range queues {
		if err := core.ValidateQueueName(name); err != nil {
			return err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, name := range queues {
		delete(b.queues, name)
		delete(b.paused, name)
	}
	return nil
}
