package core

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Worker handles the messages of one queue with a bounded number of
// concurrent handlers.
//
// One polling loop takes batches (at most the max batch) in one backend call
// each; handlers run in a fixed pool of goroutines; one acknowledger sends
// outcomes in batches (what piles up while one acknowledgement is in flight
// goes in the next); a heartbeat extends the locks of every message the
// worker holds in one call. When the queue has nothing ready the loop blocks
// in [Backend.Wait], which an enqueue interrupts, so an idle worker costs
// next to nothing and still picks up new work within milliseconds; with a
// [WaitDequeuer] backend (Redis) the wait and the next dequeue are one
// call.
//
// While handlers are fast, the worker holds a few more messages than it has
// handlers (see [WithPrefetch]), so that batches stay full and round trips
// per message few; held messages are locked, heartbeated and handled before
// Stop returns, like the ones in the handlers.
//
// Queue control reaches it through the backend: a paused queue
// ([Queue.Pause]) is asked again once per wait cycle ([WithMaxWait]), with
// no wake-up calls in between; a message cancelled while the worker holds
// it ([Queue.Cancel]) is answered as such by the next heartbeat, which
// cancels its handler's context with cause [ErrCanceled]. The worker
// registers itself in the backend ([Inspector.Workers]) when it starts,
// refreshes the registration at every heartbeat tick (one small call per
// interval, busy or idle), and removes it when it stops; the registration
// expires after the lock duration, or three heartbeats if longer, so a
// crashed worker drops out by then.
type Worker struct {
	*queueRunner // the queue's handler, lock table, acknowledger and statistics
	q            *Queue
	cfg          workerConfig
	reg          registration

	mu      sync.Mutex
	started bool
	stopped chan struct{} // closed when everything has drained

	stopFetch  context.CancelFunc
	hardCancel context.CancelFunc
	ackCancel  context.CancelFunc // ends the acknowledger's retries

	closed bool // Stop was called; guarded by mu

	outstanding atomic.Int64  // taken and not yet handled
	freed       chan struct{} // outstanding fell to wakeAt (capacity 1)
	// wakeAt: the poller waits until outstanding is at most this; a
	// handler signals freed only when its message brings outstanding
	// there, so a poller waiting for room for half a batch is woken once,
	// not once per message. noWake while the poller is not waiting.
	wakeAt    atomic.Int64
	avgHandle atomic.Int64   // moving average of handling time, ns
	work      chan *Delivery // into the batch slice a Dequeue answered
}

// NewWorker returns a worker for q that hands each message to h. The
// options are checked here: an invalid one (or a nil queue or handler, or
// a queue name a backend would refuse) is an [*InvalidError] whose Field
// names it.
func NewWorker(q *Queue, h Handler, opts ...WorkerOption) (*Worker, error) {
	if q == nil || q.b == nil {
		return nil, invalid("queue", "nil queue or backend")
	}
	if err := ValidateQueueName(q.Name()); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, invalid("handler", "nil")
	}
	cfg := defaultWorkerConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	w := &Worker{q: q, cfg: cfg}
	w.queueRunner = newQueueRunner(q.b, q.Name(), h, &w.cfg, &w.avgHandle)
	w.reg = registration{b: q.b, conf: &w.cfg, id: NewID(), held: func() ([]string, int) {
		return []string{w.name}, int(w.nflight.Load())
	}}
	return w, nil
}

