package core

import "context"

// Queue is a handle on one named queue of a backend: what a [Worker] is
// bound to, and the admin calls for that queue.
type Queue struct {
	b    Backend
	name string
}

// NewQueue returns a handle on the queue called name. The name is checked
// when it is first used.
func NewQueue(b Backend, name string) *Queue { return &Queue{b: b, name: name} }

// Name is the queue's name.
func (q *Queue) Name() string { return q.name }

// Backend is the backend the queue lives in.
func (q *Queue) Backend() Backend { return q.b }

// Stats counts the queue's messages by status in O(1).
func (q *Queue) Stats(ctx context.Context) (QueueStats, error) { return q.b.QueueStats(ctx, q.name) }

// MessageStatus is the status of one message id.
func (q *Queue) MessageStatus(ctx context.Context, id string) (Status, error) {
	return q.b.MessageStatus(ctx, q.name, id)
}

// Content lists up to limit messages from cursor ("" first); next is "" after the last page.
func (q *Queue) Content(ctx context.Context, cursor string, limit int) ([]MessageInfo, string, error) {
	return q.b.QueueContent(ctx, q.name, cursor, limit)
}

// Clear deletes every trace of the queue, dead letters included.
func (q *Queue) Clear(ctx context.Context) error { return q.b.ClearQueues(ctx, q.name) }

// DeadLetters lists up to limit dead letters, newest first, skipping offset.
func (q *Queue) DeadLetters(ctx context.Context, offset, limit int) ([]DeadLetter, error) {
	return q.b.DeadLetters(ctx, q.name, offset, limit)
}

// RequeueDeadLetters enqueues the named dead letters again (all when ids is
// empty) and answers how many were requeued.
func (q *Queue) RequeueDeadLetters(ctx context.Context, ids ...string) (int, error) {
	return q.b.RequeueDeadLetters(ctx, q.name, ids...)
}

// PurgeDeadLetters empties the dead-letter list.
func (q *Queue) PurgeDeadLetters(ctx context.Context) (int, error) {
	return q.b.PurgeDeadLetters(ctx, q.name)
}
