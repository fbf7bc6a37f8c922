package memqueue

import (
	"context"
	"slices"
	"time"

	"github.com/redghost/redghost/core"
)

// deadEntry is one dead letter; it keeps the message's own lock duration so
// that a requeue restores it.
type deadEntry struct {
	core.DeadLetter
	lockDur     time.Duration
	maxAttempts int
	timeout     time.Duration
}

// deadList is a queue's dead letters, oldest first, as a slice with a moving
// head so that dropping the oldest is O(1) amortized.
type deadList struct {
	entries []deadEntry // entries[head:] are live
	head    int
}

func (d *deadList) len() int { return len(d.entries) - d.head }

// at is the i-th newest entry.
func (d *deadList) at(i int) *deadEntry { return &d.entries[len(d.entries)-1-i] }

// push adds e as the newest entry and drops the oldest beyond limit.
func (d *deadList) push(e deadEntry, limit int) {
	if limit <= 0 {
		return
	}
	d.entries = append(d.entries, e)
	for d.len() > limit {
		d.entries[d.head] = deadEntry{}
		d.head++
	}
	if d.head > 32 && d.head > d.len() {
		d.entries = slices.Clone(d.entries[d.head:])
		d.head = 0
	}
}

// filter drops the entries for which keep answers false.
func (d *deadList) filter(keep func(*deadEntry) bool) {
	var kept []deadEntry
	for i := d.head; i < len(d.entries); i++ {
		if keep(&d.entries[i]) {
			kept = append(kept, d.entries[i])
		}
	}
	d.entries, d.head = kept, 0
}

func (d *deadList) clear() { d.entries, d.head = nil, 0 }

// DeadLetters lists up to limit dead letters of queue, newest first,
// skipping offset.
func (b *Backend) DeadLetters(ctx context.Context, queue string, offset, limit int) ([]core.DeadLetter, error) {
	if err := checkCall(ctx, queue); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, &core.InvalidError{Field: "offset", Reason: "negative"}
	}
	if limit <= 0 {
		return nil, &core.InvalidError{Field: "limit", Reason: "must be positive"}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[queue]
	if q == nil {
		return nil, nil
	}
	var out []core.DeadLetter
	for i := offset; i < q.dead.len() && len(out) < limit; i++ {
		e := q.dead.at(i).DeadLetter
		e.Payload = clonePayload(e.Payload)
		e.Headers = cloneHeaders(e.Headers)
		out = append(out, e)
	}
	return out, nil
}

// RequeueDeadLetters enqueues the named dead letters of queue again (all of
// them when ids is empty) as fresh messages, and removes them from the list.
// A dead letter whose id is live in the queue stays. When several dead
// letters share an id, the newest is requeued.
func (b *Backend) RequeueDeadLetters(ctx context.Context, queue string, ids ...string) (int, error) {
	if err := checkCall(ctx, queue); err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := core.ValidateID(id); err != nil {
			return 0, err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[queue]
	if q == nil || q.dead.len() == 0 {
		return 0, nil
	}
	want := func(string) bool { return true }
	if len(ids) > 0 {
		set := make(map[string]bool, len(ids))
		for _, id := range ids {
			set[id] = true
		}
		want = func(id string) bool { return set[id] }
	}
	now := b.clock.Now()
	requeued := map[*deadEntry]bool{}
	for i := 0; i < q.dead.len(); i++ { // newest first
		e := q.dead.at(i)
		if !want(e.ID) || q.msgs[e.ID] != nil {
			continue
		}
		r := b.newRecord(q, e.ID, content{payload: e.Payload, headers: e.Headers, lockDur: e.lockDur,
			maxAttempts: e.maxAttempts, timeout: e.timeout}, now)
		q.place(r, stReady, now)
		requeued[e] = true
	}
	if len(requeued) == 0 {
		return 0, nil
	}
	q.dead.filter(func(e *deadEntry) bool { return !requeued[e] })
	b.wake(queue)
	return len(requeued), nil
}

// PurgeDeadLetters empties queue's dead-letter list.
func (b *Backend) PurgeDeadLetters(ctx context.Context, queue string) (int, error) {
	if err := checkCall(ctx, queue); err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[queue]
	if q == nil {
		return 0, nil
	}
	n := q.dead.len()
	q.dead.clear()
	b.tidy(q)
	return n, nil
}
