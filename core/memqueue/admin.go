package memqueue

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/redghost/redghost/core"
)

// checkMessageCall checks the arguments of a call about message id of
// queue.
func checkMessageCall(ctx context.Context, queue, id string) error {
	if err := checkCall(ctx, queue); err != nil {
		return err
	}
	return core.ValidateID(id)
}

// message answers the queue named name and its record of id, a nil record
// if either is missing. Call with b.mu held.
func (b *Backend) message(name, id string) (*queue, *record) {
	q := b.queues[name]
	if q == nil {
		return nil, nil
	}
	return q, q.msgs[id]
}

// MessageStatus is the status of one message id.
func (b *Backend) MessageStatus(ctx context.Context, queue, id string) (core.Status, error) {
	if err := checkMessageCall(ctx, queue, id); err != nil {
		return core.StatusNone, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_, r := b.message(queue, id)
	if r == nil {
		return core.StatusNone, nil
	}
	return r.status(b.clock.Now()), nil
}

// QueueStats counts queue's messages in O(1). Locked and Backoff include
// messages whose lock or backoff expired since the last Dequeue.
// OldestReady is the longest wait among the first
// [core.OldestReadyLookahead] records of the ready list.
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
	now := b.clock.Now()
	e := q.ready.Front()
	for range core.OldestReadyLookahead {
		if e == nil {
			break
		}
		s.OldestReady = max(s.OldestReady, now.Sub(e.Value.(*record).readyAt))
		e = e.Next()
	}
	return s, nil
}

// QueueContent lists up to limit messages of queue in id order, starting
// after cursor (an id; "" for the first page). O(n log limit) per page.
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
	ids := firstAfter(q.msgs, cursor, limit+1)
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
	for k := range b.slots {
		if slices.Contains(queues, k.queue) {
			delete(b.slots, k)
		}
	}
	for k := range b.registry {
		if slices.Contains(queues, k.queue) {
			delete(b.registry, k)
		}
	}
	return nil
}

// firstAfter answers, sorted, the n smallest ids of msgs above cursor. It
// keeps them in a max-heap, so that on a long queue most ids cost one
// comparison with its top.
func firstAfter(msgs map[string]*record, cursor string, n int) []string {
	if n <= 0 || n > len(msgs) {
		n = len(msgs)
	}
	h := make(idHeap, 0, n)
	for id := range msgs {
		switch {
		case id <= cursor:
		case len(h) < n:
			heap.Push(&h, id)
		case id < h[0]:
			h[0] = id
			heap.Fix(&h, 0)
		}
	}
	ids := []string(h)
	slices.Sort(ids)
	return ids
}

// idHeap is a max-heap of ids.
type idHeap []string

func (h idHeap) Len() int           { return len(h) }
func (h idHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h idHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idHeap) Push(x any)        { *h = append(*h, x.(string)) }
func (h *idHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

var _ core.MessageInspector = (*Backend)(nil)

// MessageInfo reads one message by id, as QueueContent would list it, in
// O(1). found is false when the queue holds no message with the id.
func (b *Backend) MessageInfo(ctx context.Context, queue, id string) (core.MessageInfo, bool, error) {
	if err := checkMessageCall(ctx, queue, id); err != nil {
		return core.MessageInfo{}, false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_, r := b.message(queue, id)
	if r == nil {
		return core.MessageInfo{}, false, nil
	}
	return r.info(b.clock.Now()), true, nil
}
