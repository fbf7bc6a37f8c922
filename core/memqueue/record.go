package memqueue

import (
	"bytes"
	"container/heap"
	"container/list"
	"maps"
	"time"

	"github.com/redghost/redghost/core"
)

// state is where a record is kept, which decides what the next Dequeue
// does with it. The caller-visible status is derived from it and the clock
// (see record.status): a locked record whose lock expired is queued again
// before any Dequeue moves it.
type state uint8

const (
	stNone    state = iota // not placed yet
	stReady                // queued, in the ready list
	stBackoff              // queued with a backoff, due when it expires
	stLocked               // with a handler, due when the lock expires
	stDone                 // done, due when its backoff expires (or at once)
	numStates
)

var stateNames = [numStates]string{"none", "ready", "backoff", "locked", "done"}

// content is what an enqueue stores: the message proper, or a pending
// requeue copy.
type content struct {
	payload []byte
	headers map[string]string
	lockDur time.Duration // the message's own lock; 0: the dequeue's
	// the message's own limits; 0: none
	maxAttempts int
	timeout     time.Duration
}

func contentOf(r *core.EnqueueRequest) content {
	return content{payload: clonePayload(r.Payload), headers: cloneHeaders(r.Headers), lockDur: r.LockDuration,
		maxAttempts: r.MaxAttempts, timeout: r.Timeout}
}

// record is one message id of a queue.
type record struct {
	id  string
	seq uint64 // creation order: breaks ties between records due together
	content
	requeue *content // pending requeue copy

	state        state
	attempts     int
	token        uint64    // the lock's token; 0 once an ack applied
	lockUntil    time.Time // set only in stLocked
	backoffUntil time.Time // set only in stBackoff and stDone
	enqueuedAt   time.Time
	readyAt      time.Time // when it last became ready (QueueStats.OldestReady)
	// canceled: cancelled while locked (CancelMessage); the next ack ends
	// it, and it is dropped if its lock expires first.
	canceled bool

	elem    *list.Element // in queue.ready, when stReady
	heapIdx int           // in queue.due, when not stReady; else -1
	dueAt   time.Time     // when the next Dequeue must look at it
}

// status derives the caller-visible status (SEMANTICS §2).
func (r *record) status(now time.Time) core.Status {
	if r.state == stDone {
		switch {
		case r.requeue != nil:
			return core.StatusDoneWithRequeue
		case now.Before(r.backoffUntil):
			return core.StatusDoneWithBackoff
		}
		return core.StatusDoneAwaitingGC
	}
	if now.Before(r.lockUntil) {
		if r.requeue != nil {
			return core.StatusLockedWithRequeue
		}
		return core.StatusLocked
	}
	if r.canceled { // its handler is gone: done, as the next visit finds it
		if r.requeue != nil {
			return core.StatusDoneWithRequeue
		}
		return core.StatusDoneAwaitingGC
	}
	if now.Before(r.backoffUntil) {
		return core.StatusQueuedWithBackoff
	}
	return core.StatusQueued
}

// dueHeap orders the records that wait for a time by (dueAt, seq).
type dueHeap []*record

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if !h[i].dueAt.Equal(h[j].dueAt) {
		return h[i].dueAt.Before(h[j].dueAt)
	}
	return h[i].seq < h[j].seq
}
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *dueHeap) Push(x any) {
	r := x.(*record)
	r.heapIdx = len(*h)
	*h = append(*h, r)
}
func (h *dueHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	r.heapIdx = -1
	return r
}

// queue is one queue's messages and dead letters.
type queue struct {
	name   string
	msgs   map[string]*record
	ready  list.List // of *record, FIFO
	due    dueHeap
	counts [numStates]int64
	dead   deadList
}

func newQueue(name string) *queue {
	return &queue{name: name, msgs: make(map[string]*record)}
}

// place moves r to state st; at is when a record outside the ready list is
// due, or when a ready record became ready.
func (q *queue) place(r *record, st state, at time.Time) {
	if r.elem != nil {
		q.ready.Remove(r.elem)
		r.elem = nil
	}
	if r.state != stNone {
		q.counts[r.state]--
	}
	r.state = st
	q.counts[st]++
	if st == stReady {
		if r.heapIdx >= 0 {
			heap.Remove(&q.due, r.heapIdx)
		}
		r.elem = q.ready.PushBack(r)
		r.readyAt = at
		return
	}
	r.dueAt = at
	if r.heapIdx >= 0 {
		heap.Fix(&q.due, r.heapIdx)
	} else {
		heap.Push(&q.due, r)
	}
}

// placeHead makes r ready right after mark, or at the head of the ready
// list when mark is nil, and answers r's element: the next mark, so that
// records placed one after another keep their order.
func (q *queue) placeHead(r *record, mark *list.Element) *list.Element {
	q.place(r, stReady, r.dueAt) // ready since it came due
	if mark == nil {
		q.ready.MoveToFront(r.elem)
	} else {
		q.ready.MoveAfter(r.elem, mark)
	}
	return r.elem
}

// remove deletes every trace of r.
func (q *queue) remove(r *record) {
	if r.elem != nil {
		q.ready.Remove(r.elem)
		r.elem = nil
	}
	if r.heapIdx >= 0 {
		heap.Remove(&q.due, r.heapIdx)
	}
	if r.state != stNone {
		q.counts[r.state]--
	}
	r.state = stNone
	delete(q.msgs, r.id)
}

// empty reports whether q holds nothing worth keeping.
func (q *queue) empty() bool { return len(q.msgs) == 0 && q.dead.len() == 0 }

// hasWork reports whether a Dequeue at now would find something to do.
func (q *queue) hasWork(now time.Time) bool {
	return q.ready.Len() > 0 || (len(q.due) > 0 && !q.due[0].dueAt.After(now))
}

// info is r's content listing.
func (r *record) info(now time.Time) core.MessageInfo {
	m := core.MessageInfo{
		ID:      r.id,
		Status:  r.status(now),
		Payload: clonePayload(r.payload),
		Headers: cloneHeaders(r.headers),
		Attempt: r.attempts,
		Age:     now.Sub(r.enqueuedAt),
		Requeue: r.requeue != nil,

		Canceled:    r.canceled,
		MaxAttempts: r.maxAttempts,
		Timeout:     r.timeout,
	}
	if left := r.backoffUntil.Sub(now); left > 0 && !r.backoffUntil.IsZero() {
		m.Backoff = left
	}
	if left := r.lockUntil.Sub(now); left > 0 && !r.lockUntil.IsZero() {
		m.LockLeft = left
	}
	return m
}

func clonePayload(p []byte) []byte {
	if p == nil {
		return nil
	}
	return bytes.Clone(p)
}

func cloneHeaders(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	return maps.Clone(h)
}