// Start starts the worker and returns at once. ctx carries values to the
// handlers; its cancellation does not stop the worker: call [Worker.Stop]
// (or use [Worker.Run]). A worker starts once: Start on a running worker
// returns [ErrStarted], and on a stopped one [ErrClosed].
func (w *Worker) Start(ctx context.Context) error {
	if hc, ok := w.q.Backend().(HealthChecker); ok {
		if err := hc.CheckHealth(ctx, w.q.Name()); err != nil {
			return err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.started {
		return ErrStarted
	}
	w.started = true
	w.stopped = make(chan struct{})

	base := withBackendSystem(context.WithoutCancel(ctx), w.q.b)
	fetchCtx, stopFetch := context.WithCancel(base)
	hctx, hardCancel := context.WithCancel(base)
	ackCtx, ackCancel := context.WithCancel(base)
	w.stopFetch, w.hardCancel, w.ackCancel = stopFetch, hardCancel, ackCancel

	c := w.cfg.concurrency
	w.freed = make(chan struct{}, 1)
	w.wakeAt.Store(noWake)
	w.work = make(chan *Delivery, c+w.cfg.prefetch)
	w.acks = make(chan Ack, c+w.cfg.prefetch)
	w.startHandlers(hctx)

	var handlers sync.WaitGroup
	for range c {
		handlers.Add(1)
		go w.handleLoop(&handlers)
	}
	ackerDone := make(chan struct{})
	go func() { defer close(ackerDone); w.acknowledge(ackCtx) }()
	bgDone := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(2)
	w.reg.startedAt = w.cfg.clock.Now()
	go func() { defer bg.Done(); w.reg.register(hctx); w.heartbeat(hctx, bgDone); w.reg.unregister(base) }()
	go func() { defer bg.Done(); w.monitor(hctx, bgDone) }()

	go func() {
		w.poll(fetchCtx)
		close(w.work)
		handlers.Wait()
		close(w.acks)
		<-ackerDone
		close(bgDone)
		bg.Wait()
		hardCancel()
		ackCancel()
		close(w.stopped)
	}()
	return nil
}

// handleLoop is one of the worker's handler goroutines: it handles
// messages until the work channel is closed, then leaves handlers. When
// its handling is abandoned (see [Handling.Abandon]), the goroutine that
// answers it resumes the loop in its place, with its count in handlers,
// and this one ends when its handler returns.
func (w *Worker) handleLoop(handlers *sync.WaitGroup) {
	s := &slot{}
	s.resume = func() { w.handled(); w.handleLoop(handlers) }
	for d := range w.work {
		if !w.handle(d, s) {
			return
		}
		w.handled()
	}
	handlers.Done()
}

// handled frees the place of a handled message for the poller.
func (w *Worker) handled() {
	if w.outstanding.Add(-1) <= w.wakeAt.Load() {
		select {
		case w.freed <- struct{}{}:
		default:
		}
	}
}

// Stop stops taking messages and waits until every in-flight handler has
// returned and its outcome has been acknowledged. If ctx ends first, Stop
// cancels the handlers' context and stops extending their locks, then
// waits at most the stop grace (see [WithStopGrace], default 1 s) for the
// handlers to return and their answers to be acknowledged, and returns
// ctx.Err(). A handler that still does not return loses its lock when it
// expires and its message is handled again elsewhere; its late answer is
// fenced off. No message is dropped either way.
//
// Stop on a worker that never started returns nil; either way the worker
// cannot be started again afterwards. Stop may be called more than once.
func (w *Worker) Stop(ctx context.Context) error {
	w.mu.Lock()
	started := w.started
	w.closed = true
	w.mu.Unlock()
	if !started {
		return nil
	}
	w.stopFetch()
	select {
	case <-w.stopped:
		return nil
	case <-ctx.Done():
		drainAfterDeadline(w.hardCancel, w.ackCancel, w.cfg.stopGrace, w.stopped)
		return ctx.Err()
	}
}

// Run starts the worker, blocks until ctx is done, then stops it, waiting
// for in-flight handlers without a deadline. Use Start and Stop for a
// shutdown deadline.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return w.Stop(context.Background())
}

// Queue is the queue the worker handles.
func (w *Worker) Queue() *Queue { return w.q }

// Stats is a snapshot of the worker's statistics.
func (w *Worker) Stats() WorkerStats {
	w.mu.Lock()
	running := w.started && !w.closed
	w.mu.Unlock()
	st := w.stats()
	st.Running = running
	return st
}

// noWake is wakeAt while the poller is not waiting for room.
const noWake = math.MinInt64

// wantRoom is the room a worker's poller or a pool's fetcher waits for
// before it takes a batch of at most maxBatch for at most limit held
// messages: one, or, while every handler is busy, half a batch, so that
// batches stay large.
func wantRoom(allBusy bool, maxBatch, limit int) int {
	if allBusy {
		return max(1, min(maxBatch, limit)/2)
	}
	return 1
}

// poll takes batches while the worker has room for them, and waits for a
// wake-up when the queue has nothing more ready.
func (w *Worker) poll(ctx context.Context) {
	name := w.q.Name()
	// Dequeue runs on a context that shutdown does not cancel: a call cut
	// short after the backend locked messages would strand them until their
	// locks expire.
	callCtx := context.WithoutCancel(ctx)
	conc := int64(w.cfg.concurrency)
	failures := 0
	wd, _ := w.q.b.(WaitDequeuer)
	var wait time.Duration // > 0: wait for a wake-up before the next dequeue
	for {
		limit := conc + int64(w.prefetchWindow())
		out := w.outstanding.Load()
		room := limit - out
		// Wait for room; while every handler is busy, wait for room for
		// half a batch, so that batches stay large.
		if want := int64(wantRoom(out >= conc, w.cfg.maxBatch, int(limit))); room < want {
			// Publish the level to be woken at, then look again: a handler
			// that finished before the store saw no level, and is seen here.
			w.wakeAt.Store(limit - want)
			if w.outstanding.Load() > limit-want {
				select {
				case <-w.freed:
				case <-ctx.Done():
					return
				}
			}
			w.wakeAt.Store(noWake)
			continue
		}
		select {
		case <-ctx.Done():
			return
		default:
		}
		n := int(min(int64(w.cfg.maxBatch), room))
		p := DequeueParams{Queue: name, Max: n, Lock: w.cfg.lock}
		var res DequeueResult
		var err error
		switch {
		case wait > 0 && wd != nil:
			res, err = wd.WaitDequeue(ctx, WaitDequeueParams{DequeueParams: p, Timeout: wait})
			if err != nil && ctx.Err() != nil {
				return // stopped before the wait began: nothing was taken
			}
		case wait > 0:
			if err = w.q.b.Wait(ctx, name, wait); err == nil {
				res, err = w.q.b.Dequeue(callCtx, p)
			} else if ctx.Err() != nil {
				return
			}
		default:
			res, err = w.q.b.Dequeue(callCtx, p)
		}
		wait = 0
		if err != nil {
			w.backendErrors.Add(1)
			failures++
			d := w.cfg.errorBackoff(failures)
			w.cfg.logger.Warn("redghost: dequeue failed", "queue", name, "error", err, "retry_in", d)
			if !sleepCtx(ctx, d) {
				return
			}
			continue
		}
		failures = 0
		if res.Paused {
			// Paused: ask again after a full wait cycle, without waiting
			// on wake-ups, which enqueues to the paused queue would send.
			w.sleeps.Add(1)
			if !sleepCtx(ctx, w.cfg.maxWait) {
				return
			}
			continue
		}
		got := len(res.Messages)
		w.outstanding.Add(int64(got))
		w.hold(res.Messages)
		for i := range res.Messages {
			w.work <- &res.Messages[i]
		}
		if got < n {
			// A short batch: nothing more is ready now. Wait for an enqueue
			// (or the next due message) instead of asking again at once.
			w.sleeps.Add(1)
			wait = w.cfg.maxWait
			if res.NextDue > 0 && res.NextDue < wait {
				wait = res.NextDue
			}
		}
	}
}

// prefetchBudget is how much handling time, per handler, the worker may
// hold in messages taken ahead of its handlers.
const prefetchBudget = 20 * time.Millisecond

// prefetchWindow is how many messages the worker may hold beyond its busy
// handlers: none until a handling time is known, then as many as fit
// prefetchBudget per handler at the average handling time, at most the
// configured prefetch. Slow handlers get none, so they never hold messages
// that another worker could be handling.
func (w *Worker) prefetchWindow() int { return w.cfg.prefetchWindow(w.avgHandle.Load(), 1) }

// prefetchWindow is the prefetch window of a worker, or of a pool with
// active queues with work, whose handlings take avg ns on average: the
// configured prefetch per active queue, at most what fits prefetchBudget
// per handler in all; none while avg is unknown.
func (c *workerConfig) prefetchWindow(avg int64, active int) int {
	if c.prefetch == 0 || avg <= 0 {
		return 0
	}
	per := int64(prefetchBudget) / avg
	return int(min(int64(c.prefetch)*int64(max(active, 1)), per*int64(c.concurrency)))
}

// heartbeat extends the locks of every in-flight message and refreshes
// the worker's registration until done is closed or ctx (hard stop) ends.
func (w *Worker) heartbeat(ctx context.Context, done <-chan struct{}) {
	var refs []LockRef
	every(ctx, w.cfg.clock, done, w.cfg.heartbeat, func() {
		w.reg.register(ctx)
		refs = w.extendLocks(ctx, refs)
	})
}

// monitor reads the queue's size every interval and reports it.
func (w *Worker) monitor(ctx context.Context, done <-chan struct{}) {
	every(ctx, w.cfg.clock, done, w.cfg.monitorEvery, func() { w.monitorOnce(ctx) })
}
