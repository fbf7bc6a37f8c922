package memqueue

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redghost/redghost/core"
)

// DefaultDeadLetterLimit is how many dead letters a queue keeps unless told
// otherwise.
const DefaultDeadLetterLimit = 10000

// Backend is an in-memory [core.Backend]. It is safe for concurrent use.
// The zero value is not usable; call [New].
type Backend struct {
	clock     core.Clock
	limits    core.Limits
	deadLimit int

	mu      sync.Mutex
	queues  map[string]*queue // only queues that hold something
	token   uint64            // last lock token handed out, for all queues
	seq     uint64            // last record sequence number
	waiters map[string]*waiter

	slots    map[schedKey]time.Time             // each schedule's last enqueued slot
	registry map[schedKey]registration          // the schedules that run
	paused   map[string]bool                    // PauseQueue
	workers  map[string]workerRecord            // RegisterWorker
	multi    map[string]map[*multiWait]struct{} // WaitAny calls blocked, by queue
}

var (
	_ core.Backend       = (*Backend)(nil)
	_ core.WaitDequeuer  = (*Backend)(nil)
	_ core.ScheduleStore = (*Backend)(nil)
)

// waiter is the channel that the Wait calls of one queue block on; a wake
// closes it and the next Wait makes a new one.
type waiter struct {
	ch chan struct{}
	n  int // Wait calls blocked on ch
}

// Option configures a [Backend].
type Option func(*Backend)

// WithClock sets the clock the queue's time comes from (default
// [core.SystemClock]). Give it a [queuetest.ManualClock] to test delays,
// locks and backoffs without sleeping. Wait's timeout is real time whatever
// the clock; a Wait also ends when the queue's first delayed, locked or
// held message comes due, by the clock's own timers when it has an
// AfterFunc method as ManualClock does (so advancing it wakes a waiting
// worker), else by real time.
//
// [queuetest.ManualClock]: https://pkg.go.dev/github.com/redghost/redghost/core/queuetest#ManualClock
func WithClock(c core.Clock) Option { return func(b *Backend) { b.clock = c } }

// WithLimits sets the limits that enqueues are checked against (zero fields:
// [core.DefaultLimits]; negative ones are refused by [New]).
func WithLimits(l core.Limits) Option { return func(b *Backend) { b.limits = l } }

// WithDeadLetterLimit sets how many dead letters each queue keeps (default
// [DefaultDeadLetterLimit]); the oldest are dropped beyond it. Zero keeps
// none; a negative limit is refused by [New].
func WithDeadLetterLimit(n int) Option { return func(b *Backend) { b.deadLimit = n } }

// New returns an empty in-memory backend. An invalid option (a negative
// dead-letter limit or limit, a nil clock) is an [*core.InvalidError] whose Field
// names it.
func New(opts ...Option) (*Backend, error) {
	b := &Backend{
		clock:     core.SystemClock{},
		limits:    core.DefaultLimits,
		deadLimit: DefaultDeadLetterLimit,
		queues:    make(map[string]*queue),
		waiters:   make(map[string]*waiter),
		slots:     make(map[schedKey]time.Time),
		registry:  make(map[schedKey]registration),
		paused:    make(map[string]bool),
		workers:   make(map[string]workerRecord),
		multi:     make(map[string]map[*multiWait]struct{}),
	}
	for _, o := range opts {
		o(b)
	}
	if b.clock == nil {
		return nil, &core.InvalidError{Field: "WithClock", Reason: "nil clock"}
	}
	if b.deadLimit < 0 {
		return nil, &core.InvalidError{Field: "WithDeadLetterLimit", Reason: fmt.Sprintf("must not be negative, got %d", b.deadLimit)}
	}
	if l := b.limits; l.MaxPayloadBytes < 0 || l.MaxHeaderBytes < 0 || l.MaxHeaders < 0 {
		return nil, &core.InvalidError{Field: "WithLimits", Reason: fmt.Sprintf("negative limit in %+v", l)}
	}
	b.limits = b.limits.WithDefaults()
	return b, nil
}

// checkCall answers the error of a call on a done context or a bad queue
// name.
func checkCall(ctx context.Context, queue string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return core.ValidateQueueName(queue)
}

// newRecord adds a fresh record for id to q; the caller places it.
func (b *Backend) newRecord(q *queue, id string, c content, now time.Time) *record {
	b.seq++
	r := &record{id: id, seq: b.seq, content: c, enqueuedAt: now, heapIdx: -1}
	q.msgs[id] = r
	return r
}

// tidy forgets q once it holds nothing.
func (b *Backend) tidy(q *queue) {
	if q.empty() && b.queues[q.name] == q {
		delete(b.queues, q.name)
	}
}

// wake ends the Wait and WaitAny calls on queue. Call with b.mu held.
func (b *Backend) wake(queue string) {
	b.wakeMulti(queue)
	if w := b.waiters[queue]; w != nil {
		close(w.ch)
		delete(b.waiters, queue)
	}
}

// Enqueue enqueues a batch, possibly to several queues (SEMANTICS §3). A
// bad request gets its [*core.InvalidError] in its result; the others go
// through.
func (b *Backend) Enqueue(ctx context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := make([]core.EnqueueResult, len(reqs))
	valid := make([]bool, len(reqs))
	for i := range reqs {
		r := &reqs[i]
		id := r.ID
		if id == "" {
			id = core.NewID()
		}
		checked := *r
		checked.ID = id
		if err := b.limits.Validate(&checked); err != nil {
			// Refused: the caller's id (or none), never a fresh one that
			// names nothing.
			res[i].ID, res[i].Err = r.ID, err
			continue
		}
		res[i].ID = id
		valid[i] = true
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	for i := range reqs {
		if valid[i] {
			res[i].Action, res[i].Err = b.enqueue(&reqs[i], res[i].ID, now)
		}
	}
	return res, nil
}

// enqueue applies one valid request. Call with b.mu held.
func (b *Backend) enqueue(req *core.EnqueueRequest, id string, now time.Time) (core.Action, error) {
	q := b.queues[req.Queue]
	if q == nil {
		q = newQueue(req.Queue)
		b.queues[req.Queue] = q
	}
	r := q.msgs[id]
	if r == nil {
		r = b.newRecord(q, id, contentOf(req), now)
		if req.Delay > 0 {
			r.backoffUntil = now.Add(req.Delay)
			q.place(r, stBackoff, r.backoffUntil)
		} else {
			q.place(r, stReady, now)
		}
		b.wake(q.name)
		return core.Added, nil
	}

	switch r.status(now) {
	case core.StatusQueued, core.StatusQueuedWithBackoff:
		if !req.CanUpdate && !req.ResetDelay {
			return 0, core.ErrAlreadyQueued
		}
		if req.CanUpdate {
			r.content = contentOf(req)
		}
		if req.ResetDelay {
			r.lockUntil = time.Time{}
			r.backoffUntil = now.Add(req.Delay)
			q.place(r, stBackoff, r.backoffUntil)
		}
		b.wake(q.name)
		return core.Updated, nil

	case core.StatusLocked, core.StatusLockedWithRequeue:
		if !req.CanRequeue {
			return 0, core.ErrLocked
		}
		return ensureRequeue(r, req)

	default: // done
		if now.Before(r.backoffUntil) {
			if !req.CanRequeue {
				return 0, core.ErrBackoff
			}
			return ensureRequeue(r, req)
		}
		// Done and no longer held: any enqueue becomes a requeue copy,
		// which the next Dequeue queues (the record is already due).
		a, err := ensureRequeue(r, req)
		if err == nil {
			b.wake(q.name)
		}
		return a, err
	}
}

// ensureRequeue stores or updates r's pending requeue copy.
func ensureRequeue(r *record, req *core.EnqueueRequest) (core.Action, error) {
	if r.requeue != nil {
		if !req.CanUpdate {
			return 0, core.ErrAlreadyQueued
		}
		c := contentOf(req)
		r.requeue = &c
		return core.Updated, nil
	}
	c := contentOf(req)
	r.requeue = &c
	return core.Added, nil
}

// Wait blocks until an enqueue or a retry makes a message ready on queue,
// or the queue's first delayed, locked or held message comes due on the
// backend's clock, or timeout (real time) passes, or ctx is done. It
// answers at once when a Dequeue would find work. An ack that schedules a
// retry (or a pending copy) before everything else pending wakes it too,
// so that its caller reads the new [core.DequeueResult.NextDue].
func (b *Backend) Wait(ctx context.Context, queue string, timeout time.Duration) error {
	if err := checkCall(ctx, queue); err != nil {
		return err
	}
	b.mu.Lock()
	now := b.clock.Now()
	q := b.queues[queue]
	if q != nil && q.hasWork(now) && !b.paused[queue] {
		// (A paused queue's work waits for ResumeQueue, which wakes.)
		b.mu.Unlock()
		return nil
	}
	if timeout <= 0 {
		b.mu.Unlock()
		return nil
	}
	w := b.waiters[queue]
	if w == nil {
		w = &waiter{ch: make(chan struct{})}
		b.waiters[queue] = w
	}
	w.n++
	var due <-chan struct{}
	if q != nil && len(q.due) > 0 {
		ch := make(chan struct{})
		stop := b.afterFunc(q.due[0].dueAt.Sub(now), func() { close(ch) })
		defer stop()
		due = ch
	}
	b.mu.Unlock()

	t := time.NewTimer(timeout)
	defer t.Stop()
	var err error
	select {
	case <-w.ch:
	case <-due:
	case <-t.C:
	case <-ctx.Done():
		err = ctx.Err()
	}

	b.mu.Lock()
	w.n--
	if w.n == 0 && b.waiters[queue] == w {
		delete(b.waiters, queue) // nobody else waits on it
	}
	b.mu.Unlock()
	return err
}

// timerClock is a clock whose time can be waited for, as
// [queuetest.ManualClock]'s can.
//
// [queuetest.ManualClock]: https://pkg.go.dev/github.com/redghost/redghost/core/queuetest#ManualClock
type timerClock interface {
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// afterFunc calls f once d has passed on the backend's clock: on a clock
// with timers of its own by that clock, on any other by real time.
func (b *Backend) afterFunc(d time.Duration, f func()) (stop func() bool) {
	if c, ok := b.clock.(timerClock); ok {
		return c.AfterFunc(d, f)
	}
	return time.AfterFunc(d, f).Stop
}

// WaitDequeue waits as Wait does for at most p.Timeout, then dequeues as
// Dequeue does. A ctx done once the wait has begun ends the wait, not the
// dequeue.
func (b *Backend) WaitDequeue(ctx context.Context, p core.WaitDequeueParams) (core.DequeueResult, error) {
	if err := p.Validate(); err != nil {
		return core.DequeueResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return core.DequeueResult{}, err
	}
	_ = b.Wait(ctx, p.Queue, p.Timeout) // valid arguments: only ctx ends it with an error
	return b.Dequeue(context.WithoutCancel(ctx), p.DequeueParams)
}
